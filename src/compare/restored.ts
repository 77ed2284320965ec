// The restored database inspected before it is dropped: its inventory, and at the data level every
// table the dump holds rows for read back and fingerprinted as the dump's rows were. Which way each
// table is compared is decided here, and said: by its COPY text, by a fingerprint in SQL (where the
// reference took one), or by its row count only (where its text cannot be known to match).

import type pg from 'pg'
import type { DumpContent } from '../backup/dump-content.js'
import { decodeDumpText } from '../backup/dump-text.js'
import { majorOf, openSession } from '../connection/session.js'
import type { ConnectionTarget } from '../connection/target.js'
import { profileTables, type TypeProfile } from './column-types.js'
import { readDefinitions } from './definitions.js'
import type { DefinitionList } from './definition-list.js'
import { takeInventory, useCanonicalSettings, type ContentRead, type Inventory, type VerifyLevel } from './inventory.js'
import { ReadBackPool, serverOutputSettings, type OutputSettings, type ReadBackResult } from './read-back.js'
import { sumFingerprints } from '../backup/row-fingerprint.js'

export interface ReadBackPlan {
  dump: DumpContent
  /** The output settings the dump was written in; unknown for a backup made elsewhere without its receipt. */
  settings?: OutputSettings
  /** Tables the reference fingerprinted in SQL: fingerprinted the same way here. */
  sqlTables: Set<string>
  /** The major of the server the dump was taken from, when known. */
  sourceMajor?: number
  /** The reference holds stored generated columns' values: the restored ones are read to compare with them. */
  generatedValues?: boolean
  /** A table whose rows take more of the dump than this is read back in parts (SPLIT_BYTES unless told). */
  splitBytes?: number
  /** Counted as the rows come back, for the run's progress: the rows the dump holds of the tables read, and those read so far. */
  progress?: { done: number; total: number }
}

/** A table to read back: its name in the inventory, the statements that read it (its parts), and its size in the dump. */
interface RestoredRead {
  key: string
  statements: string[]
  weight: number
}

/**
 * A table with more rows than this in the dump is read back in parts, a range of its blocks each
 * (a TID range scan: PostgreSQL 14 on), by as many sessions side by side: the rows of one large table
 * are otherwise one session's work while the other cores wait. Its fingerprint is the sum of the parts'.
 */
const SPLIT_BYTES = 64 * 1024 * 1024

export interface RestoredInspection {
  inventory: Inventory
  /** The dump's tables (by read-back statement) as the inventory names them, where they exist. */
  names: Map<string, string>
}

/** Sessions that read the restored tables side by side, at most. */
const MAX_READING_SESSIONS = 4

const SETTING_WORDS: Record<keyof OutputSettings, string> = {
  TimeZone: 'timestamptz values print in the time zone of the session that dumped them',
  bytea_output: 'bytea values print in the bytea_output format of the session that dumped them',
  lc_monetary: 'money values print in the lc_monetary locale of the session that dumped them'
}

interface DumpTableName {
  key: string
  name?: string
  partitioned: boolean
}

/** The dump's COPY targets, resolved in the restored database to the names the inventory uses. */
async function nameDumpTables(client: pg.Client, dump: DumpContent): Promise<DumpTableName[]> {
  const keys = dump.tables.map((table) => table.copy.readBack)
  const targets = dump.tables.map((table) => decodeDumpText(table.copy.table, dump.clientEncoding))
  const { rows } = await client.query<{ key: string; name: string; kind: string }>(
    `SELECT t.key, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, c.relkind::text AS kind
       FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS t(key, target)
       JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(t.target)
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
    [keys, targets]
  )
  const found = new Map(rows.map((row) => [row.key, row]))
  return keys.map((key) => ({ key, name: found.get(key)?.name, partitioned: found.get(key)?.kind === 'p' }))
}

/** Why a table's content cannot be compared by its COPY text here, or undefined when it can. */
function contentObstacle(profile: TypeProfile | undefined, plan: ReadBackPlan, restoreMajor: number): string | undefined {
  if (!profile) return undefined
  if (!plan.settings && profile.settings.length > 0) {
    return `not compared by content: its ${profile.settings.map((setting) => SETTING_WORDS[setting]).join('; ')}, which this backup does not record`
  }
  if (profile.unstable.length > 0 && plan.sourceMajor !== restoreMajor) {
    const from = plan.sourceMajor === undefined ? 'a server of unknown version' : `PostgreSQL ${plan.sourceMajor}`
    return `not compared by content: dumped from ${from}, restored on PostgreSQL ${restoreMajor}, which may print ${profile.unstable.join(', ')} otherwise`
  }
  return undefined
}

/**
 * The restored database's inventory (its tables counted, or at the data level read back) by up to
 * `jobs` sessions side by side.
 */
export async function inspectRestored(
  target: ConnectionTarget,
  database: string,
  level: VerifyLevel,
  jobs: number,
  plan?: ReadBackPlan
): Promise<RestoredInspection> {
  const sessionCount = Math.max(1, Math.min(jobs, MAX_READING_SESSIONS))
  const opened = await Promise.allSettled([
    openSession(target, database),
    ...Array.from({ length: plan && level === 'data' ? 0 : sessionCount - 1 }, () => openSession(target, database))
  ])
  const sessions = opened.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  try {
    if (opened[0].status === 'rejected') throw opened[0].reason
    const client = sessions[0]
    const definitions = await liftForcedRowSecurity(client, level === 'data')
    if (!plan || level !== 'data')
      return { inventory: await takeInventory(client, level, true, sessions.slice(1), { definitions }), names: new Map() }
    return await inspectWithReadBack(client, plan, sessionCount, { target, database }, definitions)
  } finally {
    await Promise.all(sessions.map((session) => session.end().catch(() => {})))
  }
}

/**
 * An extension's configuration tables that pg_dump dumps through a filter (pg_extension_config_dump's
 * second argument, "WHERE NOT standard"): the filter, and how many rows it leaves out, which
 * CREATE EXTENSION made in the restore as the extension's own script makes them.
 */
async function filteredConfigurationTables(client: pg.Client): Promise<Map<string, { condition: string; extensionRows: number }>> {
  const { rows } = await client.query<{ name: string; condition: string }>(
    `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, u.condition
       FROM pg_catalog.pg_extension x
       CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(x.extconfig), pg_catalog.unnest(x.extcondition)) AS u(relid, condition)
       JOIN pg_catalog.pg_class c ON c.oid = u.relid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND u.condition <> ''`
  )
  const tables = new Map<string, { condition: string; extensionRows: number }>()
  for (const { name, condition } of rows) {
    const { rows: counted } = await client.query<{ made: string }>(
      `SELECT (SELECT pg_catalog.count(*) FROM ONLY ${name}) - (SELECT pg_catalog.count(*) FROM ONLY ${name} ${condition}) AS made`
    )
    tables.set(name, { condition, extensionRows: Number(counted[0].made) })
  }
  return tables
}

/** Text as the dump's statements are held (latin1, a character a byte), in the dump's encoding; undefined where that cannot be known here. */
function asDumpText(text: string, clientEncoding: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text
  return /^utf-?8$/i.test(clientEncoding) ? Buffer.from(text, 'utf8').toString('latin1') : undefined
}

/**
 * Forced row security that applies to the restore role itself, lifted once every definition has been
 * read (FORCE among them); the definitions read, or undefined when there was none to lift. A role
 * that is neither a superuser nor BYPASSRLS owns what it restored where the dump's owners could not
 * be restored, and FORCE shows an owner only the rows its policies let through (a read with
 * row_security off is refused). A role that bypasses row security would read every row too, but
 * only a superuser can grant BYPASSRLS; the temporary database is the run's own, read, then dropped.
 */
async function liftForcedRowSecurity(client: pg.Client, withContent: boolean): Promise<DefinitionList | undefined> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND c.relforcerowsecurity
        AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
        AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)`
  )
  if (rows.length === 0) return undefined
  await useCanonicalSettings(client)
  const { rows: version } = await client.query<{ number: string }>("SELECT current_setting('server_version_num') AS number")
  const definitions = await readDefinitions(client, majorOf(Number(version[0].number)), withContent)
  await client.query(rows.map(({ name }) => `ALTER TABLE ${name} NO FORCE ROW LEVEL SECURITY`).join('; '))
  return definitions
}

async function inspectWithReadBack(
  client: pg.Client,
  plan: ReadBackPlan,
  sessions: number,
  restored: { target: ConnectionTarget; database: string },
  definitions: DefinitionList | undefined
): Promise<RestoredInspection> {
  const { rows } = await client.query<{ version: string }>("SELECT current_setting('server_version_num') AS version")
  const restoreMajor = majorOf(Number(rows[0].version))
  const named = await nameDumpTables(client, plan.dump)
  const profiles = await profileTables(
    client,
    named.flatMap((table) => (table.name ? [table.name] : [])),
    restoreMajor
  )
  const settings = plan.settings ?? (await serverOutputSettings(client))
  const configuration = await filteredConfigurationTables(client)
  const names = new Map<string, string>()
  const readBack: RestoredRead[] = []
  const splitBytes = plan.splitBytes ?? SPLIT_BYTES
  const split: LargeTable[] = []
  const notes = new Map<string, string>()
  const used = new Set<string>()
  for (const [index, table] of named.entries()) {
    const dumped = plan.dump.tables[index]
    // A table the restore lacks is the comparison's to report; a table dumped twice is compared by its rows only.
    if (!table.name || used.has(table.name)) continue
    used.add(table.name)
    names.set(table.key, table.name)
    if (plan.sqlTables.has(table.name)) continue
    const obstacle = contentObstacle(profiles.get(table.name), plan, restoreMajor)
    if (obstacle) {
      notes.set(table.name, obstacle)
      continue
    }
    const { copy } = dumped
    const columns = copy.columns?.join(', ') ?? '*'
    const filtered = configuration.get(table.name)
    let statement = copy.readBack
    if (filtered) {
      // The rows pg_dump dumped are those its filter lets through; CREATE EXTENSION made the others.
      const filter = asDumpText(filtered.condition, plan.dump.clientEncoding)
      if (filter === undefined) {
        notes.set(table.name, "not compared by content: its extension's dump filter cannot be written in the dump's encoding")
        continue
      }
      statement = `COPY (SELECT ${columns} FROM ONLY ${copy.table} ${filter}) TO STDOUT;`
      // A partitioned table cannot be copied out directly: the dump loaded its partitions through it.
    } else if (table.partitioned) statement = `COPY (SELECT ${columns} FROM ${copy.table}) TO STDOUT;`
    const parts = filtered || table.partitioned || restoreMajor < 14 ? 1 : Math.min(sessions, Math.ceil(dumped.bytes / splitBytes))
    if (parts > 1) split.push({ name: table.name, table: copy.table, columns, parts, at: readBack.length })
    readBack.push({ key: table.name, statements: [statement], weight: dumped.bytes + 1 })
    if (plan.progress) plan.progress.total += dumped.rows
  }
  for (const { blocks, ...large } of await withBlockCounts(client, split)) {
    const read = readBack[large.at]
    if (blocks < large.parts) continue
    // Whole blocks to each part; the last takes whatever lies beyond (nothing writes to the restored database now).
    read.statements = Array.from({ length: large.parts }, (_, part) => {
      const from = Math.floor((blocks * part) / large.parts)
      const to = Math.floor((blocks * (part + 1)) / large.parts)
      const range = `ctid >= '(${from},0)'::tid${part === large.parts - 1 ? '' : ` AND ctid < '(${to},0)'::tid`}`
      return `COPY (SELECT ${large.columns} FROM ONLY ${large.table} WHERE ${range}) TO STDOUT;`
    })
  }
  const readSet = new Set(readBack.map((table) => table.key))
  const readOf = (name: string): ContentRead => (readSet.has(name) ? 'elsewhere' : plan.sqlTables.has(name) ? 'sql' : 'count')
  const pool = new ReadBackPool({ ...restored, clientEncoding: plan.dump.clientEncoding, settings }, sessions)
  try {
    const [inventory, results] = await Promise.all([
      takeInventory(client, 'data', true, [], { readOf, largeObjectContent: true, generatedValues: plan.generatedValues, definitions }),
      Promise.all(readBack.map((read) => readInParts(pool, read, plan.progress)))
    ])
    const copyTargets = new Map(
      named.map((table, index) => [table.name, decodeDumpText(plan.dump.tables[index].copy.table, plan.dump.clientEncoding)])
    )
    for (const entry of inventory.content) {
      const note = notes.get(entry.table)
      if (note) entry.contentNote = note
      const extensionRows = configuration.get(entry.table)?.extensionRows
      if (extensionRows !== undefined) entry.extensionRows = extensionRows
    }
    readBack.forEach(({ key }, index) => {
      const result = results[index]
      const extensionRows = configuration.get(key)?.extensionRows
      inventory.content.push(
        'rows' in result
          ? {
              table: key,
              rows: result.rows + (extensionRows ?? 0),
              fingerprint: result.fingerprint,
              copyTarget: copyTargets.get(key),
              ...(extensionRows !== undefined ? { extensionRows } : {})
            }
          : { table: key, readError: result.error }
      )
    })
    return { inventory, names }
  } finally {
    await pool.close()
  }
}

interface LargeTable {
  /** As the inventory names it (UTF-8). */
  name: string
  /** As the dump's COPY names it (latin1 text of the dump's bytes). */
  table: string
  columns: string
  parts: number
  /** Its place in the list read back. */
  at: number
}

/** Each large table's size in blocks, as the restore left it. */
async function withBlockCounts(client: pg.Client, tables: LargeTable[]): Promise<Array<LargeTable & { blocks: number }>> {
  if (tables.length === 0) return []
  const { rows } = await client.query<{ blocks: string }>(
    `SELECT pg_catalog.pg_relation_size(name::pg_catalog.regclass) / pg_catalog.current_setting('block_size')::bigint AS blocks
       FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n`,
    [tables.map((table) => table.name)]
  )
  return tables.map((table, index) => ({ ...table, blocks: Number(rows[index].blocks) }))
}

/** A table's rows, read in one statement or in parts side by side: the rows counted and the fingerprints summed. */
async function readInParts(pool: ReadBackPool, read: RestoredRead, progress?: ReadBackPlan['progress']): Promise<ReadBackResult> {
  const weight = Math.ceil(read.weight / read.statements.length)
  const results = await Promise.all(
    read.statements.map((statement) =>
      pool.read({ key: read.key, statement, weight }).then((result) => {
        if (progress && 'rows' in result) progress.done += result.rows
        return result
      })
    )
  )
  const failed = results.find((result) => 'error' in result)
  if (failed) return failed
  const parts = results as Array<{ rows: number; fingerprint: string }>
  return { rows: parts.reduce((sum, part) => sum + part.rows, 0), fingerprint: sumFingerprints(parts.map((part) => part.fingerprint)) }
}
