// The temporary database a restore goes into: its name, the guard that it is never the source,
// its creation like the source's, and its drop whatever is still connected to it.

import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { VerificationError } from '../run/errors.js'
import { TEMPORARY_DATABASE_PREFIX } from '../run/names.js'

/** "backup_verify_20261124T020316_9f3a1c": sortable, unique across parallel runs, a plain identifier. */
export function temporaryDatabaseName(now: Date, random: string = randomBytes(3).toString('hex')): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
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

/**
 * A database whose transactions are read-only by default (ALTER DATABASE … SET
 * default_transaction_read_only) refuses CREATE and DROP DATABASE to a session on it: the session
 * that creates and drops the temporary database writes nothing else, and is let write.
 */
async function allowWrites(client: pg.Client): Promise<void> {
  await client.query('SET default_transaction_read_only = off')
}

/** A database's encoding and locale, as CREATE DATABASE takes them. */
export interface DatabaseLocale {
  encoding: string
  collate: string
  ctype: string
  /** c (libc), i (ICU) or b (builtin, PostgreSQL 17+). */
  provider: string
  /** The ICU or builtin locale. */
  locale?: string
}

/** The encoding and locale of the database a session is on. */
export async function readDatabaseLocale(client: pg.Client): Promise<DatabaseLocale> {
  const { rows } = await client.query<{ db: Record<string, string | null | undefined> }>(
    `SELECT to_jsonb(d) || jsonb_build_object('encoding_name', pg_encoding_to_char(d.encoding)) AS db
       FROM pg_catalog.pg_database d WHERE d.datname = current_database()`
  )
  const db = rows[0].db
  return {
    encoding: String(db.encoding_name),
    collate: String(db.datcollate),
    ctype: String(db.datctype),
    provider: db.datlocprovider ?? 'c',
    locale: db.datlocale ?? db.daticulocale ?? undefined
  }
}

/**
 * Creates an empty database with the source's encoding and locale (`like`, read from the source;
 * else those of the database the session is on), from template0 so that nothing added to template1
 * collides with the restore.
 */
export async function createDatabaseLike(client: pg.Client, name: string, like?: DatabaseLocale, owner?: string): Promise<void> {
  const db = like ?? (await readDatabaseLocale(client))
  const literal = (value: unknown) => client.escapeLiteral(String(value))
  const clauses = [`TEMPLATE template0`, `ENCODING ${literal(db.encoding)}`]
  if (owner !== undefined) clauses.push(`OWNER ${client.escapeIdentifier(owner)}`)
  clauses.push(`LC_COLLATE ${literal(db.collate)}`, `LC_CTYPE ${literal(db.ctype)}`)
  if (db.provider === 'i') {
    clauses.push(`LOCALE_PROVIDER icu`, `ICU_LOCALE ${literal(db.locale)}`)
  } else if (db.provider === 'b') {
    clauses.push(`LOCALE_PROVIDER builtin`, `BUILTIN_LOCALE ${literal(db.locale)}`)
  }
  try {
    await allowWrites(client)
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
 * cleanup harmless. A session of a run that was killed may still be creating the database (its
 * name was recorded first): it is ended too, so that the database does not come to be after the
 * drop. Whatever still holds the database is named in the error. Returns whether it existed.
 */
export async function dropDatabase(client: pg.Client, name: string, serverMajor: number): Promise<boolean> {
  const creating = `CREATE DATABASE ${client.escapeIdentifier(name)} `
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_catalog.pg_stat_activity
      WHERE pid <> pg_catalog.pg_backend_pid() AND backend_type = 'client backend'
        AND (datname = $1 OR (state = 'active' AND left(query, length($2)) = $2))`,
    [name, creating]
  )
  // From PostgreSQL 14, waited for (up to 5 s each): a CREATE DATABASE ended has then rolled back.
  const terminate = serverMajor >= 14 ? 'SELECT pg_catalog.pg_terminate_backend($1, 5000)' : 'SELECT pg_catalog.pg_terminate_backend($1)'
  for (const { pid } of rows) await client.query(terminate, [pid]).catch(() => {})
  const drop = `DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`
  await allowWrites(client)
  const existed = (await client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])).rows.length > 0
  let last: unknown
  for (let attempt = 0; attempt < DROP_ATTEMPTS; attempt++) {
    try {
      await client.query(drop)
      return existed
    } catch (error) {
      // 55006: still in use. Anything else (no permission, a lost server) is the answer.
      if ((error as { code?: string }).code !== '55006') throw error
      last = error
    }
    if (serverMajor >= 13) {
      try {
        await client.query(`${drop} WITH (FORCE)`)
        return existed
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
