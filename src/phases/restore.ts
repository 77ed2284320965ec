// Phase 3: restores into a new temporary database, compares it with the source, and always drops it.

import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { HashingStream } from '../backup/inspect.js'
import { SettingsFilter, unknownSettings } from '../backup/compat.js'
import type { Readable } from 'node:stream'
import type pg from 'pg'
import type { ConnectionTarget } from '../config/connection.js'
import { TEMPORARY_DATABASE_PREFIX } from '../constants.js'
import { VerificationError } from '../errors.js'
import { clientEnvironment } from '../postgres/environment.js'
import { errorLines, runTool } from '../postgres/process.js'
import { createDatabaseLike, dropDatabase, listTables, openSession } from '../postgres/session.js'
import type { ResourceLedger } from '../reporter.js'
import type { TableComparison } from '../result.js'
import type { Redactor } from '../secrets.js'
import type { ClientTools } from '../tools/locate.js'

/** "backup_verify_20261124T020316_9f3a1c": sortable, unique across parallel runs, a plain identifier. */
export function temporaryDatabaseName(now: Date, random: string = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')
  return `${TEMPORARY_DATABASE_PREFIX}_${stamp}_${random}`.toLowerCase()
}

interface Place {
  host: string
  port: number
  database: string
}

/** A plan whose restore target is the source database is refused: the restore would write into it. */
export function assertNotSource(source: Place, restore: Place): void {
  if (source.host === restore.host && source.port === restore.port && source.database === restore.database) {
    throw new VerificationError(
      'same-database',
      `Refusing to restore into the source database "${source.database}" at ${source.host}:${source.port}.`,
      'The restore always goes into a new temporary database; this is a bug if you see it.'
    )
  }
}

export function compareTables(source: string[], restored: string[]): TableComparison {
  const restoredSet = new Set(restored)
  const sourceSet = new Set(source)
  return {
    source,
    restored,
    missing: source.filter((table) => !restoredSet.has(table)),
    extra: restored.filter((table) => !sourceSet.has(table))
  }
}

/** Throws when the restored database lacks a table of the source, or has one the source lacks. */
export function requireSameTables(comparison: TableComparison): void {
  if (comparison.missing.length === 0 && comparison.extra.length === 0) return
  const parts = [
    comparison.missing.length ? `missing ${comparison.missing.join(', ')}` : '',
    comparison.extra.length ? `unexpected ${comparison.extra.join(', ')}` : ''
  ].filter(Boolean)
  throw new VerificationError(
    'restore-mismatch',
    `Restored database has ${comparison.restored.length} tables, the source has ${comparison.source.length}: ${parts.join('; ')}`
  )
}

export interface RestoreOptions {
  target: ConnectionTarget
  /** An open session on the source database, used to create and drop the temporary one. */
  session: pg.Client
  serverMajor: number
  sourceTables: string[]
  tools: ClientTools
  passwordFile?: string
  backupFile: string
  /** The SHA-256 computed when the backup was written; the restored bytes must have it too. */
  expectedChecksum: string
  databaseName: string
  verbose: boolean
  log: (line: string) => void
  warn: (line: string) => void
  onDropped?: () => void
  /** Test seam: runs after a successful restore, before the comparison. */
  afterRestore?: (databaseName: string) => Promise<void>
  redactor: Redactor
  ledger: ResourceLedger
}

export async function restoreBackup(options: RestoreOptions): Promise<TableComparison> {
  const { target, session, databaseName } = options
  assertNotSource(target, { ...target, database: databaseName })
  await createDatabaseLike(session, databaseName)
  options.ledger.created('database', databaseName)
  options.log(`Created temporary database ${databaseName}`)
  try {
    const env = clientEnvironment(target, databaseName, options.passwordFile)
    // psql reads the backup from stdin through a hash: what was restored is proven to be the
    // file that was validated, without reading it a second time.
    const args = ['-X', '--no-password', '-v', 'ON_ERROR_STOP=1', ...(options.verbose ? [] : ['--quiet']), '-f', '-']
    const fed = new HashingStream()
    // Errors reading the file reach runTool through the stream it reads; these promises only must not go unhandled.
    pipeline(createReadStream(options.backupFile), fed).catch(() => {})
    const unknown = options.tools.version.major > options.serverMajor ? unknownSettings(options.serverMajor) : []
    let feed: Readable = fed
    let filter: SettingsFilter | undefined
    if (unknown.length > 0) {
      filter = new SettingsFilter(unknown)
      pipeline(fed, filter).catch(() => {})
      feed = filter
    }
    const run = await runTool(options.tools.psql, args, {
      env,
      stdin: feed,
      onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined
    })
    if (filter && filter.removed.length > 0) {
      options.log(
        `The client (${options.tools.version.text}) is newer than the server (major ${options.serverMajor}): left out ${filter.removed.join(' ')} while restoring`
      )
    }
    if (run.exitCode !== 0) {
      const lines = errorLines(options.redactor.redact(run.stderr))
      throw new VerificationError(
        'restore-failed',
        `Restore failed: psql stopped at the first error (exit code ${run.exitCode}): ${lines.join(' | ') || 'no error message'}`,
        'The backup does not restore as it is. If an object already exists, a template database may carry it; roles the dump names must exist on the server.'
      )
    }
    const restoredChecksum = fed.digest()
    if (restoredChecksum !== options.expectedChecksum) {
      throw new VerificationError(
        'backup-invalid',
        `The backup changed after it was validated: psql restored bytes with SHA-256 ${restoredChecksum}, the backup had ${options.expectedChecksum}.`,
        'Something wrote to the backup file during the verification.'
      )
    }
    await options.afterRestore?.(databaseName)
    const restoredSession = await openSession(target, databaseName)
    let restored: string[]
    try {
      restored = await listTables(restoredSession)
    } finally {
      await restoredSession.end().catch(() => {})
    }
    const comparison = compareTables(options.sourceTables, restored)
    options.log(`Tables: ${comparison.source.length} in the source, ${comparison.restored.length} restored`)
    return comparison
  } finally {
    try {
      await dropDatabase(session, databaseName, options.serverMajor)
      options.ledger.removed('database', databaseName)
      options.onDropped?.()
      options.log(`Dropped temporary database ${databaseName}`)
    } catch (error) {
      // Still recorded in the ledger: the post step tries again. The restore's own error matters more.
      options.warn(`Could not drop temporary database ${databaseName}: ${options.redactor.redactError(error)}`)
    }
  }
}
