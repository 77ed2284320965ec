// The gate on its own: what it lets through of a dump, what it leaves out or applies to the temporary
// database (a --create preamble), and what it refuses, with the reason a user reads. No server.

import { describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { admit, DumpGate, type GateOptions, type GateReport, type Verdict } from '../../../src/backup/gate/dump-gate.js'
import { connectTarget, judgeMeta } from '../../../src/backup/gate/meta.js'
import { linesAt } from '../../../src/backup/plain/line-numbers.js'
import { PlainDumpLexer } from '../../../src/backup/plain/lexer.js'
import { restrictLine } from '../../../src/restore/psql.js'

const PREAMBLE = `--
-- PostgreSQL database dump
--

\\restrict K3y

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET row_security = off;

`
const TRAILER = `
--
-- PostgreSQL database dump complete
--

\\unrestrict K3y

`

interface Gated {
  report: GateReport
  /** Each statement's or meta-command's text with its verdict, in order. */
  verdicts: Array<{ text: string; verdict: Verdict }>
  /** What a restore would send. */
  sent: string
}

function gate(body: string, options: Partial<GateOptions> = {}, chunkSize = 1 << 16): Gated {
  const judge = new DumpGate({ untrustedCode: 'report', ...options })
  const verdicts: Gated['verdicts'] = []
  const sent: Buffer[] = []
  const lexer = new PlainDumpLexer(
    (unit) => {
      const judged = judge.judge(unit)
      judged.forEach((verdict, i) =>
        verdicts.push({ text: unit.kind === 'meta' ? unit.line : (unit.statements[i]?.text ?? '(the first part of a line)'), verdict })
      )
      const admitted = admit(unit, judged)
      if ('bytes' in admitted) sent.push(...admitted.bytes.map((bytes) => Buffer.from(bytes)))
    },
    { keepBytes: true, tokens: judge }
  )
  const input = Buffer.from(`${PREAMBLE}${body}${TRAILER}`, 'latin1')
  for (let at = 0; at < input.length; at += chunkSize) lexer.push(input.subarray(at, at + chunkSize))
  lexer.end()
  return { report: judge.finish(), verdicts, sent: Buffer.concat(sent).toString('latin1') }
}

function refusals(body: string, options: Partial<GateOptions> = {}): string[] {
  return gate(body, options).report.refused.map((refusal) => `${refusal.text} :: ${refusal.reason}`)
}

describe('what pg_dump writes for one database passes', () => {
  test.each([
    [
      'a table, its rows and a sequence',
      "CREATE TABLE public.t (a integer, b text);\nCOPY public.t (a, b) FROM stdin;\n1\tx\n\\.\nSELECT pg_catalog.setval('public.s', 42, true);\n"
    ],
    [
      '--inserts and --column-inserts',
      "INSERT INTO public.t VALUES (1, 'x'), (-2.5e+3, NULL), (3, E'a\\\\'''), (4, B'0101');\nINSERT INTO public.t (a, b) OVERRIDING SYSTEM VALUE VALUES (1, DEFAULT) ON CONFLICT DO NOTHING;\nINSERT INTO public.empty DEFAULT VALUES;\nINSERT INTO public.empty DEFAULT VALUES ON CONFLICT DO NOTHING;\n"
    ],
    [
      'large objects',
      "SELECT pg_catalog.lo_create('16400');\nSELECT pg_catalog.lo_open('16400', 131072);\nSELECT pg_catalog.lowrite(0, '\\x6869');\nSELECT pg_catalog.lo_close(0);\nSELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '16400';\nALTER LARGE OBJECT 16400 OWNER TO app;\n"
    ],
    [
      'PostgreSQL 18 statistics',
      "SELECT * FROM pg_catalog.pg_restore_relation_stats(\n\t'version', '180000'::integer,\n\t'schemaname', 'public',\n\t'relname', 't',\n\t'reltuples', '-1'::real\n);\nSELECT * FROM pg_catalog.pg_restore_attribute_stats(\n\t'version', '180000'::integer,\n\t'attname', 'a',\n\t'histogram_bounds', '{1,2}'::text,\n\t'most_common_freqs', '{0.5}'::real[]\n);\n"
    ],
    [
      'functions in trusted languages, one with a SQL-standard body',
      "CREATE FUNCTION public.f(a integer) RETURNS integer\n    LANGUAGE sql IMMUTABLE\n    BEGIN ATOMIC\n SELECT (f.a + 1) AS language;\nEND;\nCREATE FUNCTION public.g() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $_$ BEGIN RAISE NOTICE 'x;'; RETURN NEW; END $_$;\n"
    ],
    [
      'privileges, owners, policies, publications, an unconnected subscription',
      "ALTER TABLE public.t OWNER TO app;\nGRANT SELECT(a) ON TABLE public.t TO reader;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\nALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader;\nCREATE POLICY p ON public.t USING ((a > 0));\nCREATE PUBLICATION pub FOR TABLE ONLY public.t WITH (publish = 'insert');\nCREATE SUBSCRIPTION sub CONNECTION 'host=db password=secret' PUBLICATION pub WITH (connect = false, slot_name = 'sub');\nALTER SUBSCRIPTION sub OWNER TO app;\nCOMMENT ON TABLE public.t IS 'a; \\\\connect other';\nSECURITY LABEL FOR dummy ON TABLE public.t IS 'classified';\n"
    ],
    [
      '--clean',
      'DROP POLICY IF EXISTS p ON public.t;\nALTER TABLE IF EXISTS ONLY public.t DROP CONSTRAINT IF EXISTS t_pkey;\nDROP TABLE IF EXISTS public.t;\nDROP SUBSCRIPTION IF EXISTS sub;\nDROP EXTENSION IF EXISTS hstore;\nDROP SCHEMA IF EXISTS public;\n'
    ],
    [
      '--use-set-session-authorization',
      "SET SESSION AUTHORIZATION 'app';\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\nCREATE TABLE public.t (a integer);\nRESET SESSION AUTHORIZATION;\n"
    ],
    ['pg_restore --single-transaction', 'BEGIN;\nCREATE TABLE public.t (a integer);\nTRUNCATE TABLE ONLY public.t;\nCOMMIT;\n'],
    ['a view with an array slice and casts', 'CREATE VIEW public.v AS\n SELECT (t.a)[1:t.n] AS s, (1)::bigint AS b\n   FROM public.t;\n'],
    [
      'extensions, casts, types and the rest',
      "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\nCREATE TYPE public.mood AS ENUM ('a', 'b');\nCREATE DOMAIN public.pos AS integer CONSTRAINT c CHECK ((VALUE > 0));\nCREATE CAST (public.pos AS text) WITH INOUT AS ASSIGNMENT;\nCREATE TEXT SEARCH CONFIGURATION public.cfg (PARSER = pg_catalog.\"default\");\nCREATE MATERIALIZED VIEW public.mv AS SELECT 1 AS x WITH NO DATA;\nREFRESH MATERIALIZED VIEW public.mv;\nCREATE USER MAPPING FOR app SERVER s OPTIONS (password 'secret');\nCREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION public.g();\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\nCREATE UNIQUE INDEX i ON public.t USING btree (a) WHERE (a > 0);\n"
    ]
  ])('%s', (_what, body) => {
    const { report, sent } = gate(body)
    expect(report.refused).toEqual([])
    expect(report.refusedTotal).toBe(0)
    expect(report.untrustedCode).toEqual([])
    // Nothing is left out of a dump without --create: what a restore sends is the dump itself.
    expect(sent).toBe(`${PREAMBLE}${body}${TRAILER}`)
    expect(report.leftOutTotal).toBe(0)
  })

  test('SET SESSION AUTHORIZATION as pg_dump writes it: an owner, a grantor, the --superuser, pg_database_owner', () => {
    const { report } = gate(
      "SET SESSION AUTHORIZATION 'app';\nCREATE TABLE public.t (a integer);\nSET SESSION AUTHORIZATION granter;\nGRANT SELECT ON TABLE public.t TO reader;\nRESET SESSION AUTHORIZATION;\nSET SESSION AUTHORIZATION 'pg_database_owner';\nCOMMENT ON SCHEMA public IS 'standard public schema';\nSET SESSION AUTHORIZATION DEFAULT;\nSET ROLE app;\n"
    )
    expect(report.refused).toEqual([])
  })

  test('a template database dumped with --clean --create: its flag cleared, left out with the rest of the preamble', () => {
    const { report, sent } = gate(
      "UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'tmpl';\nDROP DATABASE tmpl;\nCREATE DATABASE tmpl WITH TEMPLATE = template0 ENCODING = 'UTF8';\nALTER DATABASE tmpl IS_TEMPLATE = true;\n\\connect tmpl\nCREATE TABLE public.t (a integer);\n",
      { temporaryDatabase: 'backup_verify_1' }
    )
    expect(report.refused).toEqual([])
    expect(report.standIn).toBe('tmpl')
    expect(sent).not.toMatch(/UPDATE|DROP DATABASE|CREATE DATABASE|IS_TEMPLATE|\\connect/)
    expect(refusals("UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'victim';\n")[0]).toContain(
      'drops database victim, which the dump does not create'
    )
    expect(refusals("UPDATE pg_catalog.pg_database SET datallowconn = true WHERE datname = 'victim';\n")[0]).toContain(
      'pg_dump writes no UPDATE statement'
    )
  })

  test('an array slice that names an upper-case column is not a psql variable', () => {
    expect(
      refusals('CREATE INDEX i ON public.t USING btree ((arr[1:2]), (arr[:"N"]));\nCREATE VIEW v AS SELECT arr[1:Upper] FROM t;\n')
    ).toEqual([])
  })

  test('an object comment names its entry however odd its names', () => {
    const { report } = gate('--\n-- Name: t; Type: TABLE; Schema: a; Owner: b; c; Owner: d\n--\n\nCREATE ROLE evil;\n')
    expect(report.refused[0].entry).toBe('TABLE t in schema a; Owner: b; c')
  })

  test('names are shown as the dump writes them, decoded from its client encoding', () => {
    const latin1 = Buffer.from('SET client_encoding = \'LATIN1\';\nCREATE ROLE "gäte";\n', 'latin1').toString('latin1')
    expect(refusals(latin1)[0]).toContain('CREATE ROLE "gäte";')
    const utf8 = Buffer.from('CREATE ROLE "gäte";\n', 'utf8').toString('latin1')
    expect(refusals(utf8)[0]).toContain('CREATE ROLE "gäte";')
  })
})

describe('what would act beyond the temporary database is refused, and said why', () => {
  test.each([
    ['CREATE ROLE evil SUPERUSER;', 'CREATE ROLE evil SUPERUSER; :: CREATE ROLE acts on a role, which every database of the server shares'],
    ['ALTER ROLE app SUPERUSER;', 'ALTER ROLE app SUPERUSER; :: ALTER ROLE acts on a role'],
    ['DROP USER app;', 'DROP USER app; :: DROP USER acts on a role'],
    ['GRANT pg_execute_server_program TO app;', 'GRANT pg_execute_server_program TO app; :: GRANT of a role'],
    [
      "ALTER SYSTEM SET shared_preload_libraries = 'evil';",
      "ALTER SYSTEM SET shared_preload_libraries = '…'; :: ALTER SYSTEM acts on the server's configuration"
    ],
    ['DROP DATABASE victim;', 'DROP DATABASE victim; :: drops database victim, which the dump does not create'],
    [
      "ALTER DATABASE victim SET work_mem = '1MB';",
      "ALTER DATABASE victim SET work_mem = '…'; :: changes a setting of database victim, another database of the server"
    ],
    ["CREATE TABLESPACE ts LOCATION '/tmp';", "CREATE TABLESPACE ts LOCATION '…'; :: CREATE TABLESPACE acts on a tablespace"],
    ['GRANT SET ON PARAMETER work_mem TO app;', 'GRANT SET ON PARAMETER work_mem TO app; :: GRANT ON PARAMETER acts on'],
    [
      "COPY public.t FROM PROGRAM 'id';",
      "COPY public.t FROM PROGRAM '…'; :: COPY ... PROGRAM runs a program on the database server's host"
    ],
    ["COPY public.t TO '/tmp/x';", "COPY public.t TO '…'; :: COPY to or from a file on the database server's host"],
    ['COPY (SELECT 1) TO STDOUT;', 'COPY(SELECT …) TO STDOUT; :: COPY of a query'],
    [
      "SELECT pg_catalog.lo_import('/etc/passwd');",
      "SELECT pg_catalog.lo_import('…'); :: lo_import reads or writes a file on the database server's host"
    ],
    ["SELECT pg_read_file('/etc/passwd');", "SELECT pg_read_file('…'); :: pg_read_file reads or writes a file"],
    ["SELECT pg_catalog.setval('s', (SELECT 1), true);", "SELECT pg_catalog.setval('…',(SELECT …), true) … :: a query:"],
    [
      "SELECT pg_catalog.set_config('log_statement', 'all', false);",
      "SELECT pg_catalog.set_config('…', '…', false); :: pg_catalog.set_config of anything but the session's search_path"
    ],
    [
      "SELECT pg_catalog.binary_upgrade_set_next_pg_type_oid('1'::pg_catalog.oid);",
      'binary_upgrade_set_next_pg_type_oid: a dump made for pg_upgrade'
    ],
    ["INSERT INTO public.t VALUES (1, pg_catalog.pg_read_file('/etc/passwd'));", "calls pg_read_file, which reaches the server's files"],
    ['INSERT INTO public.t VALUES (1, pg_catalog.now());', 'an INSERT whose values are not all literals'],
    ['INSERT INTO public.t SELECT * FROM public.u;', 'an INSERT statement in a form pg_dump never writes'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p;", 'CREATE SUBSCRIPTION without connect = false connects to its publisher'],
    ['ALTER SUBSCRIPTION sub ENABLE;', 'ALTER SUBSCRIPTION other than OWNER TO can connect to its publisher'],
    ["LOAD 'auto_explain';", "LOAD '…'; :: LOAD loads a library into the server's process"],
    ["SET dynamic_library_path = '/tmp';", 'SET dynamic_library_path: not a setting pg_dump writes'],
    ['SET ROLE pg_read_server_files;', 'a predefined role of the server'],
    ["SET SESSION AUTHORIZATION 'pg_execute_server_program';", 'a predefined role of the server with powers beyond one database'],
    ['DO $$ BEGIN PERFORM 1; END $$;', 'DO runs a block of code'],
    ['CALL public.p();', 'CALL runs a procedure'],
    ['CREATE TABLE public.u AS SELECT public.f();', 'CREATE TABLE ... AS runs a query'],
    ['IMPORT FOREIGN SCHEMA s FROM SERVER x INTO public;', 'IMPORT FOREIGN SCHEMA connects to another server'],
    ['DROP OWNED BY app;', 'DROP OWNED acts on every object a role owns'],
    ['REASSIGN OWNED BY app TO postgres;', 'REASSIGN OWNED acts on'],
    ['CHECKPOINT;', 'CHECKPOINT acts on the whole server'],
    ['VACUUM public.t;', 'pg_dump writes no VACUUM statement'],
    ['UPDATE public.t SET a = 1;', 'pg_dump writes no UPDATE statement'],
    ['SELECT 1 \\; CREATE ROLE evil;', 'a backslash outside quotes'],
    [
      "COMMENT ON TABLE public.t IS :'LAST_ERROR_MESSAGE';",
      '":LAST_ERROR_MESSAGE" outside quotes: psql would put its own variable\'s value there'
    ],
    ['COMMENT ON TABLE public.t IS :DBNAME;', '":DBNAME" outside quotes'],
    ["SET client_encoding = 'SJIS';", 'client encoding SJIS: its characters can hold a quote or backslash byte'],
    ['SET client_encoding TO DEFAULT;', "SET client_encoding in a form psql's reading of the dump cannot be followed by"],
    [
      'SET /* */ standard_conforming_strings = off;',
      "SET standard_conforming_strings in a form psql's reading of the dump cannot be followed by"
    ],
    [
      'BEGIN;\nSET standard_conforming_strings = off;\nCOMMIT;',
      'standard_conforming_strings changed inside a transaction, which may take it back'
    ],
    ['RESET ALL;', 'a RESET statement pg_dump never writes'],
    [
      "CREATE SUBSCRIPTION sub CONNECTION 'host=db' PUBLICATION pub WITH (connect = false, slot_name = 'sub');\nDROP SUBSCRIPTION sub;",
      'DROP SUBSCRIPTION of a subscription the dump created connects to its publisher'
    ]
  ])('%s', (statement, expected) => {
    const refused = refusals(`${statement}\n`)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0]).toContain(expected)
  })

  test.each([
    ['\\! id > /tmp/pwned', '\\! :: runs a shell command on the runner'],
    ['\\o /tmp/out', '\\o :: writes to a file or a program on the runner'],
    ['\\w /tmp/out', '\\w :: writes to a file or a program on the runner'],
    ["\\copy public.t to '/tmp/x'", '\\copy :: reads or writes a file (or runs a program) on the runner'],
    ['\\setenv PGPASSWORD x', "\\setenv :: changes psql's own state on the runner"],
    ['\\set ON_ERROR_STOP 0', "\\set :: changes psql's own state on the runner"],
    ['\\i /etc/passwd', '\\i :: reads and runs another file of the runner'],
    ['\\ir other.sql', '\\ir :: reads and runs another file of the runner'],
    ["\\lo_export 16400 '/tmp/x'", '\\lo_export :: moves a large object from or to a file of the runner'],
    ['\\lo_import /etc/passwd', '\\lo_import :: moves a large object'],
    ['\\connect postgres', '\\connect :: connects to database postgres, another database of the server'],
    ['\\c victim', '\\c :: connects to database victim'],
    ['\\connect -reuse-previous=on "dbname=\'app\' host=elsewhere"', '\\connect :: connects to another server, or as another role'],
    ['SELECT 1 \\gexec', 'a backslash outside quotes'],
    ['\\.', '\\. :: ends COPY data where no COPY is open']
  ])('meta-command %s', (line, expected) => {
    expect(refusals(`${line}\n`)[0]).toContain(expected)
    // The dump's own \restrict lines (pg_dump from 2025 on) change nothing: the gate refuses it all the same.
    const withoutRestrict = gate(`${line}\n`).report
    expect(withoutRestrict.refusedTotal).toBeGreaterThan(0)
  })

  test('a literal is never shown: it may hold a password', () => {
    const [refused] = refusals("CREATE SUBSCRIPTION s CONNECTION 'host=x password=hunter2' PUBLICATION p;\n")
    expect(refused).not.toContain('hunter2')
    expect(refused).toContain("CONNECTION '…'")
  })

  test('a refusal inside an archive is named by its table-of-contents entry', () => {
    const { report } = gate(
      '--\n-- TOC entry 215 (class 2606 OID 16390)\n-- Name: t; Type: COMMENT; Schema: public; Owner: app\n--\n\nCREATE ROLE evil;\n',
      {
        archive: true
      }
    )
    expect(report.refused[0]).toMatchObject({ entry: 'TOC entry 215 (COMMENT t in schema public)' })
  })

  test('a statement cut into parts (longer than a part) is refused as a whole, whatever the chunk size', () => {
    const body = `COMMENT ON TABLE public.t IS '${'x'.repeat(3 * 1024 * 1024)}';\nCOPY public.t FROM PROGRAM 'id';\nINSERT INTO public.t VALUES ('${'y'.repeat(2 * 1024 * 1024)}', pg_catalog.now());\n`
    for (const chunkSize of [1000, 65536, 1 << 22]) {
      const { report } = gate(body, {}, chunkSize)
      expect(report.refused.map((refusal) => refusal.reason)).toEqual([
        "COPY ... PROGRAM runs a program on the database server's host",
        'an INSERT whose values are not all literals ("pg_catalog" among the values: not a literal)'
      ])
    }
  })
})

describe('a --create dump: the temporary database stands in for the one it names', () => {
  const create = `DROP DATABASE IF EXISTS app;
CREATE DATABASE app WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';
ALTER DATABASE app OWNER TO postgres;
\\unrestrict K3y
\\encoding SQL_ASCII
\\connect -reuse-previous=on "dbname='app'"
\\restrict K3y
SET statement_timeout = 0;
COMMENT ON DATABASE app IS 'the app';
ALTER DATABASE app SET search_path TO 'public', 'x';
ALTER ROLE app IN DATABASE app SET work_mem TO '8MB';
\\connect app
GRANT CONNECT ON DATABASE app TO reader;
CREATE TABLE public.t (a integer);
`

  test('the preamble is left out, its settings applied to the temporary database, nothing refused', () => {
    const { report, verdicts, sent } = gate(create, { temporaryDatabase: 'backup_verify_1', ownRestrictKey: true })
    expect(report.refused).toEqual([])
    expect(report.standIn).toBe('app')
    expect(report.rewritten).toBe(2)
    const left = verdicts
      .filter(({ verdict }) => verdict.action === 'leave-out')
      .map(({ text }) => text.split(/\s/)[0] + ' ' + text.split(/\s/)[1])
    expect(left).toEqual([
      '\\restrict K3y',
      'DROP DATABASE',
      'CREATE DATABASE',
      'ALTER DATABASE',
      '\\unrestrict K3y',
      '\\encoding SQL_ASCII',
      '\\connect -reuse-previous=on',
      '\\restrict K3y',
      'COMMENT ON',
      '\\connect app',
      'GRANT CONNECT',
      '\\unrestrict K3y'
    ])
    expect(sent).toContain(`ALTER DATABASE "backup_verify_1" SET search_path TO 'public', 'x';`)
    expect(sent).toContain(`ALTER ROLE app IN DATABASE "backup_verify_1" SET work_mem TO '8MB';`)
    expect(sent).not.toMatch(/DROP DATABASE|CREATE DATABASE|\\connect|\\restrict|GRANT CONNECT|ALTER DATABASE app/)
    expect(sent).toContain('CREATE TABLE public.t (a integer);')
  })

  test('a \\connect or a DROP DATABASE of another name is refused', () => {
    expect(refusals(`${create}\\connect other\n`)[0]).toContain('connects to database other, another database of the server')
    expect(refusals(create.replace('DROP DATABASE IF EXISTS app', 'DROP DATABASE IF EXISTS victim'))[0]).toContain(
      'drops database victim, which the dump does not create'
    )
    expect(refusals(`${create}CREATE DATABASE second;\n`)[0]).toContain('creates a second database, second')
    expect(refusals(`${create}ALTER DATABASE app RENAME TO x;\nALTER DATABASE victim OWNER TO app;\n`)[0]).toContain(
      'alters database victim, another database of the server'
    )
  })

  test('a \\connect names its database however pg_dump quotes it', () => {
    expect(connectTarget('app')).toBe('app')
    expect(connectTarget('"Odd ""Name"""')).toBe('Odd "Name"')
    expect(connectTarget(`-reuse-previous=on "dbname='we\\'ird'"`)).toBe("we'ird")
    expect(connectTarget('-reuse-previous=on "dbname=app host=elsewhere"')).toBeUndefined()
    expect(connectTarget('app otheruser')).toBeUndefined()
    expect(connectTarget('postgresql://elsewhere/app')).toBeUndefined()
    expect(connectTarget('- app')).toBeUndefined()
    expect(judgeMeta('\\restrict abc')).toEqual({ kind: 'restrict' })
  })
})

describe('code for the server host', () => {
  const functions = `CREATE FUNCTION public.digest(bytea, text) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT
    AS '$libdir/pgcrypto', 'pg_digest';
CREATE FUNCTION public.py(t text) RETURNS text
    AS $$ return t $$ LANGUAGE plpython3u;
CREATE FUNCTION public.ok(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN t; END $$;
CREATE TRUSTED PROCEDURAL LANGUAGE plv8 HANDLER public.plpython3_call_handler;
CREATE OR REPLACE PROCEDURAL LANGUAGE plpgsql;
`
  test('is reported, with the function and its language', () => {
    const { report } = gate(functions)
    expect(report.refused).toEqual([])
    expect(report.untrustedCode.map(({ routine, language }) => `${routine} in ${language}`)).toEqual([
      'public.digest(bytea, text) in c',
      'public.py(t text) in plpython3u',
      // A trusted language's name on an untrusted language's handler is code for the host all the same.
      'language plv8 (handler public.plpython3_call_handler) in c'
    ])
  })

  test('is refused before it is created when nothing vouches for the backup', () => {
    const refused = refusals(functions, { untrustedCode: 'refuse' })
    expect(refused).toHaveLength(3)
    expect(refused[0]).toContain("public.digest(bytea, text) is written in c, a language whose code runs on the database server's host")
  })
})

describe('psql under a key of the run', () => {
  test('only a psql that knows \\restrict gets one, a new key each time', () => {
    expect(restrictLine({ major: 15, minor: 13, text: '15.13' })).toBeUndefined()
    expect(restrictLine({ major: 12, minor: 30, text: '12.30' })).toBeUndefined()
    const line = restrictLine({ major: 15, minor: 14, text: '15.14' })
    expect(line).toMatch(/^\\restrict [0-9a-f]{48}\n$/)
    expect(restrictLine({ major: 18, minor: 0, text: '18.0' })).not.toBe(line)
    expect(restrictLine({ major: 17, minor: 6, text: '17.6' })).toBeDefined()
  })
})

describe('line numbers of what is refused', () => {
  test('counted in the file, plain or gzip', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-lines-'))
    try {
      const text = `${'line\n'.repeat(100_000)}CREATE ROLE evil;\n`
      const offset = text.indexOf('CREATE ROLE')
      await writeFile(path.join(folder, 'a.sql'), text)
      await writeFile(path.join(folder, 'a.sql.gz'), gzipSync(text))
      expect((await linesAt(path.join(folder, 'a.sql'), false, [offset, 0, 5])).get(offset)).toBe(100_001)
      expect([...(await linesAt(path.join(folder, 'a.sql.gz'), true, [offset, 0, 5]))].sort((a, b) => a[0] - b[0])).toEqual([
        [0, 1],
        [5, 2],
        [offset, 100_001]
      ])
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })
})

describe('what would make psql, the server and the gate read a dump differently is refused', () => {
  test.each([
    [
      'a routine named begin holding statements',
      "CREATE FUNCTION public.begin() RETURNS integer LANGUAGE sql AS 'SELECT 1';\nCREATE ROLE evil SUPERUSER;\nEND;",
      'more than one statement in one'
    ],
    [
      'a statement after a BEGIN ATOMIC body, before its semicolon',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS begin; END; CREATE ROLE evil; END;',
      'more than one statement in one'
    ],
    [
      "B'' read without escapes when standard_conforming_strings is off",
      "SET standard_conforming_strings = off;\nCOMMENT ON SCHEMA public IS B'\\'; CREATE ROLE evil SUPERUSER; -- ';",
      'CREATE ROLE acts on a role'
    ],
    [
      "U&'' read without escapes when standard_conforming_strings is off",
      "SET standard_conforming_strings = off;\nCOMMENT ON SCHEMA public IS U&'\\' UESCAPE '!'; CREATE ROLE evil SUPERUSER; -- ';",
      'a U&"..." name or U&\'...\' string, whose escapes pg_dump never writes'
    ],
    [
      'a string taken up on the next line',
      "COMMENT ON SCHEMA public IS E'a'\n'b\\'; CREATE ROLE evil SUPERUSER; -- ';",
      'a string taken up again on another line'
    ],
    [
      'COMMIT AND CHAIN keeps the transaction',
      "BEGIN;\nCOMMIT AND CHAIN;\nSET standard_conforming_strings = off;\nROLLBACK;\nCOMMENT ON SCHEMA public IS '\\'; CREATE ROLE evil SUPERUSER; -- ';",
      'standard_conforming_strings changed inside a transaction'
    ],
    [
      'ROLLBACK TO keeps the transaction',
      'BEGIN;\nROLLBACK TO SAVEPOINT s;\nSET standard_conforming_strings = off;\nCOMMIT;',
      "SET standard_conforming_strings after the dump's first object"
    ],
    [
      'SET ... TO, which the sessions of a parallel restore are not given',
      'SET standard_conforming_strings TO off;',
      "SET standard_conforming_strings in a form psql's reading of the dump cannot be followed by"
    ],
    ['a psql variable followed by a $', 'CREATE SCHEMA s1 :DBNAME$x;', '":DBNAME" outside quotes'],
    ['a NUL byte', "COMMENT ON TABLE t IS 'a\u0000'; CREATE ROLE evil;", 'a NUL byte'],
    ['\\restrict with more after its key', '\\restrict K3y \\! id', '\\restrict with more than a key after it'],
    [
      "a materialized view that writes a file of the server's host",
      "CREATE MATERIALIZED VIEW public.mv AS SELECT pg_catalog.lo_export(424242, '/tmp/x'), length(pg_read_file('/etc/passwd')) WITH NO DATA;",
      'calls lo_export'
    ],
    [
      'a default that changes a setting',
      "CREATE TABLE public.t (a text DEFAULT set_config('standard_conforming_strings', 'off', false));",
      'calls set_config'
    ],
    [
      'an index that reaches another server',
      "CREATE INDEX i ON public.t (public.dblink_exec('host=x', 'DROP TABLE y'));",
      'calls dblink_exec'
    ]
  ])('%s', (_what, body, expected) => {
    expect(refusals(`${body}\n`)[0]).toContain(expected)
  })

  test('a BEGIN ATOMIC body with CASE and several statements passes', () => {
    expect(
      refusals(
        'CREATE FUNCTION public.f(a integer) RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT CASE WHEN (a > 0) THEN 1 ELSE 2 END AS x;\n SELECT 2;\nEND;\n'
      )
    ).toEqual([])
  })

  test("a routine named return still says its language: C is code for the server's host", () => {
    const { report } = gate(
      "CREATE FUNCTION public.return(text, text, boolean) RETURNS bigint LANGUAGE c AS '$libdir/adminpack', 'pg_file_write_v1_1';\n"
    )
    expect(report.untrustedCode.map((code) => `${code.routine} in ${code.language}`)).toEqual(['public.return(text, text, boolean) in c'])
  })

  test("a foreign server or wrapper reaches other servers, or the host's files and programs: code of another kind", () => {
    const { report } = gate(
      "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;\nCREATE SERVER IF NOT EXISTS remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'x');\nCREATE FOREIGN DATA WRAPPER w HANDLER public.h;\nCREATE USER MAPPING FOR app SERVER remote OPTIONS (password 'secret');\nCREATE USER mapping SUPERUSER;\n"
    )
    expect(report.untrustedCode.map((code) => code.routine)).toEqual(['server files', 'server remote', 'foreign data wrapper w'])
    expect(report.refused[0].reason).toContain('CREATE USER acts on a role')
    expect(
      refusals("CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'x');\n", { untrustedCode: 'refuse' })[0]
    ).toContain("server remote reaches another server, or files and programs of the database server's host")
  })
})

describe('round two: what a second reading of the gate found, refused', () => {
  test.each([
    [
      'a setting psql reads the dump by, after the first object',
      'CREATE TABLE public.t (a text);\nSET standard_conforming_strings = off;',
      "SET standard_conforming_strings after the dump's first object"
    ],
    [
      'such a setting on one line with another statement',
      'SET standard_conforming_strings = off; CREATE TABLE public.t (a text);',
      'on one line with another statement'
    ],
    ['an alias of SJIS', "SET client_encoding = 'windows932';", 'client encoding windows932'],
    ['an encoding the gate does not know', "SET client_encoding = 'klingon';", 'client encoding klingon'],
    ['a number run into a dollar quote', 'COMMENT ON SCHEMA public IS 1a$$;\nCREATE ROLE evil SUPERUSER;\n-- $$;', '"1a$"'],
    ['an exponent run into a dollar quote', 'COMMENT ON SCHEMA public IS 1e5$$ x $$; CREATE ROLE evil; -- $$;', '"1e5$"'],
    ['a U&"" name hiding a function', 'CREATE VIEW v AS SELECT U&"lo\\005fexport"(4242, \'/tmp/x\');', 'a U&'],
    [
      'an operator made of a host function',
      'CREATE OPERATOR public.### (FUNCTION = lo_export, LEFTARG = oid, RIGHTARG = text);',
      'makes lo_export callable'
    ]
  ])('%s', (_what, body, expected) => {
    expect(refusals(`${body}\n`)[0]).toContain(expected)
  })

  test('the database a --create dump names keeps the settings psql reads the dump by: left out, never applied', () => {
    const { report, sent } = gate(
      "CREATE DATABASE app;\n\\connect app\nALTER DATABASE app SET standard_conforming_strings TO 'off';\nALTER ROLE r IN DATABASE app SET client_encoding TO 'SJIS';\nALTER DATABASE app SET work_mem TO '8MB';\n",
      { temporaryDatabase: 'backup_verify_1' }
    )
    expect(report.refused).toEqual([])
    expect(sent).not.toMatch(/standard_conforming_strings TO|client_encoding TO/)
    expect(sent).toContain(`ALTER DATABASE "backup_verify_1" SET work_mem TO '8MB';`)
  })

  test('with a psql that knows no BEGIN ATOMIC (13), a body holding statements is refused', () => {
    const body = 'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n'
    expect(refusals(body)).toEqual([])
    expect(refusals(body, { atomicBodies: false })[0]).toContain('more than one statement in one')
  })

  test("privileges on pg_catalog's functions name them without calling them", () => {
    expect(
      refusals(
        "GRANT ALL ON FUNCTION pg_catalog.pg_ls_dir(text) TO app;\nREVOKE ALL ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;\nCOMMENT ON FUNCTION pg_catalog.lo_export(oid, text) IS 'x';\n"
      )
    ).toEqual([])
  })

  test('a NUL byte on its way to psql stops the restore: psql would read its line only up to it', async () => {
    const { GatedScript } = await import('../../../src/restore/gated-script.js')
    const stopped: unknown[] = []
    const gated = new GatedScript({ untrustedCode: 'refuse' }, undefined, (error) => stopped.push(error))
    const { Readable } = await import('node:stream')
    const { pipeline } = await import('node:stream/promises')
    const chunks: Buffer[] = []
    const done = pipeline(
      Readable.from([Buffer.from('COPY public.t (a) FROM stdin;\nx\u0000\n\\.\nCREATE ROLE evil;\n')]),
      gated,
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) chunks.push(chunk)
      }
    )
    await expect(done).rejects.toThrow(/a NUL byte, up to which psql reads a line/)
    expect(stopped).toHaveLength(1)
    expect(Buffer.concat(chunks).toString()).not.toContain('CREATE ROLE')
  })
})

describe('round three: what a third reading of the gate found, refused', () => {
  const big = 'x'.repeat(2 * 1024 * 1024)

  test('a line too long to hold whole never sends its first part before the verdicts on it; read whole, it is refused alike', () => {
    for (const chunkSize of [4096, 1 << 16, 1 << 22]) {
      const { report, sent } = gate(`DROP DATABASE IF EXISTS victim; COMMENT ON TABLE public.t IS '${big}';\n`, {}, chunkSize)
      expect(sent).not.toContain('DROP DATABASE')
      expect(report.refused.map((refusal) => refusal.reason)).toContainEqual(expect.stringContaining('on a line too long to hold whole'))
    }
  })

  test.each([
    [
      'a COPY with a statement after it on its line',
      "COPY public.t (a) FROM stdin; COMMENT ON TABLE public.t IS 'x';\nCREATE ROLE evil;\n\\.\n"
    ],
    ['a COPY at the end of a line too long to hold whole', `COMMENT ON TABLE public.t IS '${big}'; COPY public.t (a) FROM stdin;\n1\n\\.\n`]
  ])('%s: psql would read its rows, and its guards, elsewhere than the gate', (_what, body) => {
    const { report } = gate(body)
    expect(report.refused[0].reason).toContain('a COPY with another statement on its line')
  })

  test('a \\connect to the stand-in after the first object does not open the preamble again', () => {
    const body =
      'CREATE DATABASE app;\n\\connect app\nCREATE TABLE public.t (a text);\n\\connect app\nSET standard_conforming_strings = off;\n'
    expect(refusals(body, { temporaryDatabase: 'backup_verify_1' })[0]).toContain("after the dump's first object")
  })

  test('a built-in that runs the SQL text it is given is a call of the host', () => {
    const body =
      "CREATE MATERIALIZED VIEW public.v AS SELECT * FROM pg_catalog.ts_stat('SELECT pg_catalog.to_tsvector(pg_catalog.lo_export(4242, ''/tmp/x'')::text)');\n"
    expect(refusals(body)[0]).toContain('calls ts_stat')
    expect(refusals("CREATE VIEW public.v AS SELECT ts_rewrite('a'::tsquery, 'SELECT 1');\n")[0]).toContain('calls ts_rewrite')
  })

  test('only settings a database of the dump may keep are set on the temporary database; the rest are left out', () => {
    const { report, sent } = gate(
      "CREATE DATABASE app;\n\\connect app\nALTER DATABASE app SET session_preload_libraries TO 'evil';\nALTER ROLE r IN DATABASE app SET local_preload_libraries TO 'evil';\nALTER DATABASE app SET search_path TO 'public';\n",
      { temporaryDatabase: 'backup_verify_1' }
    )
    expect(report.refused).toEqual([])
    expect(sent).not.toContain('preload_libraries')
    expect(sent).toContain(`ALTER DATABASE "backup_verify_1" SET search_path TO 'public';`)
  })

  test('what pg_dump writes that the second round mistook: a table named dblink, a rule of several actions', () => {
    expect(
      refusals(
        "CREATE TABLE public.dblink (a integer);\nCOPY public.dblink (a) FROM stdin;\n1\n\\.\nSELECT pg_catalog.setval('public.dblink_seq', 1, true);\nCREATE RULE r AS ON INSERT TO public.t DO ALSO (INSERT INTO public.u VALUES (1); INSERT INTO public.u VALUES (2));\n"
      )
    ).toEqual([])
  })

  test('a backup that fails to be read stops psql before its input ends; psql that stopped reading itself is left to say why', async () => {
    const { GatedScript } = await import('../../../src/restore/gated-script.js')
    const { Readable, PassThrough } = await import('node:stream')
    const { pipeline } = await import('node:stream/promises')
    const stopped: Error[] = []
    const failing = new GatedScript({ untrustedCode: 'refuse' }, undefined, (error) => stopped.push(error))
    const source = new Readable({ read() {} })
    const done = pipeline(source, failing, new PassThrough())
    source.push(`COMMENT ON TABLE public.t IS '${'x'.repeat(100)}`)
    source.destroy(new Error('unexpected end of file'))
    await expect(done).rejects.toThrow('unexpected end of file')
    expect(stopped.map((error) => error.message)).toEqual(['unexpected end of file'])

    const quiet: Error[] = []
    const left = new GatedScript({ untrustedCode: 'refuse' }, undefined, (error) => quiet.push(error))
    left.on('error', () => {})
    left.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    expect(quiet).toEqual([])
  })
})

describe('the roles a dump names, for a server of the run’s own to make first', () => {
  test('owners, grantees, grantors, a schema’s authorization, default privileges, policies and SET SESSION AUTHORIZATION', () => {
    const { report } = gate(
      [
        'CREATE SCHEMA "Gruesse" AUTHORIZATION "Owner ""O\'Brien""";',
        'ALTER TABLE public.t OWNER TO app_owner;',
        'ALTER TABLE public.t RENAME TO not_a_role;',
        'GRANT SELECT ON TABLE public.t TO reader, "Mixed Case" WITH GRANT OPTION;',
        'GRANT ALL ON SCHEMA public TO PUBLIC;',
        'REVOKE ALL ON TABLE public.t FROM auditor GRANTED BY grantor_role;',
        'ALTER DEFAULT PRIVILEGES FOR ROLE definer IN SCHEMA public GRANT SELECT ON TABLES TO default_reader;',
        'CREATE POLICY p ON public.t AS PERMISSIVE FOR SELECT TO policy_role, CURRENT_USER USING ((a > 0));',
        "SET SESSION AUTHORIZATION 'session_role';",
        'ALTER TABLE public.t OWNER TO pg_database_owner;',
        ''
      ].join('\n')
    )
    expect(report.refused).toEqual([])
    expect(report.roles).toEqual(
      [
        'Mixed Case',
        'Owner "O\'Brien"',
        'app_owner',
        'auditor',
        'default_reader',
        'definer',
        'grantor_role',
        'policy_role',
        'reader',
        'session_role'
      ].sort()
    )
  })

  test('the extensions it creates, with IF NOT EXISTS or without', () => {
    const { report } = gate('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;\nCREATE EXTENSION "uuid-ossp";\n')
    expect(report.extensions).toEqual(['pg_trgm', 'uuid-ossp'])
  })

  test('a refused statement names no role to make', () => {
    const { report } = gate('ALTER ROLE intruder SUPERUSER;\nGRANT intruder TO app;\n')
    expect(report.refusedTotal).toBe(2)
    expect(report.roles).toEqual([])
  })
})
