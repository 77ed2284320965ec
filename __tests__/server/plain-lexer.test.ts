// The plain-dump lexer: where statements end, which lines are meta-commands and which are COPY
// data, checked on hand-made cases and against psql itself, which is what the restore runs.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { PlainDumpLexer } from '../../src/backup/plain/lexer.js'
import { copyTable, definitionTable } from '../../src/backup/plain/statements.js'
import type { DumpUnit } from '../../src/backup/plain/units.js'
import { findClientTools } from '../../src/tools/locate.js'
import { startServer, type TestServer } from '../support/server.js'
import { generator } from '../support/random.js'

function lex(text: string | Buffer, chunkSize = 1 << 20, keepBytes = true): { units: DumpUnit[]; lexer: PlainDumpLexer } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text)
  const units: DumpUnit[] = []
  const lexer = new PlainDumpLexer((unit) => units.push(unit), { keepBytes })
  for (let i = 0; i < bytes.length; i += chunkSize) lexer.push(bytes.subarray(i, i + chunkSize))
  lexer.end()
  return { units, lexer }
}

const statementsOf = (text: string) => lex(text).units.flatMap((unit) => unit.statements.map((statement) => statement.text))

describe('where psql ends a statement', () => {
  test.each([
    [
      'semicolons inside quotes, identifiers and comments',
      'SELECT \';\', "a;b" /* ; */ -- ;\n, 1;\nSELECT 2;',
      ['SELECT \';\', "a;b" /* ; */ , 1;', 'SELECT 2;']
    ],
    ['a doubled quote inside a string', "SELECT 'it''s; fine';SELECT 3;", ["SELECT 'it''s; fine';", 'SELECT 3;']],
    ['a backslash escape in an E string', "SELECT E'a\\';b';SELECT 4;", ["SELECT E'a\\';b';", 'SELECT 4;']],
    ['a backslash in a standard string is a character', "SELECT 'a\\';SELECT 5;", ["SELECT 'a\\';", 'SELECT 5;']],
    ['dollar quotes, with a near miss inside', 'SELECT $f$ ; $g$ ; $ff$ ; $f$;SELECT 6;', ['SELECT $f$ ; $g$ ; $ff$ ; $f$;', 'SELECT 6;']],
    ['a parameter is no dollar quote', 'SELECT $1;SELECT 7;', ['SELECT $1;', 'SELECT 7;']],
    ['nested block comments', 'SELECT /* a /* b ; */ c ; */ 8;SELECT 9;', ['SELECT /* a /* b ; */ c ; */ 8;', 'SELECT 9;']],
    ['semicolons inside parentheses do not end a statement', 'SELECT (1;2);SELECT 10;', ['SELECT (1;2);', 'SELECT 10;']],
    // psql reads a line at a time: a string taken up on the next line starts anew, of the plain kind
    // (psql 15 sends "SELECT E'a'\n'\\';" and then "b';SELECT 11;", a bit string to the end). The
    // statement's text leaves out the blanks between the two strings.
    ['a string taken up on the next line starts anew', "SELECT E'a'\n'\\';b';SELECT 11;", ["SELECT E'a''\\';", "b';SELECT 11;"]],
    [
      'BEGIN ATOMIC bodies',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;SELECT 12;',
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;', 'SELECT 12;']
    ],
    ['BEGIN outside a routine is an ordinary statement', 'BEGIN;SELECT 13;', ['BEGIN;', 'SELECT 13;']],
    ['an escaped semicolon', 'SELECT 1\\;SELECT 14;', ['SELECT 1\\;SELECT 14;']]
  ])('%s', (_what, text, statements) => {
    expect(statementsOf(text)).toEqual(statements)
  })

  test('standard_conforming_strings off: a backslash escapes in every string', () => {
    expect(statementsOf("SET standard_conforming_strings = off;\nSELECT 'a\\';b';\nSELECT 2;")).toEqual([
      'SET standard_conforming_strings = off;',
      "SELECT 'a\\';b';",
      'SELECT 2;'
    ])
  })

  test('SJIS: a second byte that is a backslash is part of its character', () => {
    // 0x95 0x5C is one character (a kanji) whose second byte is "\".
    const text = Buffer.concat([
      Buffer.from("SET client_encoding = 'SJIS';\nSELECT E'"),
      Buffer.from([0x95, 0x5c]),
      Buffer.from("';\nSELECT 2;\n")
    ])
    expect(
      lex(text)
        .units.flatMap((unit) => unit.statements)
        .map((statement) => statement.text.endsWith(';'))
    ).toEqual([true, true, true])
    expect(lex(text).units.flatMap((unit) => unit.statements)).toHaveLength(3)
  })
})

describe('units', () => {
  const DUMP = [
    '-- PostgreSQL database dump',
    '\\restrict abc',
    'CREATE TABLE public."x FROM stdin;',
    '\\." (a int, "new',
    'line" text);',
    'COPY public."x FROM stdin;',
    '\\." (a, "new',
    'line") FROM stdin;',
    '1\tone \\\\. two',
    '\\.',
    "COMMENT ON TABLE t IS 'look:",
    'COPY t (a) FROM stdin;',
    '\\.',
    "';",
    '\\unrestrict abc',
    ''
  ].join('\n')

  test('a COPY statement over several lines, its rows, and look-alikes inside quotes', () => {
    const { units, lexer } = lex(DUMP)
    expect(units.map((unit) => unit.kind)).toEqual([
      'comment',
      'meta',
      'statements',
      'statements',
      'rows',
      'end-of-rows',
      'statements',
      'meta'
    ])
    expect(units[3].statements[0]).toMatchObject({ copyIn: true, text: 'COPY public."x FROM stdin;\n\\." (a, "new\nline") FROM stdin;' })
    expect(copyTable(units[3].statements[0].text)).toBe('public."x FROM stdin;\n\\."')
    expect(Buffer.concat(units[4].chunks).toString()).toBe('1\tone \\\\. two\n')
    expect(lexer.copies).toBe(1)
    expect(lexer.unfinished).toBeUndefined()
  })

  test('units cover every byte once, in order, however the bytes arrive', () => {
    const whole = lex(DUMP).units.map((unit) => [unit.kind, unit.start, unit.end])
    for (const size of [1, 2, 3, 5, 7, 16, 100]) {
      const { units } = lex(DUMP, size)
      expect(Buffer.concat(units.flatMap((unit) => unit.chunks)).toString()).toBe(DUMP)
      expect(units.filter((unit) => unit.kind !== 'rows').map((unit) => [unit.kind, unit.start, unit.end])).toEqual(
        whole.filter(([kind]) => kind !== 'rows')
      )
    }
  })

  test('a dump that ends inside a string says so', () => {
    expect(lex("SELECT 'never closed;\n").lexer.unfinished).toBe('inside a quoted string')
    expect(lex('SELECT $x$ body;\n').lexer.unfinished).toBe('inside a dollar-quoted body')
    expect(lex('SELECT 1\n').lexer.unfinished).toBe('in the middle of a statement (no semicolon)')
    expect(lex('COPY t FROM stdin;\n1\n').lexer.inRows).toBe(true)
  })

  test('a meta-command inside a statement makes what follows uncertain', () => {
    expect(lex('SELECT 1 \\g\nSELECT 2;\n').units.some((unit) => unit.uncertain === 'a psql meta-command inside a statement')).toBe(true)
  })

  test('a statement too long to hold is handed over in parts, all its bytes kept', () => {
    const body = 'x'.repeat(3 * 1024 * 1024)
    const text = `SELECT '${body}';\nSELECT 2;\n`
    const { units } = lex(text, 64 * 1024)
    expect(units.filter((unit) => unit.kind === 'partial').length).toBeGreaterThan(1)
    expect(Buffer.concat(units.flatMap((unit) => unit.chunks)).toString()).toBe(text)
    expect(units[units.length - 1].statements.map((statement) => statement.text)).toEqual(['SELECT 2;'])
  })
})

describe('statements the planner shares out', () => {
  test.each([
    ['COPY public.t (a, b) FROM stdin;', 'public.t'],
    ['COPY "S"."T ""x""" ("a", b) FROM stdin;', '"S"."T ""x"""'],
    ['COPY t FROM stdin;', 't'],
    ['COPY public.t (a) FROM stdin WITH (FORMAT csv);', undefined],
    ['COPY public.t (a) FROM stdin; ', 'public.t'],
    ['COPY (SELECT 1) TO stdout;', undefined]
  ])('%s: %s', (text, table) => {
    expect(copyTable(text)).toBe(table)
  })

  const statement = (text: string) => ({ text, start: 0, truncated: false, copyIn: false })
  test.each([
    [['CREATE INDEX i ON public.t USING btree (a);'], { table: 'public.t', shared: true }],
    [['CREATE UNIQUE INDEX "i;x" ON ONLY public."t\nx" USING btree (a);'], { table: 'public."t\nx"', shared: true }],
    [['ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (a);'], { table: 'public.t', shared: false }],
    [['ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_fkey FOREIGN KEY (a) REFERENCES public.u(a);'], undefined],
    [['CREATE INDEX i ON public.t USING btree (a);', 'ALTER TABLE public.t CLUSTER ON i;'], { table: 'public.t', shared: false }],
    [['CREATE INDEX i ON public.t USING btree (a);', 'ALTER TABLE public.u CLUSTER ON i;'], undefined],
    [['CREATE INDEX i ON public.t ((a + 1));'], undefined]
  ])('%j: %j', (statements, expected) => {
    expect(definitionTable(statements.map(statement))).toEqual(expected)
  })
})

/** Text that makes a statement hard to end: quotes of every kind, comments, parentheses, BEGIN ATOMIC. */
function randomStatement(random: () => number, id: number): string {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]
  const inner = () =>
    pick(['a', ' ', ';', '\n', '"', "'", '$', '$$', '$q$', '--', '/*', '*/', '(', ')', 'begin', 'end', 'case', '\t', ':', 'E'])
  const text = (n: number) => Array.from({ length: n }, inner).join('')
  const pieces = [
    () => `'${text(4).replace(/'/g, "''")}'`,
    () => `E'${(text(4) + pick(['\\', '\\\\', ''])).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`,
    () => `'back\\slash'`,
    () => `"${text(4).replace(/"/g, '""')}"`,
    () => `$q$${text(5).replace(/\$q\$/g, '')}$q$`,
    () => `$$${text(5).replace(/\$\$/g, '')}$$`,
    () => `-- ${text(4).replace(/\n/g, ' ')}\n`,
    () => `/* ${text(4).replace(/\/\*|\*\//g, '')} */`,
    () => `(${pick(['1', "';'", '2;3'])})`,
    () => `'a'\n  '${text(3).replace(/'/g, "''")}'`,
    () => pick(['1', 'x', '$1', 'a$b', '1$q$ x $q$', "U&'x'", "B'01'", "X'ff'", '::int', ' ', '\n', 'begin', 'end', 'case', '\\;'])
  ]
  const body = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(pieces)()).join(' ')
  if (random() < 0.15) {
    // A bare BEGIN, CASE or END in a routine's body changes where it ends (for psql as for the
    // lexer): only quoted ones here, so that one statement does not swallow the rest of the script.
    const quoted = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(pieces.slice(0, -1))()).join(' ')
    return `/*#${id}#*/ CREATE FUNCTION f${id}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT ${quoted} FROM missing_${id}; ${pick(['SELECT 1;', 'SELECT CASE WHEN true THEN 1 END;', 'SELECT CASE WHEN true THEN CASE 1 WHEN 1 THEN 2 END END;', ''])} END;`
  }
  return `/*#${id}#*/ SELECT 1/0, ${body};`
}

describe('against psql', () => {
  let server: TestServer
  let log = ''
  beforeAll(async () => {
    server = await startServer({
      settings: ['log_line_prefix=@@LOG@@ ', 'log_min_error_statement=error', 'log_statement=all'],
      onLog: (text) => (log += text)
    })
  })
  afterAll(async () => {
    await server?.stop()
  })

  test('random scripts split into the statements psql sends, one by one', async () => {
    const seed = Number(process.env.LEXER_SEED ?? Date.now() % 100_000)
    console.info(`lexer against psql: seed ${seed} (set LEXER_SEED to run it again)`)
    const random = generator(seed)
    const script = Array.from({ length: 600 }, (_, id) => randomStatement(random, id) + (random() < 0.3 ? ' ' : '\n')).join('')
    const tools = (await findClientTools())[0]
    log = ''
    await new Promise<void>((resolve, reject) => {
      const psql = spawn(tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-f', '-', '-o', '/dev/null'], {
        env: {
          ...process.env,
          PGHOST: '127.0.0.1',
          PGPORT: String(server.port),
          PGUSER: 'postgres',
          PGPASSWORD: server.password,
          PGDATABASE: 'postgres'
        },
        stdio: ['pipe', 'ignore', 'ignore']
      })
      psql.on('error', reject)
      psql.on('close', () => resolve())
      psql.stdin.end(script)
    })
    // The server writes its log a moment later.
    await new Promise((resolve) => setTimeout(resolve, 500))
    // Each statement the server received: logged once parsed, and (again, or only) when it failed.
    const received: Array<{ text: string; parsed: boolean; failed: boolean }> = []
    for (const entry of log.split('@@LOG@@ ')) {
      const parsed = entry.startsWith('LOG:  statement: ')
      if (!parsed && !entry.startsWith('STATEMENT:  ')) continue
      const text = entry.slice(parsed ? 'LOG:  statement: '.length : 'STATEMENT:  '.length).trimEnd()
      const last = received[received.length - 1]
      if (!parsed && last?.parsed && !last.failed && last.text === text) last.failed = true
      else received.push({ text, parsed, failed: !parsed })
    }
    // Where each statement begins: the marker it starts with. (psql versions differ in whether they
    // send the "--" comments inside a statement, so markers inside them are not compared.)
    const firstMarker = (text: string) => Number(/^\/\*#(\d+)#\*\//.exec(text)?.[1] ?? -1)
    // Compared as far as the lexer is certain: past a meta-command inside a statement it says it
    // cannot follow psql (what the planner then runs in one session, as psql reads it).
    const units = lex(script).units
    const uncertain = units.findIndex((unit) => unit.uncertain !== undefined)
    const lexed = units
      .slice(0, uncertain < 0 ? units.length : uncertain)
      .flatMap((unit) => unit.statements.map((statement) => firstMarker(statement.text)))
    const sent = received.map(({ text }) => firstMarker(text)).slice(0, uncertain < 0 ? received.length : lexed.length)
    expect(lexed.length).toBeGreaterThan(300)
    expect({ seed, statements: lexed }).toEqual({ seed, statements: sent })
  })
})
