// What the source held when it was dumped, and what the restore holds: object counts by kind,
// tables with exact row counts and content fingerprints, sequence values. The source's is read in
// the snapshot that pg_dump dumps, so that writes during the dump never cause a mismatch.

import type pg from 'pg'
import { DUMPED_INDEX, readDefinitions } from './definitions.js'
import type { DefinitionList } from './definition-list.js'
import { majorOf } from '../connection/session.js'
import type { OutputSettings } from './read-back.js'
import { VerificationError } from '../run/errors.js'

/** schema: object counts; rows: and exact row counts and sequence values; data: and content fingerprints. */
export type VerifyLevel = 'schema' | 'rows' | 'data'
export const VERIFY_LEVELS: VerifyLevel[] = ['schema', 'rows', 'data']

/** Whether an inventory taken at `have` holds what a comparison at `want` needs. */
export function levelCovers(have: VerifyLevel, want: VerifyLevel): boolean {
  return VERIFY_LEVELS.indexOf(have) >= VERIFY_LEVELS.indexOf(want)
}

export const OBJECT_KINDS = [
  'schemas',
  'tables',
  'columns',
  'indexes',
  'constraints',
  'views',
  'materialized views',
  'sequences',
  'functions',
  'triggers',
  'types',
  'extensions',
  'policies',
  'large objects'
] as const
export type ObjectKind = (typeof OBJECT_KINDS)[number]

export interface TableContent {
  /** Quoted, qualified: sales."Order Items" */
  table: string
  rows?: number
  /**
   * Order-independent, duplicates counted. "copy:…": the table's COPY text lines, as the dump holds
   * them and as they are read back (see RowFingerprint). "sql:…": the sum of an MD5 of each row's
   * text in canonical settings, read in SQL on both sides (the fallback for values whose text
   * another major may print differently).
   */
  fingerprint?: string
  /** The table as the dump's COPY statement names it (decoded), when the fingerprint is the dump's. */
  copyTarget?: string
  /** Why the content was not compared, or could not be read back. */
  contentNote?: string
  /** The restored side only: reading the rows back failed (the table is missing, a permission lacks). */
  readError?: string
  /**
   * The restored side of an extension's configuration table whose rows pg_dump dumps through a filter:
   * the rows outside it, which CREATE EXTENSION made (counted in rows; the fingerprint is the dump's rows').
   */
  extensionRows?: number
}

export interface Inventory {
  level: VerifyLevel
  /** server_version_num of the server it was read on: definitions are worded by that server. */
  serverVersionNumber: number
  tables: string[]
  objects: Record<ObjectKind, number>
  content: TableContent[]
  sequences: Array<{ sequence: string; value: string }>
  /** Every object's definition (see readDefinitions). */
  definitions: DefinitionList
  /** The definitions' texts are hashes (a receipt keeps no definition itself). */
  definitionsHashed?: boolean
  /** The output settings the dump was written in (a new backup's source, and receipts of it). */
  outputSettings?: OutputSettings
  /** Indexes left out: invalid (a failed CREATE INDEX CONCURRENTLY), which pg_dump never dumps. */
  invalidIndexes?: string[]
  /**
   * Each stored generated column's values, tied to their rows: the sum of an MD5 of each row's
   * other columns and this one ("sql:", as a SQL fingerprint). A dump holds no generated values
   * (the restore computes them again), so the source's are read where they are known (the data level).
   */
  generatedValues?: GeneratedValues[]
}

interface GeneratedValues {
  /** Quoted, qualified. */
  table: string
  /** Quoted. */
  column: string
  fingerprint: string
}

/**
 * The same output on every side: values are read as text, and text depends on session settings
 * (a database's own timezone or datestyle, a role's extra_float_digits). Names come qualified.
 */
const CANONICAL_SETTINGS =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; " +
  "SET bytea_output = 'hex'; SET lc_monetary = 'C'; SET search_path = pg_catalog"

export async function useCanonicalSettings(client: pg.Client): Promise<void> {
  await client.query(CANONICAL_SETTINGS)
}

const USER_SCHEMA = (column: string) =>
  `${column} NOT IN ('pg_catalog', 'information_schema') AND ${column} !~ '^pg_(toast|temp_|toast_temp_)'`

const OBJECT_COUNTS = `
SELECT
  (SELECT count(*) FROM pg_namespace n WHERE ${USER_SCHEMA('n.nspname')}) AS "schemas",
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')
    AND ${USER_SCHEMA('n.nspname')}) AS "tables",
  (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMA('n.nspname')}) AS "columns",
  (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class t ON t.oid = i.indrelid WHERE ${USER_SCHEMA('n.nspname')} AND ${DUMPED_INDEX('i', 't')}) AS "indexes",
  (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE ${USER_SCHEMA('n.nspname')}) AS "constraints",
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'
    AND ${USER_SCHEMA('n.nspname')}) AS "views",
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm'
    AND ${USER_SCHEMA('n.nspname')}) AS "materialized views",
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S'
    AND ${USER_SCHEMA('n.nspname')}) AS "sequences",
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA('n.nspname')}) AS "functions",
  (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND ${USER_SCHEMA('n.nspname')}) AS "triggers",
  (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'd', 'r', 'm') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid
      AND c.relkind = 'c'))) AND ${USER_SCHEMA('n.nspname')}) AS "types",
  (SELECT count(*) FROM pg_extension) AS "extensions",
  (SELECT count(*) FROM pg_policy) AS "policies",
  (SELECT count(*) FROM pg_largeobject_metadata) AS "large objects"`

async function countObjects(client: pg.Client): Promise<Record<ObjectKind, number>> {
  const { rows } = await client.query<Record<string, string>>(OBJECT_COUNTS)
  return Object.fromEntries(OBJECT_KINDS.map((kind) => [kind, Number(rows[0][kind])])) as Record<ObjectKind, number>
}

/** Each table's columns, quoted, in the order of their names: the same on both sides whatever their positions. */
async function readColumns(client: pg.Client): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ table: string; column: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS "table", quote_ident(a.attname) AS "column"
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMA('n.nspname')}`
  )
  const columns = new Map<string, string[]>()
  for (const row of rows) {
    const list = columns.get(row.table)
    if (list) list.push(row.column)
    else columns.set(row.table, [row.column])
  }
  for (const list of columns.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return columns
}

/** How a table's content is read: counted; counted and fingerprinted in SQL; or not here (read back elsewhere). */
export type ContentRead = 'count' | 'sql' | 'elsewhere'

/** At the data level without a plan: every table fingerprinted in SQL (how a database is compared with itself). */
const SQL_EVERYWHERE = (): ContentRead => 'sql'
const COUNT_EVERYWHERE = (): ContentRead => 'count'

/** The rows of the SELECT among a simple query's statements (several statements answer with each one's result). */
function selectRows<R extends pg.QueryResultRow>(result: pg.QueryResult<R> | Array<pg.QueryResult<R>>): R[] {
  return (Array.isArray(result) ? result.find((each) => each.command === 'SELECT')! : result).rows
}

/**
 * One query on a table. PostgreSQL plans it with the table's index expressions and predicates
 * expanded, SQL functions inlined in the session's search_path: a function whose body names a table
 * unqualified fails to plan in the canonical search_path (pg_catalog), though the table reads well
 * in the path its owner uses, and a restore of the dump fails on that index (pg_dump restores in an
 * empty search_path). Such a query is read again in the session's own search_path, from the role's
 * and database's settings, so that the restore, not this read, says what is wrong. In a snapshot's
 * transaction a savepoint keeps the transaction, and pg_dump's snapshot, alive across the failure.
 */
async function queryTable<R extends pg.QueryResultRow>(
  client: pg.Client,
  table: string,
  sql: string,
  inTransaction: boolean
): Promise<R[]> {
  try {
    if (!inTransaction) return selectRows(await client.query<R>(sql))
    // One round trip: the savepoint, the query and the release.
    return selectRows(await client.query<R>(`SAVEPOINT backup_verify_read; ${sql}; RELEASE SAVEPOINT backup_verify_read`))
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    // Only a name the query could not resolve; a permission, a lost connection or a cancel stands.
    if (!code.startsWith('42') || code === '42501') throw error
    if (inTransaction) await client.query('ROLLBACK TO SAVEPOINT backup_verify_read; RELEASE SAVEPOINT backup_verify_read')
    let rows: R[]
    try {
      await client.query(
        "SELECT pg_catalog.set_config('search_path', reset_val, false) FROM pg_catalog.pg_settings WHERE name = 'search_path'"
      )
      rows = (await client.query<R>(sql)).rows
    } catch (again) {
      const { message, where } = again as { message?: string; where?: string }
      throw new VerificationError(
        'table-unreadable',
        `Cannot count the rows of ${table}: ${message ?? String(again)}${where ? ` (${where.split('\n')[0]})` : ''}.`,
        "The query failed in the canonical search_path (pg_catalog) and in the session's own. A common " +
          'cause is an index expression or partial index whose SQL function names a table or function ' +
          "without its schema: write the schema in the function's body (public.lookup), or give the " +
          'function SET search_path. A restore of the dump fails on that index too: it runs with an empty search_path.'
      )
    }
    await client.query('SET search_path = pg_catalog')
    return rows
  }
}

/** 60 bits of the md5 of each row's columns (of r), summed as numeric: duplicates count, order does not. */
function rowsFingerprint(columns: string[]): string {
  const row = `ROW(${columns.map((column) => `r.${column}`).join(', ')})::text`
  return `coalesce(pg_catalog.sum(('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(${row}), 1, 15))::bit(60)::bigint::numeric), 0)::text`
}

/** Each table's stored generated columns and its other columns, quoted, in the order of their names. */
async function readGeneratedColumns(client: pg.Client): Promise<Map<string, { generated: string[]; others: string[] }>> {
  const { rows } = await client.query<{ table: string; generated: string[]; others: string[] | null }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS "table",
            (SELECT array_agg(quote_ident(g.attname) ORDER BY g.attname) FROM pg_catalog.pg_attribute g
              WHERE g.attrelid = c.oid AND g.attnum > 0 AND NOT g.attisdropped AND g.attgenerated = 's') AS generated,
            (SELECT array_agg(quote_ident(o.attname) ORDER BY o.attname) FROM pg_catalog.pg_attribute o
              WHERE o.attrelid = c.oid AND o.attnum > 0 AND NOT o.attisdropped AND o.attgenerated = '') AS others
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${USER_SCHEMA('n.nspname')}
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                      AND a.attgenerated = 's')`
  )
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  return new Map(
    rows.map((row) => [row.table, { generated: [...row.generated].sort(compare), others: [...(row.others ?? [])].sort(compare) }])
  )
}

/**
 * Each stored generated column's values with the rest of their rows (see Inventory.generatedValues),
 * one scan a table, by the given sessions side by side.
 */
async function readGeneratedValues(clients: pg.Client[], inTransaction: boolean): Promise<GeneratedValues[]> {
  const tables = [...(await readGeneratedColumns(clients[0]))]
  const values: GeneratedValues[][] = new Array(tables.length)
  let next = 0
  const read = async (client: pg.Client, guarded: boolean) => {
    for (let index = next++; index < tables.length; index = next++) {
      const [table, { generated, others }] = tables[index]
      const sums = generated.map((column, at) => `${rowsFingerprint([...others, column])} AS g${at}`)
      const [row] = await queryTable<Record<string, string>>(client, table, `SELECT ${sums.join(', ')} FROM ONLY ${table} AS r`, guarded)
      values[index] = generated.map((column, at) => ({ table, column, fingerprint: `sql:${row[`g${at}`]}` }))
    }
  }
  await Promise.all(clients.map((client, index) => read(client, inTransaction && index === 0)))
  return values.flat()
}

/** Tables counted in one query, at most. */
const COUNT_BATCH = 100

const countQuery = (table: string) => `SELECT pg_catalog.count(*) AS n FROM ONLY ${table}`

/**
 * The row counts of several tables in one round trip; undefined when one of them fails to plan,
 * so that each is counted again on its own and a failure is named (in a snapshot's transaction, a
 * savepoint keeps the transaction alive across it).
 */
async function countTogether(client: pg.Client, tables: string[], guarded: boolean): Promise<number[] | undefined> {
  const counts = tables.map(countQuery).join('; ')
  try {
    const sql = guarded ? `SAVEPOINT backup_verify_read; ${counts}; RELEASE SAVEPOINT backup_verify_read` : counts
    const results = (await client.query(sql)) as unknown as Array<pg.QueryResult<{ n: string }>>
    return results.filter((result) => result.command === 'SELECT').map((result) => Number(result.rows[0].n))
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    if (!code.startsWith('42') || code === '42501') throw error
    if (guarded) await client.query('ROLLBACK TO SAVEPOINT backup_verify_read; RELEASE SAVEPOINT backup_verify_read')
    return undefined
  }
}

/**
 * Each table's exact row count, or its count and a fingerprint of its content that ignores row
 * order and column positions, read by the given sessions side by side. inTransaction: the first
 * session holds a snapshot's transaction, which a failed read must not end.
 */
export async function readContent(
  clients: pg.Client[],
  tables: string[],
  readOf: (table: string) => ContentRead,
  columns: Map<string, string[]>,
  inTransaction = false
): Promise<TableContent[]> {
  const planned = tables.filter((table) => readOf(table) !== 'elsewhere')
  const content: TableContent[] = new Array(planned.length)
  // Tables only counted go up to COUNT_BATCH to a query, so that thousands of them do not cost a round trip each.
  const work: number[][] = []
  for (let index = 0; index < planned.length; index++) {
    const last = work[work.length - 1]
    if (readOf(planned[index]) === 'count' && last && last.length < COUNT_BATCH && readOf(planned[last[0]]) === 'count') last.push(index)
    else work.push([index])
  }
  let next = 0
  const read = async (client: pg.Client, guarded: boolean) => {
    for (let item = next++; item < work.length; item = next++) {
      const indexes = work[item]
      const counts =
        indexes.length > 1
          ? await countTogether(
              client,
              indexes.map((index) => planned[index]),
              guarded
            )
          : undefined
      for (const [position, index] of indexes.entries()) {
        const table = planned[index]
        if (counts) content[index] = { table, rows: counts[position] }
        else if (readOf(table) === 'count') {
          const rows = await queryTable<{ n: string }>(client, table, countQuery(table), guarded)
          content[index] = { table, rows: Number(rows[0].n) }
        } else {
          const rows = await queryTable<{ n: string; fp: string }>(
            client,
            table,
            `SELECT pg_catalog.count(*) AS n, ${rowsFingerprint(columns.get(table) ?? [])} AS fp FROM ONLY ${table} AS r`,
            guarded
          )
          content[index] = { table, rows: Number(rows[0].n), fingerprint: `sql:${rows[0].fp}` }
        }
      }
    }
  }
  await Promise.all(clients.map((client, index) => read(client, inTransaction && index === 0)))
  return content
}

/**
 * Each sequence's state, written as the dump's setval lines are read: "42", or "next 1" when it was
 * never called. Sequences are not transactional, so the source's are not read: the restore is
 * compared with the values the dump itself sets.
 */
async function readSequences(client: pg.Client): Promise<Array<{ sequence: string; value: string }>> {
  const { rows: names } = await client.query<{ sequence: string }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS sequence FROM ` +
      `pg_catalog.pg_sequences WHERE ${USER_SCHEMA('schemaname')} ORDER BY 1`
  )
  const states: Array<{ sequence: string; value: string }> = []
  for (const { sequence } of names) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${sequence}`)
    states.push({ sequence, value: rows[0].is_called ? rows[0].last_value : `next ${rows[0].last_value}` })
  }
  return states
}

export interface InventoryPlan {
  /** How each table's content is read (the level's default when absent). */
  readOf?: (table: string) => ContentRead
  /** Large objects' bytes hashed (the data level's default; off where the dump's bytes stand in for them). */
  largeObjectContent?: boolean
  /** The session holds a snapshot's transaction (pg_dump's): a failed read must not end it. */
  inTransaction?: boolean
  /** Stored generated columns' values read (at the data level): see Inventory.generatedValues. */
  generatedValues?: boolean
  /** The definitions, read already (before anything changed what they say). */
  definitions?: DefinitionList
}

/**
 * The inventory of a database; sequences only where asked (the restored side, at the rows level
 * and up). helpers: more sessions on the same database that read tables beside the first.
 */
export async function takeInventory(
  client: pg.Client,
  level: VerifyLevel,
  withSequences = false,
  helpers: pg.Client[] = [],
  plan: InventoryPlan = {}
): Promise<Inventory> {
  await Promise.all([client, ...helpers].map(useCanonicalSettings))
  const { rows } = await client.query<{ version: string }>("SELECT current_setting('server_version_num') AS version")
  const serverVersionNumber = Number(rows[0].version)
  const tables = await listTables(client)
  const objects = await countObjects(client)
  const invalidIndexes = await listInvalidIndexes(client)
  const definitions =
    plan.definitions ??
    (await readDefinitions(client, majorOf(serverVersionNumber), plan.largeObjectContent ?? level === 'data', plan.inTransaction))
  const readOf = plan.readOf ?? (level === 'data' ? SQL_EVERYWHERE : COUNT_EVERYWHERE)
  const content =
    level === 'schema'
      ? []
      : await readContent(
          [client, ...helpers],
          tables,
          readOf,
          tables.some((table) => readOf(table) === 'sql') ? await readColumns(client) : new Map(),
          plan.inTransaction
        )
  const sequences = withSequences && level !== 'schema' ? await readSequences(client) : []
  const generatedValues =
    level === 'data' && plan.generatedValues ? await readGeneratedValues([client, ...helpers], plan.inTransaction === true) : undefined
  return {
    level,
    serverVersionNumber,
    tables,
    objects,
    content,
    sequences,
    definitions,
    ...(invalidIndexes.length > 0 ? { invalidIndexes } : {}),
    ...(generatedValues ? { generatedValues } : {})
  }
}

/** Indexes pg_dump leaves out (see DUMPED_INDEX), quoted and qualified, sorted. */
async function listInvalidIndexes(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS name
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      WHERE ${USER_SCHEMA('n.nspname')} AND NOT ${DUMPED_INDEX('i', 't')}
      ORDER BY n.nspname, ic.relname`
  )
  return rows.map((row) => row.name)
}

/** The extensions the source uses that the restore server cannot create. */
export async function missingExtensions(source: pg.Client, restoreServer: pg.Client): Promise<string[]> {
  const used = await source.query<{ name: string }>("SELECT extname AS name FROM pg_extension WHERE extname <> 'plpgsql'")
  return unavailableExtensions(
    restoreServer,
    used.rows.map((row) => row.name)
  )
}

/** The extensions named that a server's binaries do not have. */
export async function unavailableExtensions(server: pg.Client, names: string[]): Promise<string[]> {
  const available = await server.query<{ name: string }>('SELECT name FROM pg_available_extensions')
  const there = new Set(available.rows.map((row) => row.name))
  return names.filter((name) => !there.has(name))
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
