// Before dumping: the database's size against the free space where the backup goes.

import { statfs } from 'node:fs/promises'
import type pg from 'pg'
import type { BackupFormat, Compression } from '../backup/formats.js'
import { describeBytes } from '../run/bytes.js'
import { VerificationError } from '../run/errors.js'

/**
 * The smallest the backup can plausibly be: text dumps are rarely under half the table data, and
 * compression rarely does better than a tenth. Below that much free space it clearly cannot fit.
 */
function minimumBackupBytes(tableBytes: number, compressed: boolean): number {
  return Math.floor(tableBytes * (compressed ? 0.1 : 0.5))
}

export function checkFreeSpace(tableBytes: number, freeBytes: number, compressed: boolean, folder: string): VerificationError | undefined {
  const needed = minimumBackupBytes(tableBytes, compressed)
  if (freeBytes >= needed) return undefined
  return new VerificationError(
    'no-space',
    `Not enough free space for the backup: the database holds ${describeBytes(tableBytes)} of table data, ` +
      `so the backup needs at least ${describeBytes(needed)}, but ${folder} has ${describeBytes(freeBytes)} ` +
      `free.`,
    'Free some space, point RUNNER_TEMP at a larger disk, or compress the backup (compression: 6, or the custom format).'
  )
}

/**
 * Reads the database's size and the free space where the backup goes, logs both, and fails early
 * when it clearly cannot fit. Returns what an uncompressed dump will be about the size of (its table
 * data), for the dump's progress; undefined for a compressed one, whose size nothing tells in advance.
 */
export async function checkRoomForBackup(
  session: pg.Client,
  folder: string,
  format: BackupFormat,
  compression: Compression | undefined,
  log: (line: string) => void
): Promise<number | undefined> {
  const size = await readDatabaseSize(session)
  const free = await statfs(folder).then((info) => info.bavail * info.bsize)
  const compressed = format === 'custom' || format === 'directory' ? compression?.method !== 'none' : compression?.method === 'gzip'
  log(
    `Database: ${describeBytes(size.totalBytes)} (table data ${describeBytes(size.tableBytes)}); free ` +
      `where the backup goes: ${describeBytes(free)}`
  )
  const tooLittle = checkFreeSpace(size.tableBytes, free, compressed, folder)
  if (tooLittle) throw tooLittle
  return compressed ? undefined : size.tableBytes
}

interface DatabaseSize {
  /** pg_database_size: everything, indexes included. */
  totalBytes: number
  /** Table data with TOAST, no indexes: what a dump carries. */
  tableBytes: number
}

async function readDatabaseSize(client: pg.Client): Promise<DatabaseSize> {
  const { rows } = await client.query<{ total: string; tables: string }>(
    `SELECT pg_database_size(current_database()) AS total,
            coalesce(sum(pg_table_size(c.oid)), 0) AS tables
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`
  )
  return { totalBytes: Number(rows[0].total), tableBytes: Number(rows[0].tables) }
}
