// Phase 3: a backup restored into a new temporary database, inspected while it exists, and dropped
// on every path. A watchdog stops a restore whose sessions wait on one another.

import type pg from 'pg'
import { clientEnvironment } from '../connection/environment.js'
import { openSession } from '../connection/session.js'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import { restoreArchive } from './archive.js'
import { unknownSettings } from './compat.js'
import type { RestoreContext, RestoreRequest } from './context.js'
import { describeHarmless, incompleteRestore, RestoreErrorSorter, type RestoreErrors } from './errors.js'
import { replayPlain } from './plain.js'
import { restrictLine } from './psql.js'
import { assertNotSource, createDatabaseLike, dropDatabase } from './temporary-database.js'
import { DEFAULT_STALL_MS, RestoreWatchdog } from './watchdog.js'

export interface Restored<T> {
  /** What the inspection found in the restored database before it was dropped. */
  inspected: T
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

/**
 * Restores into a new temporary database, runs `inspect` on it once the restore succeeded, and
 * drops it whatever happened (what cannot be dropped stays in the ledger for the post step).
 */
export async function restoreBackup<T>(
  run: RunContext,
  request: RestoreRequest,
  inspect: (databaseName: string) => Promise<T>
): Promise<Restored<T>> {
  const { server, databaseName } = request
  assertNotSource(server.target, { ...server.target, database: databaseName })
  const tablespaces = await tablespacesOf(server.session)
  // Recorded before it is asked for: a run killed while CREATE DATABASE runs leaves it to the post
  // step, which drops it if it came to be (and ends the session still creating it).
  // A database on the run's own server goes with that server: the post step has nothing to drop.
  const ledger = server.own ? undefined : run.ledger
  ledger?.created('database', databaseName)
  try {
    await createDatabaseLike(server.session, databaseName, server.like, server.owner)
  } catch (error) {
    // The server refused it (it answered): there is nothing to drop. Otherwise it may exist.
    if (error instanceof VerificationError || (error as { code?: string }).code !== undefined) ledger?.removed('database', databaseName)
    throw error
  }
  run.log(`Created temporary database ${databaseName}`)
  try {
    const restore: RestoreContext = {
      run,
      request,
      env: clientEnvironment(server.target, databaseName, server.passwordFile),
      unknownSettings: request.tools.version.major > server.major ? unknownSettings(server.major) : [],
      tablespaces,
      sorter: new RestoreErrorSorter(),
      progress: {},
      signal: request.signal ? AbortSignal.any([run.signal, request.signal]) : run.signal,
      restrictLine: restrictLine(request.tools.version)
    }
    const restoredChecksum = await restoreWatched(restore).finally(() => request.onBackupRead?.())
    const ignoredErrors = requireHarmlessErrors(run, restore.sorter.result())
    await request.afterRestore?.(databaseName)
    return { inspected: await inspect(databaseName), restoredChecksum, ignoredErrors }
  } finally {
    request.onBackupRead?.()
    try {
      await dropDatabase(server.session, databaseName, server.major)
      ledger?.removed('database', databaseName)
      request.onDropped?.()
      run.log(`Dropped temporary database ${databaseName}`)
    } catch (error) {
      // Still recorded in the ledger: the post step tries again. The restore's own error matters more.
      run.warn(`Could not drop temporary database ${databaseName}: ${run.redactor.redactError(error)}`)
    }
  }
}

/** Fails on any error that is not known to be harmless; warns of the harmless ones and returns them. */
function requireHarmlessErrors(run: RunContext, errors: RestoreErrors): RestoreErrors {
  if (errors.fatal.length > 0) throw incompleteRestore(errors.fatal, errors.fatal.join('\n'))
  if (errors.total > 0)
    run.warn(
      `The restore reported ${errors.total} harmless error(s), ignored (strict: true would fail on them): ${describeHarmless(errors)}`
    )
  return errors
}

/**
 * Runs the restore with a watchdog over its sessions: a restore whose sessions wait on one another
 * is stopped as soon as that is certain, with the reason, instead of running into the time limit.
 */
async function restoreWatched(restore: RestoreContext): Promise<string | undefined> {
  const { request, progress } = restore
  const stop = new AbortController()
  const watched: RestoreContext = { ...restore, signal: AbortSignal.any([restore.signal, stop.signal]) }
  const watchdog = await openSession(request.server.target).then(
    (session) =>
      new RestoreWatchdog({
        session,
        database: request.databaseName,
        serverMajor: request.server.major,
        progress: () => progress.bytes?.() ?? 0,
        describe: () => progress.describe?.() ?? [],
        // While pg_dump still writes, the restore waits for it: only its own waits count.
        armed: request.written?.catch(() => {}),
        stallMs: request.stallMs ?? DEFAULT_STALL_MS
      }),
    () => undefined
  )
  const restoring = request.backup.format === 'plain' ? replayPlain(watched) : restoreArchive(watched)
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

async function tablespacesOf(session: pg.Client): Promise<Set<string>> {
  const { rows } = await session.query<{ name: string }>('SELECT spcname AS name FROM pg_catalog.pg_tablespace')
  return new Set(rows.map((row) => row.name))
}
