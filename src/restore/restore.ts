// Phase 3: restores into a new temporary database, compares it with the source, and always drops it.

import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { HashingStream } from '../backup/inspect.js'
import { plainIsGzipped, restoreJobs, type BackupFormat } from '../backup/formats.js'
import { backupChecksum } from '../backup/manifest.js'
import type { CreatedBackup } from '../create/dump.js'
import { createGunzip } from 'node:zlib'
import { SettingsFilter, unknownSettings } from './compat.js'
import { describeHarmless, RestoreErrorSorter, type RestoreErrors } from './errors.js'
import { Readable } from 'node:stream'
import type pg from 'pg'
import type { ConnectionTarget } from '../inputs/connection.js'
import { TEMPORARY_DATABASE_PREFIX } from '../run/names.js'
import { classifyToolError, VerificationError } from '../run/errors.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { clientEnvironment } from '../connection/environment.js'
import { errorLines, runTool, type ToolRun } from '../tools/process.js'
import { PsqlSessions, SessionEndedError } from './parallel/psql-sessions.js'
import { followFile, type GrowingFile } from '../backup/followed-file.js'
import { replayPlainDump, type ReplayResult } from './parallel/scheduler.js'
import { DEFAULT_STALL_MS, RestoreWatchdog } from './watchdog.js'
import { createDatabaseLike, dropDatabase, openSession } from '../connection/session.js'
import { takeInventory, type Inventory, type VerifyLevel } from '../compare/inventory.js'
import { compareInventories } from '../compare/compare.js'
import type { ResourceLedger } from '../run/context.js'
import type { TableComparison } from '../report/result.js'
import type { Redactor } from '../run/secrets.js'
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

export interface RestoreOptions {
  target: ConnectionTarget
  /** An open session on the source database, used to create and drop the temporary one. */
  session: pg.Client
  serverMajor: number
  /** The source's inventory, from the dumped snapshot (still being taken while the dump runs); none for an existing backup. */
  sourceInventory: Promise<Inventory | undefined>
  /** Where that inventory comes from: the dumped snapshot, or a receipt made when the backup was. */
  reference?: 'snapshot' | 'receipt'
  /** The verify level: what the restored database is compared on. */
  level: VerifyLevel
  /** The sequence values the dump sets, read from its script (known once it has been read whole). */
  dumpedSequences: Promise<Array<{ sequence: string; value: string }>>
  tools: ClientTools
  passwordFile?: string
  /** The validated backup; what is restored must still have its checksum. */
  backup: Pick<CreatedBackup, 'path' | 'format' | 'compression'>
  /** The backup is still being written (a streamed restore): its final size, once pg_dump is done. */
  written?: Promise<number>
  /** A streamed restore: the file's chunks as the Create phase reads and hashes them, for the plan. */
  relay?: AsyncIterable<Buffer>
  /** Stops the restore (the run was interrupted, or the streamed backup failed validation). */
  signal?: AbortSignal
  /** Every restore error fails the restore, the harmless ones too. */
  strict?: boolean
  jobs: number
  databaseName: string
  verbose: boolean
  log: (line: string) => void
  warn: (line: string) => void
  onDropped?: () => void
  /** The restore has read the whole backup (or stopped): what it still reads again is checked against that read. */
  onBackupRead?: () => void
  /** Test seam: runs after a successful restore, before the comparison. */
  afterRestore?: (databaseName: string) => Promise<void>
  redactor: Redactor
  ledger: ResourceLedger
  heartbeatMs?: number
  /** How long nothing may move before a restore whose sessions wait on one another is stopped. */
  stallMs?: number
}

/** Sessions that count the restored tables side by side, at most. */
const MAX_COUNTING_SESSIONS = 4

/** What to do about the errors a restore reported, by what they say. */
const RESTORE_HINTS: Array<[RegExp, string]> = [
  [
    /violates foreign key constraint/i,
    'Rows in the backup break a foreign key (a row refers to one the backup does not hold): the backup is incomplete or damaged, or was made while the key was not enforced (NOT VALID, or triggers disabled).'
  ],
  [
    /duplicate key value violates unique constraint|could not create unique index/i,
    'Rows in the backup break a unique key (some are there twice): the backup is damaged, or was made while the key was not enforced.'
  ],
  [/role "[^"]*" does not exist/i, 'Roles the dump names must exist on the restore server: create them there, or run without strict: true to count this as harmless.'],
  [/already exists/i, 'An object already exists in the new database: a template database may carry it (the restore starts from template0), or the dump creates it twice.'],
  [/extension "[^"]*" is not available|could not open extension control file/i, 'The restore server lacks an extension the dump uses: install its package there.'],
  [/permission denied|must be owner|must be superuser|must be a member/i, 'The restoring user lacks a privilege the dump needs: restore as the owner of its objects, or as a superuser.'],
  [
    /syntax error|invalid input syntax|invalid byte sequence|unterminated|invalid command/i,
    'The backup holds text the server cannot read: it is damaged, or was made by a newer pg_dump for another server.'
  ]
]

function restoreHint(lines: string[]): string {
  const text = lines.join('\n')
  return RESTORE_HINTS.find(([pattern]) => pattern.test(text))?.[1] ?? 'The backup does not restore as it is: the error above names the statement that fails.'
}

/** The server went away: the tools say so in words of their own. */
const SERVER_GONE = /could not connect to server|connection refused|no connection to the server|could not receive data from server|server closed the connection/i

/** A failed restore in the user's terms: a server that went away, or what the backup's errors say, with a hint that fits them. */
function restoreFailure(what: string, message: string, lines: string[], stderr: string): VerificationError {
  const known = classifyToolError(stderr)
  if (known?.problem === 'connection-lost' || SERVER_GONE.test(stderr)) {
    return new VerificationError(
      'connection-lost',
      `Restore failed: the connection to the server was lost while ${what} restored: ${lines.join(' | ') || 'no error message'}`,
      known?.problem === 'connection-lost' ? known.hint : classifyToolError('server closed the connection unexpectedly')?.hint
    )
  }
  return new VerificationError('restore-failed', message, restoreHint(lines))
}

export interface Restored {
  comparison: TableComparison
  /** The restored database's inventory. */
  restoredInventory: Inventory
  /** Errors the restore reported that leave data and schema whole (a missing role, ...), counted. */
  ignoredErrors: RestoreErrors
  /**
   * SHA-256 of the bytes the restore read: psql's input, or the archive as it was after pg_restore.
   * None when the restore planned from the very chunks the Create phase hashed (one read).
   */
  restoredChecksum: string | undefined
}

export function changedAfterValidation(found: string, expected: string): VerificationError {
  return new VerificationError(
    'backup-invalid',
    `The backup changed after it was validated: the restore read bytes with SHA-256 ${found}, the backup had ${expected}.`,
    'Something wrote to the backup during the verification.'
  )
}

/** pg_restore -j works for custom and directory archives; plain and tar restore in one session. */
export function restoreArguments(format: BackupFormat, jobs: number, databaseName: string, archive: string, verbose: boolean, strict = false): string[] {
  const args = ['--no-password', ...(strict ? ['--exit-on-error'] : []), `--dbname=${databaseName}`]
  if ((format === 'custom' || format === 'directory') && jobs > 1) args.push(`--jobs=${jobs}`)
  if (verbose) args.push('--verbose')
  args.push(archive)
  return args
}

/**
 * psql reads the backup through a hash: what was restored is proven to be the file that was
 * validated. A backup still being written is followed as it grows. An uncompressed dump is shared
 * out among `jobs` sessions; a gzip-compressed one is decompressed on the way into one session.
 * Settings an older server does not know are left out of the preamble.
 */
async function replayPlain(options: RestoreOptions, env: NodeJS.ProcessEnv, unknown: string[], sorter: RestoreErrorSorter, progress: RestoreProgress): Promise<string | undefined> {
  const file: GrowingFile = { path: options.backup.path, size: options.written ?? stat(options.backup.path).then((info) => info.size) }
  if (restoreJobs('plain', options.backup.compression, options.jobs) > 1) return replayInSessions(options, env, file, unknown, sorter, progress)
  const fed = new HashingStream()
  progress.bytes = () => fed.bytes
  fed.once('end', () => options.onBackupRead?.())
  // Errors reading the file reach runTool through the stream it reads; these promises only must not go unhandled.
  pipeline(Readable.from(followFile(file, options.signal)), fed).catch(() => {})
  let feed: Readable = fed
  if (plainIsGzipped(options.backup.compression)) {
    const gunzip = createGunzip()
    pipeline(feed, gunzip).catch(() => {})
    feed = gunzip
  }
  const filter = unknown.length > 0 ? new SettingsFilter(unknown) : undefined
  if (filter) {
    pipeline(feed, filter).catch(() => {})
    feed = filter
  }
  const stopHeartbeat = startHeartbeat('psql restoring', options.log, () => fed.bytes, options.heartbeatMs)
  await runPsql(options, env, feed, 'psql', sorter).finally(stopHeartbeat)
  reportFiltered(options, filter?.removed ?? [])
  return fed.digest()
}

/** strict: psql stops at the first error. Otherwise it goes on, and every error is sorted afterwards. */
function psqlArguments(options: RestoreOptions, stopAtFirstError = options.strict === true): string[] {
  return ['-X', '--no-password', '-v', `ON_ERROR_STOP=${stopAtFirstError ? 1 : 0}`, ...(options.verbose ? [] : ['--quiet'])]
}

async function runPsql(options: RestoreOptions, env: NodeJS.ProcessEnv, script: Readable, what: string, sorter: RestoreErrorSorter): Promise<void> {
  const run = await runTool(options.tools.psql, [...psqlArguments(options), '-f', '-'], {
    env,
    stdin: script,
    signal: options.signal,
    onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined,
    onErrorLine: (line) => sorter.line(options.redactor.redact(line))
  })
  const failure = psqlFailure(run, what, options)
  if (failure) throw failure
}

function psqlFailure(run: ToolRun, what: string, options: RestoreOptions): VerificationError | undefined {
  if (run.exitCode === 0) return undefined
  const lines = errorLines(options.redactor.redact(run.stderr))
  return restoreFailure(what, `Restore failed: ${what} stopped at the first error (exit code ${run.exitCode}): ${lines.join(' | ') || 'no error message'}`, lines, run.stderr)
}

/**
 * A plain dump replayed over `jobs` psql sessions, as pg_restore -j replays an archive (see
 * PlainDumpPlanner and ReplayScheduler). The planner's read of the file is what the checksum covers;
 * every range the sessions get is read again and checked against it.
 */
async function replayInSessions(
  options: RestoreOptions,
  env: NodeJS.ProcessEnv,
  file: GrowingFile,
  unknown: string[],
  sorter: RestoreErrorSorter,
  progress: RestoreProgress
): Promise<string | undefined> {
  // Session 0 runs the schema and goes on after an error unless strict; the others stop at their first
  // (psql would read a failed COPY's rows as statements). Unaligned tuples only: a sync token comes
  // back as a line of its own.
  const args = (session: number) => [...psqlArguments(options, session !== 0 || options.strict === true), '--no-align', '--tuples-only', '-f', '-']
  const sessions = new PsqlSessions(options.tools.psql, args, options.jobs + 1, {
    env,
    signal: options.signal,
    onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined,
    onErrorLine: (line) => sorter.line(options.redactor.redact(line))
  })
  let sent = () => 0
  const stopHeartbeat = startHeartbeat('psql restoring', options.log, () => sent(), options.heartbeatMs)
  let replayed: ReplayResult
  try {
    replayed = await replayPlainDump({
      file,
      sessions,
      unknownSettings: unknown,
      signal: options.signal,
      onStart: (scheduler) => {
        sent = () => scheduler.bytesSent
        progress.bytes = sent
        progress.describe = () => scheduler.describeSessions()
      },
      chunks: options.relay,
      onRead: options.onBackupRead
    })
  } catch (error) {
    const runs = await sessions.stop()
    if (error instanceof SessionEndedError) {
      // A session stopped at an error: the errors psql reported say why (a lost connection, strict).
      const { fatal } = sorter.result()
      const stderr = runs.map((run) => run?.stderr ?? '').join('\n')
      if (fatal.length > 0 && !options.strict) throw incompleteRestore(fatal, stderr)
      const run = error.run ?? runs[error.session]
      const failure = run && psqlFailure(run, 'psql', options)
      if (failure) throw failure
    }
    throw error
  } finally {
    stopHeartbeat()
  }
  const runs = await sessions.finish()
  const failed = runs.map((run) => psqlFailure(run, 'psql', options)).find(Boolean)
  if (failed) throw failed
  const { tables, copies, definitions, serialBecause, removedSettings } = replayed.statistics
  options.log(
    `Restored with ${options.jobs} psql sessions beside the one for the schema: the rows of ${tables} table(s) in ${copies} COPY statement(s), ` +
      `${definitions} index and key definition(s) built as soon as their table was loaded` +
      (serialBecause.length > 0 ? `; in one session from some point on: ${serialBecause.join('; ')}` : '')
  )
  reportFiltered(options, removedSettings)
  return replayed.sha256
}

function reportFiltered(options: RestoreOptions, removed: string[]): void {
  if (removed.length > 0) {
    options.log(`The client (${options.tools.version.text}) is newer than the server (major ${options.serverMajor}): left out ${removed.join(' ')} while restoring`)
  }
}

/**
 * pg_restore into the temporary database, in parallel where the format allows. When the client is
 * newer than the server, pg_restore writes a script instead, which psql replays without the
 * settings the server does not know. Afterwards the archive must still have its checksum.
 */
async function restoreArchive(options: RestoreOptions, env: NodeJS.ProcessEnv, unknown: string[], sorter: RestoreErrorSorter): Promise<string> {
  const { backup } = options
  if (unknown.length > 0) {
    const filter = new SettingsFilter(unknown)
    const [script] = await Promise.all([
      runTool(options.tools.pgRestore, ['--file=-', backup.path], { env, signal: options.signal, consumeStdout: (stdout) => pipeline(stdout, filter) }),
      runPsql(options, env, filter, 'psql (replaying pg_restore\'s script)', sorter)
    ])
    if (script.exitCode !== 0) {
      const lines = errorLines(options.redactor.redact(script.stderr))
      throw restoreFailure('pg_restore', `Restore failed: pg_restore exited with code ${script.exitCode}: ${lines.join(' | ')}`, lines, script.stderr)
    }
    reportFiltered(options, filter.removed)
  } else {
    const args = restoreArguments(backup.format, options.jobs, options.databaseName, backup.path, options.verbose, options.strict)
    const stopHeartbeat = startHeartbeat('pg_restore restoring', options.log, undefined, options.heartbeatMs)
    const before = sorter.result().total
    const run = await runTool(options.tools.pgRestore, args, {
      env,
      signal: options.signal,
      onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined,
      onErrorLine: (line) => sorter.line(options.redactor.redact(line))
    }).finally(stopHeartbeat)
    // Without --exit-on-error pg_restore exits 1 when it ignored errors; those are sorted below.
    const onlySortedErrors = !options.strict && run.exitCode === 1 && sorter.result().total > before
    if (run.exitCode !== 0 && (!onlySortedErrors || SERVER_GONE.test(run.stderr) || classifyToolError(run.stderr)?.problem === 'connection-lost')) {
      const lines = errorLines(options.redactor.redact(run.stderr))
      throw restoreFailure('pg_restore', `Restore failed: pg_restore stopped at the first error (exit code ${run.exitCode}): ${lines.join(' | ') || 'no error message'}`, lines, run.stderr)
    }
  }
  return backupChecksum(backup.path, backup.format, options.signal)
}

function incompleteRestore(fatal: string[], stderr: string): VerificationError {
  const message = `Restore failed: ${fatal.length === 1 ? 'an error that leaves' : `${fatal.length} errors that leave`} the restore incomplete: ${fatal.slice(0, 5).join(' | ')}`
  return restoreFailure('psql', message, fatal, stderr)
}

/** Fails on any error that is not known to be harmless; logs and returns the harmless ones. */
function requireHarmlessErrors(errors: RestoreErrors, options: RestoreOptions): RestoreErrors {
  if (errors.fatal.length > 0) throw incompleteRestore(errors.fatal, errors.fatal.join('\n'))
  if (errors.total > 0) options.warn(`The restore reported ${errors.total} harmless error(s), ignored (strict: true would fail on them): ${describeHarmless(errors)}`)
  return errors
}

/** How far the restore has got, for the watchdog: bytes sent to the sessions, and what each runs. */
interface RestoreProgress {
  bytes?: () => number
  describe?: () => string[]
}

/**
 * Runs the restore with a watchdog over its sessions: a restore whose sessions wait on one another
 * is stopped as soon as that is certain, with the reason, instead of running into the time limit.
 */
async function restoreWatched(options: RestoreOptions, env: NodeJS.ProcessEnv, unknown: string[], sorter: RestoreErrorSorter): Promise<string | undefined> {
  const stop = new AbortController()
  const watched: RestoreOptions = { ...options, signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal }
  const progress: RestoreProgress = {}
  const watchdog = await openSession(options.target).then(
    (session) =>
      new RestoreWatchdog({
        session,
        database: options.databaseName,
        serverMajor: options.serverMajor,
        progress: () => progress.bytes?.() ?? 0,
        describe: () => progress.describe?.() ?? [],
        // While pg_dump still writes, the restore waits for it: only its own waits count.
        armed: options.written?.catch(() => {}),
        stallMs: options.stallMs ?? DEFAULT_STALL_MS
      }),
    () => undefined
  )
  const restoring = options.backup.format === 'plain' ? replayPlain(watched, env, unknown, sorter, progress) : restoreArchive(watched, env, unknown, sorter)
  restoring.catch(() => {})
  try {
    return await (watchdog ? Promise.race([restoring, watchdog.stalled]) : restoring)
  } catch (error) {
    if (error instanceof VerificationError && error.problem === 'restore-stalled') {
      stop.abort()
      await restoring.catch(() => {})
    }
    throw error
  } finally {
    await watchdog?.stop()
  }
}

export async function restoreBackup(options: RestoreOptions): Promise<Restored> {
  const { target, session, databaseName } = options
  assertNotSource(target, { ...target, database: databaseName })
  await createDatabaseLike(session, databaseName)
  options.ledger.created('database', databaseName)
  options.log(`Created temporary database ${databaseName}`)
  try {
    const env = clientEnvironment(target, databaseName, options.passwordFile)
    const unknown = options.tools.version.major > options.serverMajor ? unknownSettings(options.serverMajor) : []
    const sorter = new RestoreErrorSorter()
    const restoredChecksum = await restoreWatched(options, env, unknown, sorter).finally(() => options.onBackupRead?.())
    const ignoredErrors = requireHarmlessErrors(sorter.result(), options)
    await options.afterRestore?.(databaseName)
    const source = await options.sourceInventory
    // The restored tables are counted (at data: fingerprinted) by up to `jobs` sessions side by side.
    const helperCount = Math.min(options.jobs, MAX_COUNTING_SESSIONS) - 1
    const opened = await Promise.allSettled([openSession(target, databaseName), ...Array.from({ length: helperCount }, () => openSession(target, databaseName))])
    const sessions = opened.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
    let restored: Inventory
    try {
      if (opened[0].status === 'rejected') throw opened[0].reason
      restored = await takeInventory(sessions[0], options.level, true, sessions.slice(1))
    } finally {
      await Promise.all(sessions.map((restoredSession) => restoredSession.end().catch(() => {})))
    }
    const comparison = compareInventories(source, restored, await options.dumpedSequences, options.reference, options.level)
    const total = (inventory: Inventory) => inventory.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    options.log(
      source
        ? `Tables: ${comparison.source.length} in the source, ${comparison.restored.length} restored` +
            (options.level === 'schema' ? '' : `; rows: ${total(source)} ${options.reference === 'receipt' ? 'in the receipt' : 'in the dump'}, ${total(restored)} restored`) +
            `; ${comparison.definitions.compared} definitions compared (verify level ${options.level})`
        : `Restored: ${comparison.restored.length} tables, ${total(restored)} rows (an existing backup: no source to compare them with)`
    )
    return { comparison, restoredChecksum, ignoredErrors, restoredInventory: restored }
  } finally {
    options.onBackupRead?.()
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
