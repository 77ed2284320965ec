// A plain dump replayed over `jobs` psql sessions, as pg_restore -j replays an archive (see
// PlainDumpPlanner and ReplayScheduler). The planner's read of the file is what the checksum covers;
// every range the sessions get is read again and checked against it.

import type { GrowingFile } from '../../backup/followed-file.js'
import { plainIsGzipped } from '../../backup/formats.js'
import { startHeartbeat } from '../../run/heartbeat.js'
import { restoreGate, type RestoreContext } from '../context.js'
import { incompleteRestore, MISSING_TABLESPACE } from '../errors.js'
import { copyGuards, psqlArguments, psqlFailure, reportFiltered } from '../psql.js'
import { LexedStatementLines } from '../statement-lines.js'
import { PsqlSessions, SessionEndedError } from './psql-sessions.js'
import { replayPlainDump, type ReplayResult, type ReplaySessions } from './scheduler.js'

export async function replayInSessions(replay: RestoreContext, file: GrowingFile): Promise<string | undefined> {
  const { run, request } = replay
  // Session 0 runs the schema and goes on after an error unless strict; the others stop at their first
  // (psql would read a failed COPY's rows as statements). Unaligned tuples only: a sync token comes
  // back as a line of its own.
  const args = (session: number) => [...psqlArguments(replay, session !== 0 || request.strict), '--no-align', '--tuples-only', '-f', '-']
  const sessions = new PsqlSessions(request.tools.psql, args, request.jobs + 1, {
    env: replay.env,
    signal: replay.signal,
    onLine: run.verbose ? (line) => run.log(run.redactor.redact(line)) : undefined,
    onErrorLine: (line, session) => replay.sorter.line(run.redactor.redact(line), session)
  })
  const followed = new FollowedSchemaSession(sessions, { noAtomicBodies: request.tools.version.major < 14 })
  replay.sorter.readsLines(followed.schema.lines, 0)
  let sent = () => 0
  let describe = (): string[] => []
  // Set here, not where the scheduler is known: a closure made there would hold it (every job) after the replay.
  replay.progress.bytes = () => sent()
  replay.progress.describe = () => describe()
  // The script's bytes sent, against the file's size when the file is the script (not gzip), once known.
  let size: number | undefined
  if (!plainIsGzipped(replay.request.backup.compression))
    void Promise.resolve(file.size).then(
      (known) => (size = known),
      () => {}
    )
  const stopHeartbeat = startHeartbeat(run, 'psql restoring', { done: () => sent(), total: () => size })
  let replayed: ReplayResult
  try {
    replayed = await replayPlainDump({
      file,
      sessions: followed,
      unknownSettings: replay.unknownSettings,
      signal: replay.signal,
      onStart: (scheduler) => {
        sent = () => scheduler.bytesSent
        describe = () => scheduler.describeSessions()
      },
      chunks: request.relay,
      onRead: request.onBackupRead,
      // strict fails on a harmless error: the sessions then meet it as it is.
      adjustSetting: request.strict ? undefined : missingTablespaceSetting(replay),
      gate: restoreGate(replay),
      restrictLine: replay.restrictLine,
      // Session 0 goes on after errors unless strict; the others stop at their first.
      copyGuards: request.strict ? undefined : copyGuards(replay.restrictLine),
      noAtomicBodies: request.tools.version.major < 14
    })
  } catch (error) {
    const runs = await sessions.stop()
    if (error instanceof SessionEndedError) {
      // A session stopped at an error: the errors psql reported say why (a lost connection, strict).
      const { fatal } = replay.sorter.result()
      const stderr = runs.map((ran) => ran?.stderr ?? '').join('\n')
      if (fatal.length > 0 && !request.strict) throw incompleteRestore(fatal, stderr)
      const ran = error.run ?? runs[error.session]
      const failure = ran && psqlFailure(replay, ran, 'psql')
      if (failure) throw failure
    }
    throw error
  } finally {
    stopHeartbeat()
    // The scheduler is let go once the replay ends: only its count of bytes stays.
    const total = sent()
    sent = () => total
    describe = () => []
  }
  const runs = await sessions.finish()
  const failed = runs.map((ran) => psqlFailure(replay, ran, 'psql')).find(Boolean)
  if (failed) throw failed
  const { tables, copies, definitions, serialBecause, removedSettings } = replayed.statistics
  run.log(
    `Restored with ${request.jobs} psql sessions beside the one for the schema: the rows of ${tables} ` +
      `table(s) in ${copies} COPY statement(s), ` +
      `${definitions} index and key definition(s) built as soon as their table was loaded` +
      (serialBecause.length > 0 ? `; in one session from some point on: ${serialBecause.join('; ')}` : '')
  )
  reportFiltered(replay, removedSettings)
  return replayed.sha256
}

/** pg_dump's SET default_tablespace: '' (the default), an identifier, or a quoted one. */
const DEFAULT_TABLESPACE = /^SET default_tablespace = (?:''|"((?:[^"]|"")*)"|([a-z_][a-z0-9_$]*));\n?$/

/**
 * A tablespace the restore server lacks (a restore elsewhere, restore-database-url): the schema's
 * session goes on after its SET fails, a harmless error, and restores into the default tablespace.
 * The other sessions stop at their first error, so they are sent the default tablespace instead,
 * and the harmless case is counted the same way.
 */
function missingTablespaceSetting(replay: RestoreContext): (line: string) => string {
  const noted = new Set<string>()
  return (line) => {
    const match = DEFAULT_TABLESPACE.exec(line)
    // The line holds the dump's bytes as latin1: a name is compared as the server spells it (UTF-8) too.
    const name = match?.[1]?.replace(/""/g, '"') ?? match?.[2]
    if (name === undefined || replay.tablespaces.has(name) || replay.tablespaces.has(Buffer.from(name, 'latin1').toString('utf8')))
      return line
    if (!noted.has(name)) {
      noted.add(name)
      replay.sorter.noteHarmless(MISSING_TABLESPACE)
    }
    return "SET default_tablespace = '';\n"
  }
}

/**
 * The sessions, with what session 0 is sent read again as psql reads it: session 0 goes on after
 * errors, and psql names only the line of each; a missing role is harmless only on a line where a
 * change of owner or privileges ends. (The other sessions stop at their first error, which fails
 * the restore whatever it is.)
 */
class FollowedSchemaSession implements ReplaySessions {
  readonly schema: LexedStatementLines

  constructor(
    private readonly sessions: PsqlSessions,
    reading: { noAtomicBodies?: boolean }
  ) {
    this.schema = new LexedStatementLines(reading)
  }

  get count(): number {
    return this.sessions.count
  }

  write(session: number, data: Buffer | string): Promise<void> {
    if (session === 0) this.schema.sent(data)
    return this.sessions.write(session, data)
  }

  sync(session: number): Promise<void> {
    // The sync's SELECT of a token of its own: one statement on one line.
    if (session === 0) this.schema.sent("SELECT 'sync';\n")
    return this.sessions.sync(session)
  }

  async restart(session: number): Promise<void> {
    await this.sessions.restart(session)
    // The new psql reads from line 1 (the old one's errors were all read as it ended).
    if (session === 0) this.schema.reset()
  }
}
