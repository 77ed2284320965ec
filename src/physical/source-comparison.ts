// A new base backup against its source. A base backup is a copy of files taken while the server
// runs: the copy recovers to one moment near the backup's end, which no query can name. So the
// source database's inventory and write counters are read just before and just after it: a table
// unchanged in both was quiet throughout, and the copy must match it exactly; a table that moved
// was written to during the backup, cannot be held to one figure, and is named instead. An unlogged
// table is empty in a base backup by design (its WAL is never written): it must be there, no more.

import type pg from 'pg'
import { takeInventory, type Inventory, type TableContent, type VerifyLevel } from '../compare/inventory.js'

/** What the source database held around the backup, for the comparison with the copy. */
export interface SourceAround {
  database: string
  before: Inventory
  after: Inventory
  /** Tables whose rows or write counters changed while the backup ran. */
  written: string[]
  /** Unlogged tables: a base backup holds them empty. */
  unlogged: string[]
}

/** The source database at one moment: its inventory and its write counters. */
export interface SourceState {
  inventory: Inventory
  counters: Map<string, string>
  unlogged: string[]
}

/** Unlogged tables, named as the inventory names tables. */
async function unloggedTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'u'
      ORDER BY n.nspname, c.relname`
  )
  return rows.map((row) => row.name)
}

/** Write counters per table (inserts, updates, deletes), as the statistics have them. */
async function writeCounters(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; writes: string }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name,
            (n_tup_ins + n_tup_upd + n_tup_del)::text AS writes
       FROM pg_stat_user_tables`
  )
  return new Map(rows.map((row) => [row.name, row.writes]))
}

const sameContent = (a: TableContent | undefined, b: TableContent | undefined) =>
  a !== undefined && b !== undefined && a.rows === b.rows && a.fingerprint === b.fingerprint

/** The counters first: a write between the two readings then shows as moved, never as quiet. */
export async function readSourceState(client: pg.Client, level: VerifyLevel): Promise<SourceState> {
  const counters = await writeCounters(client)
  return { inventory: await takeInventory(client, level), counters, unlogged: await unloggedTables(client) }
}

/** The tables that moved between two states: other content, there in one only, or other write counters. */
export function writtenBetween(before: SourceState, after: SourceState): string[] {
  const byName = (inventory: Inventory) => new Map(inventory.content.map((entry) => [entry.table, entry]))
  const [first, last] = [byName(before.inventory), byName(after.inventory)]
  const tables = [...new Set([...before.inventory.tables, ...after.inventory.tables])]
  return tables.filter(
    (table) =>
      (before.inventory.level !== 'schema' && !sameContent(first.get(table), last.get(table))) ||
      !before.inventory.tables.includes(table) ||
      !after.inventory.tables.includes(table) ||
      before.counters.get(table) !== after.counters.get(table)
  )
}

export interface SourceComparison {
  database: string
  /** Tables compared exactly (quiet during the backup). */
  compared: number
  written: string[]
  /** Unlogged tables: checked to be there, their rows left out ("unlogged: empty in a base backup by design"). */
  unlogged: string[]
  /** Quiet tables the copy does not match: named with both figures. */
  mismatches: string[]
}

/** The copy's database against the source around the backup: exact on quiet tables, named where it was written. */
export function compareWithSource(source: SourceAround, copy: Inventory | undefined): SourceComparison {
  if (!copy) {
    return {
      database: source.database,
      compared: 0,
      written: source.written,
      unlogged: source.unlogged,
      mismatches: [`database ${source.database} is not in the copy`]
    }
  }
  const copied = new Map(copy.content.map((entry) => [entry.table, entry]))
  const mismatches: string[] = []
  let compared = 0
  for (const table of source.before.tables) {
    if (source.written.includes(table)) continue
    if (source.unlogged.includes(table)) {
      if (!copy.tables.includes(table)) mismatches.push(`${table} (unlogged) is missing`)
      continue
    }
    compared++
    if (!copy.tables.includes(table)) {
      mismatches.push(`${table} is missing`)
      continue
    }
    if (source.before.level === 'schema') continue
    const expected = source.before.content.find((entry) => entry.table === table)
    const found = copied.get(table)
    if (expected?.rows !== found?.rows) mismatches.push(`${table}: ${expected?.rows} rows in the source, ${found?.rows} in the copy`)
    else if (expected?.fingerprint !== found?.fingerprint) mismatches.push(`${table}: same ${found?.rows} rows, other content`)
  }
  for (const table of copy.tables) {
    if (!source.before.tables.includes(table) && !source.written.includes(table) && !source.unlogged.includes(table))
      mismatches.push(`${table} is in the copy, not in the source`)
  }
  return { database: source.database, compared, written: source.written, unlogged: source.unlogged, mismatches }
}
