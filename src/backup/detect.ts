// Recognises an existing backup's format from its content, not its name; and a pg_dumpall file,
// which is not a backup of one database.

import { open, stat } from 'node:fs/promises'
import { constants, gunzipSync } from 'node:zlib'
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

/** The first line of a pg_dumpall file, after "--": the dump of a whole cluster. */
const CLUSTER_HEADER = '-- PostgreSQL database cluster dump'
const CLUSTER_HEAD_BYTES = 4096

/**
 * Whether a plain file (gzip-compressed or not) begins as pg_dumpall's output does: the roles,
 * tablespaces and every database of a server, each database reached by \connect.
 */
export async function isClusterDump(file: string, gzipped: boolean): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined)
  if (!handle) return false
  try {
    const head = Buffer.alloc(CLUSTER_HEAD_BYTES)
    const { bytesRead } = await handle.read(head, 0, CLUSTER_HEAD_BYTES, 0)
    let bytes = head.subarray(0, bytesRead)
    if (gzipped) {
      try {
        // The start of the stream alone: a sync flush yields what these bytes decompress to.
        bytes = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH })
      } catch {
        return false
      }
    }
    const lines = bytes.toString('utf8', 0, Math.min(bytes.length, CLUSTER_HEAD_BYTES)).split(/\r?\n/, 5)
    return lines.some((line) => line.trimEnd() === CLUSTER_HEADER)
  } finally {
    await handle.close()
  }
}
