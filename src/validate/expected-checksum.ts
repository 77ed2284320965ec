// expected-checksum given as a file: the SHA-256 on the line of a sha256sum-style file that names
// the backup, else on its first line.

import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseChecksumFile } from '../tools/source.js'

/** The SHA-256 `file` holds for `backupFile`; undefined when it holds none. A file that cannot be read throws. */
export async function readChecksumFile(file: string, backupFile: string | undefined): Promise<string | undefined> {
  const content = await readFile(file, 'utf8')
  const lines = content.split(/\r?\n/).filter((line) => line.trim() !== '')
  const named = backupFile ? lines.find((line) => line.trim().endsWith(path.basename(backupFile))) : undefined
  return parseChecksumFile(named ?? lines[0] ?? '')
}
