// A directory-format backup is many files: a manifest lists each with its size and SHA-256, and the
// backup's checksum is the SHA-256 of that manifest.

import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { inspectFile, type ByteObserver } from './inspect.js'

export interface ManifestEntry {
  name: string
  sizeBytes: number
  sha256: string
}

export interface Manifest {
  entries: ManifestEntry[]
  /** sha256sum format: "<hex>  <name>" a line, sorted by name. */
  text: string
  sha256: string
  sizeBytes: number
}

const nothing: ByteObserver<undefined> = { update() {}, finish: () => undefined }

export function manifestText(entries: ManifestEntry[]): string {
  return entries.map((entry) => `${entry.sha256}  ${entry.name}\n`).join('')
}

export async function buildManifest(directory: string): Promise<Manifest> {
  const names = (await readdir(directory, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort()
  const entries: ManifestEntry[] = []
  for (const name of names) {
    const { sizeBytes, sha256 } = await inspectFile(path.join(directory, name), nothing)
    entries.push({ name, sizeBytes, sha256 })
  }
  const text = manifestText(entries)
  return {
    entries,
    text,
    sha256: createHash('sha256').update(text).digest('hex'),
    sizeBytes: entries.reduce((sum, entry) => sum + entry.sizeBytes, 0)
  }
}
