// A directory-format backup is many files: a manifest lists each with its size and SHA-256, and the
// backup's checksum is the SHA-256 of that manifest. Only the files pg_dump writes are the backup's.

import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { isArchiveFile } from '../formats.js'
import { hashFile } from '../file-hash.js'

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
  /** What else is in the folder (a notes file, a SHA256SUMS): pg_restore never reads it. */
  ignored: string[]
}

export function manifestText(entries: ManifestEntry[]): string {
  return entries.map((entry) => `${entry.sha256}  ${entry.name}\n`).join('')
}

export async function buildManifest(directory: string, signal?: AbortSignal): Promise<Manifest> {
  const found = await readdir(directory, { withFileTypes: true })
  // A link to a file is read through, as pg_restore reads it.
  const isFile = async (entry: (typeof found)[number]) =>
    entry.isFile() || (entry.isSymbolicLink() && (await stat(path.join(directory, entry.name)).catch(() => undefined))?.isFile() === true)
  const names: string[] = []
  const ignored: string[] = []
  for (const entry of found) (isArchiveFile(entry.name) && (await isFile(entry)) ? names : ignored).push(entry.name)
  names.sort()
  ignored.sort()
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
    sizeBytes: entries.reduce((sum, entry) => sum + entry.sizeBytes, 0),
    ignored
  }
}

/** The checksum of a backup as it is on disk: of the file, or of the manifest of a directory-format folder. */
export async function backupChecksum(backupPath: string, format: string, signal?: AbortSignal): Promise<string> {
  return format === 'directory' ? (await buildManifest(backupPath, signal)).sha256 : hashFile(backupPath, signal)
}
