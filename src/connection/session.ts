// Conversations with the server over the pg driver: its version, its tables, and the temporary database.

import pg from 'pg'
import type { ConnectionTarget } from '../inputs/connection.js'
import { describeConnectionError, VerificationError } from '../run/errors.js'

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
    application_name: 'backup-verify'
  })
  // An error after connecting (server shut down, say) must not crash the process; the next query reports it.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw describeConnectionError(error, { ...target, database })
  }
  return client
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

/** Ordinary and partitioned tables outside the system schemas, as quoted qualified names, sorted. */
export async function listTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      ORDER BY n.nspname, c.relname`
  )
  return rows.map((row) => row.name)
}

/**
 * Creates an empty database with the source's encoding and locale, from template0 so that nothing
 * added to template1 collides with the restore.
 */
export async function createDatabaseLike(client: pg.Client, name: string): Promise<void> {
  const { rows } = await client.query<{ db: Record<string, unknown> }>(
    `SELECT to_jsonb(d) || jsonb_build_object('encoding_name', pg_encoding_to_char(d.encoding)) AS db
       FROM pg_catalog.pg_database d WHERE d.datname = current_database()`
  )
  const db = rows[0].db
  const literal = (value: unknown) => client.escapeLiteral(String(value))
  const clauses = [`TEMPLATE template0`, `ENCODING ${literal(db.encoding_name)}`]
  clauses.push(`LC_COLLATE ${literal(db.datcollate)}`, `LC_CTYPE ${literal(db.datctype)}`)
  if (db.datlocprovider === 'i') {
    clauses.push(`LOCALE_PROVIDER icu`, `ICU_LOCALE ${literal(db.datlocale ?? db.daticulocale)}`)
  } else if (db.datlocprovider === 'b') {
    clauses.push(`LOCALE_PROVIDER builtin`, `BUILTIN_LOCALE ${literal(db.datlocale)}`)
  }
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} ${clauses.join(' ')}`)
  } catch (error) {
    const err = error as { code?: string; message?: string }
    if (err.code === '42501') {
      const user = (client as unknown as { user: string }).user
      throw new VerificationError(
        'create-database-denied',
        `Permission denied to create database: user "${user}" cannot create the temporary restore database.`,
        `Grant it with: ALTER USER ${client.escapeIdentifier(user)} CREATEDB; (or run the verification as a superuser)`
      )
    }
    throw error
  }
}

/** How long a drop waits for sessions that are ending (the server itself waits up to 5 s each try). */
const DROP_ATTEMPTS = 3

/**
 * Drops a temporary database, whatever is still in it. The sessions this user may end are ended
 * first; an error ending one (a superuser's) never stops the drop. A plain DROP DATABASE then ends
 * autovacuum workers itself, which WITH (FORCE) would refuse to a role that is not a superuser;
 * WITH (FORCE) is the second try, for sessions that did not end. "IF EXISTS" makes a repeated
 * cleanup harmless. Whatever still holds the database is named in the error.
 */
export async function dropDatabase(client: pg.Client, name: string, serverMajor: number): Promise<void> {
  const { rows } = await client.query<{ pid: number }>(
    "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid() AND backend_type = 'client backend'",
    [name]
  )
  for (const { pid } of rows) await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [pid]).catch(() => {})
  const drop = `DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`
  let last: unknown
  for (let attempt = 0; attempt < DROP_ATTEMPTS; attempt++) {
    try {
      await client.query(drop)
      return
    } catch (error) {
      // 55006: still in use. Anything else (no permission, a lost server) is the answer.
      if ((error as { code?: string }).code !== '55006') throw error
      last = error
    }
    if (serverMajor >= 13) {
      try {
        await client.query(`${drop} WITH (FORCE)`)
        return
      } catch (error) {
        last = error
      }
    }
  }
  const { rows: holders } = await client.query<{ pid: number; who: string }>(
    `SELECT pid, coalesce(backend_type, 'session') || coalesce(' of ' || usename, '') || coalesce(' (' || nullif(application_name, '') || ')', '')
            || coalesce(', ' || state, '') AS who
       FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()`,
    [name]
  )
  const detail = (last as Error | undefined)?.message ?? 'it is in use'
  throw new Error(
    `${detail}${holders.length > 0 ? `; still connected: ${holders.map((holder) => `pid ${holder.pid} (${holder.who})`).join(', ')}` : ''}`
  )
}

export interface DatabaseSize {
  /** pg_database_size: everything, indexes included. */
  totalBytes: number
  /** Table data with TOAST, no indexes: what a dump carries. */
  tableBytes: number
}

export async function readDatabaseSize(client: pg.Client): Promise<DatabaseSize> {
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
