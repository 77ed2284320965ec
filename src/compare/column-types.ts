// What a table's values are made of, type by type down to the base types (through arrays, domains,
// ranges, multiranges and composite types): whether their text depends on an output setting, and
// whether another major of PostgreSQL might print them otherwise.

import type pg from 'pg'
import type { OutputSettings } from './read-back.js'

/** Base types whose text depends on a session setting pg_dump leaves as the session had it. */
const SETTING_OF: Record<string, keyof OutputSettings> = {
  'pg_catalog.timestamptz': 'TimeZone',
  'pg_catalog.bytea': 'bytea_output',
  'pg_catalog.money': 'lc_monetary'
}

/**
 * Built-in base types whose output is the same from PostgreSQL 13 to 18 for the same value and
 * settings (floats print the shortest exact form since 12). Any other base type, an extension's
 * above all, may print otherwise on another major.
 */
const STABLE_ACROSS_MAJORS = new Set(
  [
    'bool',
    'bytea',
    'char',
    'name',
    'int2',
    'int4',
    'int8',
    'text',
    'varchar',
    'bpchar',
    'oid',
    'json',
    'jsonb',
    'xml',
    'float4',
    'float8',
    'numeric',
    'money',
    'uuid',
    'date',
    'time',
    'timetz',
    'timestamp',
    'timestamptz',
    'interval',
    'bit',
    'varbit',
    'inet',
    'cidr',
    'macaddr',
    'macaddr8',
    'point',
    'lseg',
    'path',
    'box',
    'polygon',
    'line',
    'circle',
    'tsvector',
    'tsquery',
    'pg_lsn'
  ].map((name) => `pg_catalog.${name}`)
)

export interface TypeProfile {
  /** The output settings its values' text depends on. */
  settings: Array<keyof OutputSettings>
  /** Base types another major may print otherwise: schema.name, unquoted. */
  unstable: string[]
}

/**
 * Each table's profile, for tables given by name (quoted and qualified, as the inventory names
 * them). Tables that do not exist are left out.
 */
export async function profileTables(client: pg.Client, tables: string[], serverMajor: number): Promise<Map<string, TypeProfile>> {
  const profiles = new Map<string, TypeProfile>()
  if (tables.length === 0) return profiles
  const multirange = serverMajor >= 14 ? 'UNION ALL SELECT g.rngtypid FROM pg_catalog.pg_range g WHERE g.rngmultitypid = t.oid' : ''
  const { rows } = await client.query<{ name: string; type: string; kind: string; array: boolean }>(
    `WITH RECURSIVE relations AS (
       SELECT r.name, pg_catalog.to_regclass(r.name) AS oid FROM pg_catalog.unnest($1::text[]) AS r(name)
     ), reach(name, typ) AS (
       SELECT r.name, a.atttypid FROM relations r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
        WHERE a.attnum > 0 AND NOT a.attisdropped
       UNION
       SELECT r.name, x.sub FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ,
         LATERAL (
           SELECT t.typelem WHERE t.typelem <> 0
           UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
           UNION ALL SELECT g.rngsubtype FROM pg_catalog.pg_range g WHERE g.rngtypid = t.oid
           ${multirange}
           UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a
                      WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
         ) AS x(sub)
     )
     SELECT r.name, n.nspname || '.' || t.typname AS type, t.typtype::text AS kind,
            t.typcategory = 'A' AS array
       FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace`,
    [tables]
  )
  for (const table of tables) profiles.set(table, { settings: [], unstable: [] })
  for (const { name, type, kind, array } of rows) {
    const profile = profiles.get(name) as TypeProfile
    const setting = SETTING_OF[type]
    if (setting && !profile.settings.includes(setting)) profile.settings.push(setting)
    // Enums print their labels; arrays, domains, ranges and composites are judged by what they hold.
    const judgedByParts = array || kind !== 'b'
    if (!judgedByParts && !STABLE_ACROSS_MAJORS.has(type) && !profile.unstable.includes(type)) profile.unstable.push(type)
  }
  return profiles
}
