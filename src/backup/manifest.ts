// A directory-format backup is many files: a manifest lists each with its size and SHA-256, and the
// backup's checksum is the SHA-256 of that manifest.

import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { hashFile } from './inspect.js'

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

export function manifestText(entries: ManifestEntry[]): string {
  return entries.map((entry) => `${entry.sha256}  ${entry.name}\n`).join('')
}

export async function buildManifest(directory: string, signal?: AbortSignal): Promise<Manifest> {
  const names = (await readdir(directory, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort()
  const entries: ManifestEntry[] = []
  for (const name of names) {
    const file = path.join(directory, name)
    entries.push({ name, sizeBytes: (await stat(file)).size, sha256: await hashFile(file, signal) })
  }
  const text = manifestText(entries)
  return {
    entries,
    text,
    sha256: createHash('sha256').update(text).digest('hex'),
    sizeBytes: entries.reduce((sum, entry) => sum + entry.sizeBytes, 0)
  }
}

/** The checksum of a backup as it is on disk: of the file, or of the manifest of a directory-format folder. */
export async function backupChecksum(backupPath: string, format: string, signal?: AbortSignal): Promise<string> {
  return format === 'directory' ? (await buildManifest(backupPath, signal)).sha256 : hashFile(backupPath, signal)
}
