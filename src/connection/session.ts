// Conversations with the server over the pg driver: its version, its tables, and the temporary database.

import pg from 'pg'
import type { ConnectionOptions } from 'node:tls'
import type { ConnectionTarget } from './target.js'
import { fromServer, sessionTries, unreachable } from './tls.js'
import { describeConnectionError } from '../run/errors.js'

export interface ServerVersion {
  /** As the server reports it, e.g. "15.18 (Debian 15.18-1.pgdg120+1)". */
  text: string
  /** server_version_num, e.g. 150018. */
  number: number
  /** 15 for 15.18; 9.6 for 9.6.24. */
  major: number
}

function clientConfig(target: ConnectionTarget, database: string, ssl: false | ConnectionOptions): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database,
    // Always given: the driver would otherwise read PGSSLMODE its own way.
    ssl,
    connectionTimeoutMillis: target.connectTimeoutSeconds * 1000,
    application_name: 'backup-verify',
    // The tools get the same server options (PGOPTIONS): the sessions see what pg_dump sees.
    ...(target.parameters.options ? { options: target.parameters.options } : {})
  }
}

/**
 * A connected client, TLS or plain as sslmode says (see sessionTries). When every try fails, the
 * error that says most: one the server sent over TLS, else one the server sent, else the last.
 */
async function connectClient(target: ConnectionTarget, database: string): Promise<pg.Client> {
  const failures: Array<{ error: unknown; tls: boolean }> = []
  for (const ssl of sessionTries(target.tls, target.host)) {
    const client = new pg.Client(clientConfig(target, database, ssl))
    // An error after connecting (server shut down, say) must not crash the process; the next query reports it.
    client.on('error', () => {})
    try {
      await client.connect()
      return client
    } catch (error) {
      await client.end().catch(() => {})
      failures.push({ error, tls: ssl !== false })
      if (unreachable(error)) break
    }
  }
  const told =
    failures.findLast((failure) => failure.tls && fromServer(failure.error)) ??
    failures.findLast((failure) => fromServer(failure.error)) ??
    failures[failures.length - 1]
  throw told.error
}

/** The run's stop, for a session that must not outlast it. */
export interface SessionStop {
  signal: AbortSignal
  /** Told what held up a statement that was cancelled: another session's lock. */
  report: (line: string) => void
}

/**
 * A session on the server. stop: when the run's signal aborts (timeout, a signal), a statement the
 * session is running is cancelled on the server, so that one waiting for a lock another session
 * holds does not hold the run until that session lets go; that session is named.
 */
export async function openSession(target: ConnectionTarget, database = target.database, stop?: SessionStop): Promise<pg.Client> {
  let client: pg.Client
  try {
    client = await connectClient(target, database)
  } catch (error) {
    throw describeConnectionError(error, { ...target, database })
  }
  let pid: number
  try {
    await withoutStatementTimeout(client)
    const results = (await client.query(UNLIMITED)) as unknown as Array<pg.QueryResult<{ pid: number }>>
    pid = results[results.length - 1].rows[0].pid
  } catch (error) {
    await client.end().catch(() => {})
    throw error
  }
  if (stop) {
    const cancel = () => void cancelLockWait(target, database, pid, stop.report)
    stop.signal.addEventListener('abort', cancel, { once: true })
    client.once('end', () => stop.signal.removeEventListener('abort', cancel))
  }
  return client
}

/**
 * Cancels a statement of the backend's that waits for a lock, from a session of its own (the
 * backend's is busy), and names the sessions that hold it. Only such a statement: any other ends by
 * itself, and one the run began since it stopped (dropping its temporary database) must go on.
 */
async function cancelLockWait(target: ConnectionTarget, database: string, pid: number, report: (line: string) => void): Promise<void> {
  let canceller: pg.Client
  try {
    canceller = await connectClient(target, database)
  } catch {
    return // The server may be gone: then nothing waits on it either.
  }
  try {
    // Not the other session's statement, which may hold anything (a password, say): who, and for how long.
    const { rows } = await canceller.query<{
      pid: number
      application: string
      state: string | null
      held: string | null
      relation: string | null
    }>(
      `SELECT b.pid, b.application_name AS application, b.state,
              pg_catalog.date_trunc('second', pg_catalog.now() - b.xact_start)::text AS held,
              (SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
                 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE l.pid = $1 AND NOT l.granted LIMIT 1) AS relation
         FROM pg_catalog.pg_stat_activity b WHERE b.pid = ANY (pg_catalog.pg_blocking_pids($1))`,
      [pid]
    )
    if (rows.length === 0) return
    await canceller.query(
      "SELECT pg_catalog.pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND state = 'active' AND wait_event_type = 'Lock'",
      [pid]
    )
    for (const row of rows) {
      report(
        `A statement of the run's waited for a lock${row.relation ? ` on ${row.relation}` : ''} held by another session: ` +
          `pid ${row.pid}${row.application ? ` (${row.application})` : ''}${row.state ? `, ${row.state}` : ''}` +
          `${row.held ? `, its transaction open for ${row.held}` : ''}`
      )
    }
  } catch {
    // The server may be gone: then nothing waits on it either.
  } finally {
    await canceller.end().catch(() => {})
  }
}

/**
 * A database's or role's timeouts are for its applications: counting a large table, or holding
 * pg_dump's snapshot while it writes, must not be cut short by them (pg_dump sets them to 0 in its
 * own sessions); the timeout input bounds a run. After the statement timeout (see below), one simple
 * query: the others, the newer ones where the server has them (a SET of one it does not know would
 * fail). Not as connection options, which a pooler may refuse.
 */
const UNLIMITED =
  'SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; ' +
  "SELECT pg_catalog.pg_backend_pid() AS pid, (SELECT pg_catalog.count(pg_catalog.set_config(name, '0', false)) " +
  "FROM pg_catalog.pg_settings WHERE name IN ('idle_session_timeout', 'transaction_timeout')) AS unlimited"

/**
 * The statement timeout first, alone: a SET as short as it gets. Even so a timeout of a millisecond
 * can expire while it runs on a busy server, and the server then cancels it (and says "user
 * request" once the SET has cleared the timer): it is sent again.
 */
async function withoutStatementTimeout(client: pg.Client): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('SET statement_timeout = 0')
      return
    } catch (error) {
      if ((error as { code?: string }).code !== '57014' || attempt === 5) throw error
    }
  }
}

/**
 * Whether a new session of this user on this server could be ended by idle_session_timeout
 * (PostgreSQL 14+): the server's setting, or a role's or database's that applies to this user. The
 * restore's sessions wait idle for their turn, so the tools are then told to set it to 0 themselves.
 */
export async function idleSessionTimeoutSet(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ set: boolean }>(
    `SELECT s.reset_val <> '0' OR EXISTS (
              SELECT 1 FROM pg_catalog.pg_db_role_setting r, pg_catalog.unnest(r.setconfig) c
               WHERE r.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))
                 AND c LIKE 'idle\\_session\\_timeout=%' AND c <> 'idle_session_timeout=0') AS set
       FROM pg_catalog.pg_settings s WHERE s.name = 'idle_session_timeout'`
  )
  return rows[0]?.set === true
}

/**
 * Whether this user's sessions in a new database would be read-only by default
 * (default_transaction_read_only): the server's setting or the connection's options (both in the
 * session's reset value), or a role's setting for every database. The temporary database's
 * sessions are then told to write (see WRITABLE), and only they: the source's stay as they are.
 */
export async function readOnlyByDefault(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ set: boolean }>(
    `SELECT s.reset_val <> 'off' OR EXISTS (
              SELECT 1 FROM pg_catalog.pg_db_role_setting r, pg_catalog.unnest(r.setconfig) c
               WHERE r.setdatabase = 0 AND r.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user))
                 AND c LIKE 'default\\_transaction\\_read\\_only=%') AS set
       FROM pg_catalog.pg_settings s WHERE s.name = 'default_transaction_read_only'`
  )
  return rows[0]?.set === true
}

/** The server option that lets a session write, after any that made it read-only (the last one given wins). */
export const WRITABLE = '-c default_transaction_read_only=off'

export function majorOf(versionNumber: number): number {
  return versionNumber >= 100000
    ? Math.floor(versionNumber / 10000)
    : Math.floor(versionNumber / 10000) + Math.floor((versionNumber % 10000) / 100) / 10
}

export async function readServerVersion(client: pg.Client): Promise<ServerVersion> {
  const { rows } = await client.query<{ text: string; number: string }>(
    "SELECT current_setting('server_version') AS text, current_setting('server_version_num') AS number"
  )
  const number = Number(rows[0].number)
  return { text: rows[0].text, number, major: majorOf(number) }
}
