// What each object of a database is, by definition rather than by count: every table's columns
// (type, default, nullability, generated expression, collation), indexes, constraints, views and
// materialized views (with their options), routines, triggers, policies, rules, sequences, types,
// schemas, extensions, comments and large objects (size; content at the data level). Each definition is the server's own text
// (pg_get_indexdef and the like), read with search_path = pg_catalog so that every name in it is
// qualified. Owners and privileges are left out: a restore elsewhere may rightly change them.

import { createHash } from 'node:crypto'
import type pg from 'pg'
import { DefinitionList, type Definition, type DefinitionKind } from './definition-list.js'

export type { Definition, DefinitionKind }

const USER_SCHEMA = (column: string) =>
  `${column} NOT IN ('pg_catalog', 'information_schema') AND ${column} !~ '^pg_(toast|temp_|toast_temp_)'`
/** Objects an extension created come back with the extension, as the restore server has it. */
const NOT_IN_EXTENSION = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::pg_catalog.regclass ` +
  `AND e.objid = ${oid} AND e.deptype = 'e')`
/**
 * An index pg_dump dumps: a valid one, or a partitioned table's (valid only once every partition
 * has its own). An index left invalid by a failed CREATE INDEX CONCURRENTLY is never dumped.
 */
export const DUMPED_INDEX = (index: string, table: string) => `((${index}.indisvalid OR ${table}.relkind = 'p') AND ${index}.indisready)`
const QUALIFIED = (schema: string, name: string) => `pg_catalog.quote_ident(${schema}) || '.' || pg_catalog.quote_ident(${name})`

interface Row {
  kind: DefinitionKind
  name: string
  table: string | null
  text: string | null
}

/** Each query yields (kind, name, table, text): the definition of every object of a kind. */
function queries(serverMajor: number): string[] {
  const relation = QUALIFIED('n.nspname', 'c.relname')
  const named = (sql: string) => `SELECT * FROM (${sql}) AS d(kind, name, "table", text)`
  return [...namespaceQueries(), ...relationQueries(relation), ...codeQueries(relation, serverMajor), commentQuery()].map(named)
}

/** Schemas, extensions and types. */
function namespaceQueries(): string[] {
  return [
    `SELECT 'schema', pg_catalog.quote_ident(n.nspname), NULL, 'schema'
       FROM pg_catalog.pg_namespace n WHERE ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_namespace', 'n.oid')}`,
    `SELECT 'extension', pg_catalog.quote_ident(x.extname), NULL, 'in schema ' || pg_catalog.quote_ident(n.nspname)
       FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace`,
    `SELECT 'type', ${QUALIFIED('n.nspname', 't.typname')}, NULL,
            CASE t.typtype
              WHEN 'e' THEN 'enum (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ',
                ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) || ')'
              WHEN 'd' THEN 'domain over ' || pg_catalog.format_type(t.typbasetype, t.typtypmod)
                            || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
                            || CASE WHEN t.typdefault IS NOT NULL THEN ' default ' || t.typdefault ELSE '' END
              WHEN 'r' THEN 'range of ' || (SELECT pg_catalog.format_type(r.rngsubtype, NULL) FROM pg_catalog.pg_range r
                WHERE r.rngtypid = t.oid)
              WHEN 'c' THEN 'composite type'
              ELSE 'type ' || t.typtype::text
            END
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_type', 't.oid')}
        AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class k WHERE k.oid = t.typrelid AND k.relkind = 'c')))`
  ]
}

/** Tables, their columns, indexes and constraints, and views. */
function relationQueries(relation: string): string[] {
  return [
    `SELECT 'table', ${relation}, ${relation},
            CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END
            || CASE c.relpersistence WHEN 'u' THEN ', unlogged' ELSE '' END
            || CASE WHEN c.relrowsecurity THEN ', row security enabled' ELSE '' END
            || CASE WHEN c.relforcerowsecurity THEN ', row security forced' ELSE '' END
            || CASE WHEN c.relkind = 'p' THEN ', partitioned by ' || pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END
            || CASE WHEN c.relispartition THEN ', partition ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid) ELSE '' END
            || coalesce(', inherits ' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ',
              ' ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid AND NOT c.relispartition), '')
            || coalesce(', with (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f') AND ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`,
    // Columns by name: a column added to a parent after its child existed comes back in another position.
    `SELECT 'column', ${relation} || '.' || pg_catalog.quote_ident(a.attname), ${relation},
            pg_catalog.format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                    THEN ' collate ' || (SELECT ${QUALIFIED('cn.nspname', 'co.collname')} FROM pg_catalog.pg_collation co
                      JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
                    ELSE '' END
            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
            || CASE a.attidentity WHEN 'a' THEN ' generated always as identity' WHEN 'd' THEN ' generated by default as identity'
              ELSE '' END
            || CASE WHEN a.attgenerated <> '' THEN ' generated always as (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ')'
                                                    || CASE a.attgenerated WHEN 'v' THEN ' virtual' ELSE ' stored' END
                    WHEN d.adbin IS NOT NULL THEN ' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                    ELSE '' END
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p', 'f', 'c') AND a.attnum > 0 AND NOT a.attisdropped
        AND ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}
        AND (c.relkind <> 'c' OR ${NOT_IN_EXTENSION('pg_type', 'c.reltype')})`,
    `SELECT 'index', ${QUALIFIED('n.nspname', 'ic.relname')}, ${relation}, pg_catalog.pg_get_indexdef(i.indexrelid)
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      WHERE ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')} AND ${DUMPED_INDEX('i', 'c')}`,
    // A constraint a partition took from its partitioned table is named by that table's constraint:
    // its own name was chosen when it was made, and another order of making gives another.
    `SELECT 'constraint',
            coalesce(${relation}, ${QUALIFIED('tn.nspname', 'ty.typname')})
              || '.' || pg_catalog.quote_ident(coalesce(p.conname || ' (from the partitioned table)', k.conname)),
            ${relation},
            k.contype::text || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
       FROM pg_catalog.pg_constraint k
       LEFT JOIN pg_catalog.pg_constraint p ON p.oid = k.conparentid
       LEFT JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
       LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_type ty ON ty.oid = k.contypid
       LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace
      WHERE (c.oid IS NOT NULL OR ty.oid IS NOT NULL)
        AND ${USER_SCHEMA('coalesce(n.nspname, tn.nspname)')}
        AND (c.oid IS NULL OR ${NOT_IN_EXTENSION('pg_class', 'c.oid')})
        AND (ty.oid IS NULL OR ${NOT_IN_EXTENSION('pg_type', 'ty.oid')})`,
    // Options (security_barrier, check_option, security_invoker, storage parameters) change what a view lets through.
    `SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, ${relation}, NULL, pg_catalog.pg_get_viewdef(c.oid)
            || coalesce(' with (' || (SELECT pg_catalog.string_agg(o, ', ' ORDER BY o) FROM pg_catalog.unnest(c.reloptions) o) || ')', '')
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`
  ]
}

/** Routines, triggers, policies, rules and sequences. */
function codeQueries(relation: string, serverMajor: number): string[] {
  return [
    `SELECT 'function', p.oid::pg_catalog.regprocedure::text, NULL,
            CASE WHEN p.${serverMajor >= 11 ? "prokind = 'a'" : 'proisagg'}
                 THEN 'aggregate ' || (SELECT pg_catalog.row_to_json(x)::text
                                         FROM (SELECT a.aggkind, a.aggtransfn::text AS transition, a.aggfinalfn::text AS final,
                                           a.aggcombinefn::text AS combine,
                                                      a.aggtranstype::pg_catalog.regtype::text AS state, a.agginitval,
                                                        a.aggsortop::pg_catalog.regoperator::text AS sort
                                                 FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid) x)
                 ELSE pg_catalog.pg_get_functiondef(p.oid) END
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_proc', 'p.oid')}`,
    `SELECT 'trigger', ${relation} || '.' || pg_catalog.quote_ident(g.tgname), ${relation},
            pg_catalog.pg_get_triggerdef(g.oid) || CASE g.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R'
              THEN ' (enabled on replica)' WHEN 'A' THEN ' (enabled always)' ELSE '' END
       FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT g.tgisinternal AND ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`,
    `SELECT 'policy', ${relation} || '.' || pg_catalog.quote_ident(o.polname), ${relation},
            CASE o.polcmd WHEN 'r' THEN 'for select' WHEN 'a' THEN 'for insert' WHEN 'w' THEN 'for update' WHEN 'd' THEN 'for delete'
              ELSE 'for all' END
            || CASE WHEN o.polpermissive THEN ' permissive' ELSE ' restrictive' END
            || ' to ' || coalesce((SELECT pg_catalog.string_agg(x, ', ' ORDER BY x) FROM (SELECT CASE WHEN r = 0 THEN 'public'
              ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END AS x FROM pg_catalog.unnest(o.polroles) r) y), 'public')
            || coalesce(' using (' || pg_catalog.pg_get_expr(o.polqual, o.polrelid) || ')', '')
            || coalesce(' with check (' || pg_catalog.pg_get_expr(o.polwithcheck, o.polrelid) || ')', '')
       FROM pg_catalog.pg_policy o JOIN pg_catalog.pg_class c ON c.oid = o.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA('n.nspname')}`,
    `SELECT 'rule', ${relation} || '.' || pg_catalog.quote_ident(w.rulename), ${relation}, pg_catalog.pg_get_ruledef(w.oid)
       FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_class c ON c.oid = w.ev_class
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE w.rulename <> '_RETURN' AND ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`,
    `SELECT 'sequence', ${relation}, NULL,
            'as ' || s.seqtypid::pg_catalog.regtype::text || ' increment ' || s.seqincrement || ' minvalue ' || s.seqmin
              || ' maxvalue ' || s.seqmax
            || ' start ' || s.seqstart || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END
            || coalesce(' owned by ' || (SELECT d.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname)
                                            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid
                                              AND a.attnum = d.refobjsubid
                                           WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                                             AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 LIMIT 1), '')
       FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA('n.nspname')} AND ${NOT_IN_EXTENSION('pg_class', 'c.oid')}`
  ]
}

/**
 * Every comment pg_dump dumps: on the objects the user made (built-in ones have OIDs below 16384, and
 * an extension's come with the extension, as do an extension's own), outside the system schemas, and
 * not on an index pg_dump leaves out. Shared objects' comments (roles, databases) are not the database's.
 */
function commentQuery(): string {
  return `SELECT 'comment', 'on ' || o.type || ' ' || o.identity,
            CASE WHEN c.relkind IN ('r', 'p', 'f') THEN ${QUALIFIED('cn.nspname', 'c.relname')} END,
            d.description
       FROM pg_catalog.pg_description d
       CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o
       LEFT JOIN pg_catalog.pg_class c ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objoid
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
       LEFT JOIN pg_catalog.pg_class it ON it.oid = i.indrelid
      WHERE d.objoid >= 16384
        AND d.classoid <> 'pg_catalog.pg_extension'::pg_catalog.regclass
        AND (o.schema IS NULL OR ${USER_SCHEMA('o.schema')})
        AND (d.classoid <> 'pg_catalog.pg_namespace'::pg_catalog.regclass OR ${USER_SCHEMA('o.identity')})
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
        AND (i.indexrelid IS NULL OR ${DUMPED_INDEX('i', 'it')})`
}

/**
 * The definitions of a database's objects. Large objects: their size, and at the data level the
 * MD5 of their bytes, read a part at a time so that a large one does not have to fit in memory.
 * inTransaction: the session holds a transaction already (the source's snapshot), which the read
 * goes on in; otherwise it takes one of its own for its cursor.
 */
export async function readDefinitions(
  client: pg.Client,
  serverMajor: number,
  withContent: boolean,
  inTransaction = false
): Promise<DefinitionList> {
  const definitions = new DefinitionList()
  if (!inTransaction) await client.query('BEGIN READ ONLY')
  try {
    for (const sql of queries(serverMajor)) {
      // A part at a time: a schema of tens of thousands of tables has hundreds of thousands of columns.
      await client.query(`DECLARE backup_verify_definitions NO SCROLL CURSOR FOR ${sql}`)
      for (;;) {
        const { rows } = await client.query<Row>(`FETCH ${ROWS_A_FETCH} FROM backup_verify_definitions`)
        for (const row of rows) {
          const text = row.text ?? ''
          definitions.add(row.table ? { kind: row.kind, name: row.name, table: row.table, text } : { kind: row.kind, name: row.name, text })
        }
        if (rows.length < ROWS_A_FETCH) break
      }
      await client.query('CLOSE backup_verify_definitions')
    }
    for (const definition of await readLargeObjects(client, withContent)) definitions.add(definition)
  } finally {
    if (!inTransaction) await client.query('COMMIT').catch(() => {})
  }
  definitions.sort()
  return definitions
}

/** Definitions are fetched this many rows at a time. */
const ROWS_A_FETCH = 2000

/** A large object's content is read in parts of this size. */
const LARGE_OBJECT_PART = 16 * 1024 * 1024

async function readLargeObjects(client: pg.Client, withContent: boolean): Promise<Definition[]> {
  // Sizes without reading the data: a descriptor open for reading, sought to the end.
  const { rows } = await client.query<{ oid: string; size: string }>(
    `SELECT m.oid::text AS oid, (SELECT pg_catalog.lo_lseek64(d.fd, 0, 2) FROM (SELECT pg_catalog.lo_open(m.oid, 262144) AS fd) d)::text AS size
       FROM pg_catalog.pg_largeobject_metadata m ORDER BY m.oid`
  )
  const definitions: Definition[] = []
  for (const { oid, size } of rows) {
    definitions.push({ kind: 'large object', name: oid, text: `${size} bytes` })
    if (!withContent) continue
    const hash = createHash('md5')
    for (let offset = 0; offset < Number(size); offset += LARGE_OBJECT_PART) {
      const part = await client.query<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid, $2, $3) AS data', [
        oid,
        offset,
        LARGE_OBJECT_PART
      ])
      hash.update(part.rows[0].data)
    }
    definitions.push({ kind: 'large object data', name: oid, text: `md5 ${hash.digest('hex')}` })
  }
  return definitions
}

/** A definition as a receipt records it: a hash, so that no function body or expression leaves the run. */
export function definitionHash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

export interface DefinitionDifference {
  kind: DefinitionKind
  name: string
  table?: string
  /** The text in the reference (the source, or a receipt's hash), and the restored one; undefined where the object is not there. */
  source?: string
  restored?: string
}

/**
 * The objects whose definitions differ, and those on one side only. The reference's definitions
 * are texts (the source) or hashes (a receipt); `byName` compares which objects exist only, for a
 * restore server of another major whose texts may be worded otherwise. Both lists are in order of
 * kind and name: they are walked side by side, with nothing built per object.
 */
export function compareDefinitions(
  reference: DefinitionList,
  restored: DefinitionList,
  options: { hashed: boolean; byName: boolean }
): DefinitionDifference[] {
  const differences: DefinitionDifference[] = []
  let before = 0
  let after = 0
  while (before < reference.length || after < restored.length) {
    const order = before === reference.length ? 1 : after === restored.length ? -1 : reference.compareKeyAt(before, restored, after)
    if (order < 0) {
      const gone = reference.at(before++)
      differences.push({ kind: gone.kind, name: gone.name, table: gone.table, source: gone.text })
    } else if (order > 0) {
      const added = restored.at(after++)
      differences.push({ kind: added.kind, name: added.name, table: added.table, restored: added.text })
    } else {
      // Compared as kept: only a difference is read out as text.
      const same =
        options.byName ||
        (options.hashed
          ? definitionHash(restored.textBytesAt(after)) === reference.textBytesAt(before).toString()
          : reference.sameTextAt(before, restored, after))
      if (!same) {
        const then = reference.at(before)
        const now = restored.at(after)
        differences.push({ kind: then.kind, name: then.name, table: then.table ?? now.table, source: then.text, restored: now.text })
      }
      before++
      after++
    }
  }
  // As before: the reference's objects first (differing or gone), then those only restored.
  return [...differences.filter((difference) => difference.source !== undefined), ...differences.filter((d) => d.source === undefined)]
}
