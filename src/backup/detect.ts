// Recognises an existing backup's format from its content, not its name.

import { open, stat } from 'node:fs/promises'
import type { BackupFormat, Compression } from './formats.js'

export interface DetectedFormat {
  format: BackupFormat
  compression?: Compression
}

/** A folder with toc.dat is a directory archive; a file is told by its first bytes; anything else is taken as plain SQL, which validation then judges. */
export async function detectBackupFormat(backupPath: string): Promise<DetectedFormat> {
  if ((await stat(backupPath)).isDirectory()) return { format: 'directory' }
  const handle = await open(backupPath, 'r')
  try {
    const head = Buffer.alloc(512)
    const { bytesRead } = await handle.read(head, 0, 512, 0)
    const bytes = head.subarray(0, bytesRead)
    if (bytes.subarray(0, 5).toString('latin1') === 'PGDMP') return { format: 'custom' }
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return { format: 'plain', compression: { method: 'gzip' } }
    if (bytesRead >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar') return { format: 'tar' }
    return { format: 'plain' }
  } finally {
    await handle.close()
  }
}
