// Conversations with the server over the pg driver: its version, its tables, and the temporary database.

import pg from 'pg'
import type { ConnectionTarget } from './target.js'
import { describeConnectionError } from '../run/errors.js'

export interface ServerVersion {
  /** As the server reports it, e.g. "15.18 (Debian 15.18-1.pgdg120+1)". */
  text: string
  /** server_version_num, e.g. 150018. */
  number: number
  /** 15 for 15.18; 9.6 for 9.6.24. */
  major: number
}

export async function openSession(target: ConnectionTarget, database = target.database): Promise<pg.Client> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database,
    ssl: target.ssl,
    connectionTimeoutMillis: target.connectTimeoutSeconds * 1000,
    application_name: 'backup-verify',
    // The tools get the same server options (PGOPTIONS): the sessions see what pg_dump sees.
    ...(target.parameters.options ? { options: target.parameters.options } : {})
  })
  // An error after connecting (server shut down, say) must not crash the process; the next query reports it.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw describeConnectionError(error, { ...target, database })
  }
  try {
    await client.query(UNLIMITED)
  } catch (error) {
    await client.end().catch(() => {})
    throw error
  }
  return client
}

/**
 * A database's or role's timeouts are for its applications: counting a large table, or holding
 * pg_dump's snapshot while it writes, must not be cut short by them (pg_dump sets them to 0 in its
 * own sessions); the timeout input bounds a run. One simple query: the statement timeout goes first,
 * in a SET no timeout can cut short, then the others; the newer ones where the server has them (a
 * SET of one it does not know would fail). Not as connection options, which a pooler may refuse.
 */
const UNLIMITED =
  'SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; ' +
  "SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings WHERE name IN ('idle_session_timeout', 'transaction_timeout')"

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
