// Property test: databases whose schema, table, column, index and constraint names are built from
// everything pg_dump can write inside an identifier (line breaks, quotes, semicolons, "FROM stdin;",
// "\.", dollar signs, comment starts, Unicode, 63-byte names) dump and restore over parallel psql
// sessions with every row and value, never hang, and never fall back to one session for them.

import { describe, expect, test } from '@jest/globals'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import type { VerificationResult } from '../../src/report/result.js'
import { recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'
import { generator } from '../support/random.js'

/** Pieces that confuse anything reading a dump line by line or token by token. */
const PIECES = [
  'a',
  'Z',
  '_',
  '7',
  ' ',
  '\n',
  '\r\n',
  '\t',
  '"',
  '""',
  "'",
  "''",
  ';',
  '\\',
  '\\.',
  '\\.\n',
  '.',
  '$',
  '$$',
  '$x$',
  '--',
  '/*',
  '*/',
  '(',
  ')',
  ',',
  'FROM stdin;',
  '\nFROM stdin;\n\\.\n',
  'COPY ',
  "E'",
  'BEGIN',
  'END',
  'CREATE INDEX',
  '-- Name: x; Type: INDEX; Schema: y',
  '; Type: TABLE DATA; Schema: ',
  'ü',
  'ünïcødé',
  '日本語',
  '🙂',
  ':',
  '::',
  '%',
  '\\restrict',
  '\\connect x'
]

function hostileName(random: () => number, taken: Set<string>): string {
  for (;;) {
    let name = ''
    const parts = 1 + Math.floor(random() * 6)
    for (let i = 0; i < parts; i++) name += PIECES[Math.floor(random() * PIECES.length)]
    // Now and then as long as PostgreSQL allows: 63 bytes.
    if (random() < 0.1) name = (name + 'x'.repeat(63)).slice(0, 63)
    while (Buffer.byteLength(name) > 63) name = name.slice(0, -1)
    if (name !== '' && !taken.has(name)) {
      taken.add(name)
      return name
    }
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

/** One database of `sets` hostile identifier sets: schema, table, columns, rows, an index, keys, a view. */
function hostileDatabase(seed: number, sets: number): string {
  const random = generator(seed)
  const statements: string[] = []
  const schemas = new Set<string>()
  const tables: Array<{ qualified: string; key: string }> = []
  for (let set = 0; set < sets; set++) {
    const schema = hostileName(random, schemas)
    statements.push(`CREATE SCHEMA ${quote(schema)};`)
    const names = new Set<string>()
    const table = `${quote(schema)}.${quote(hostileName(random, names))}`
    const columns = Array.from({ length: 1 + Math.floor(random() * 3) }, () => quote(hostileName(random, names)))
    const key = quote(hostileName(random, names))
    statements.push(`CREATE TABLE ${table} (${key} int PRIMARY KEY, ${columns.map((column) => `${column} text`).join(', ')});`)
    const rows = Math.floor(random() * 40)
    for (let row = 1; row <= rows; row++) {
      const values = columns.map(() => (random() < 0.1 ? 'NULL' : literal(hostileName(random, new Set()))))
      statements.push(`INSERT INTO ${table} VALUES (${row}, ${values.join(', ')});`)
    }
    statements.push(`CREATE INDEX ${quote(hostileName(random, names))} ON ${table} (${columns[0]});`)
    if (random() < 0.5)
      statements.push(`ALTER TABLE ${table} ADD CONSTRAINT ${quote(hostileName(random, names))} UNIQUE (${key}, ${columns[0]});`)
    if (tables.length > 0 && random() < 0.5) {
      const other = tables[Math.floor(random() * tables.length)]
      statements.push(
        `ALTER TABLE ${table} ADD CONSTRAINT ${quote(hostileName(random, names))} FOREIGN KEY (${key}) REFERENCES ${other.qualified} (${other.key}) NOT VALID;`
      )
    }
    if (random() < 0.3) statements.push(`COMMENT ON TABLE ${table} IS ${literal(hostileName(random, new Set()))};`)
    if (random() < 0.3)
      statements.push(`CREATE VIEW ${quote(schema)}.${quote(hostileName(random, names))} AS SELECT ${columns[0]} FROM ${table};`)
    tables.push({ qualified: table, key })
  }
  return statements.join('\n')
}

const DATABASES = 10
const SETS = 25

const { server, work: temp } = useServer('hostile')

describe('hostile identifiers', () => {
  test('the two names from the field report: a column name with a line break, a table named "x FROM stdin;\\n\\."', async () => {
    await server.query('CREATE DATABASE field_report')
    await server.query(
      `CREATE TABLE "we""ird" (a int, "new\nline" text); INSERT INTO "we""ird" SELECT g, 'v' || g FROM generate_series(1, 500) g;
       CREATE TABLE "x FROM stdin;\n\\." (a int PRIMARY KEY); INSERT INTO "x FROM stdin;\n\\." SELECT generate_series(1, 300);
       CREATE INDEX ON "we""ird" ("new\nline");`,
      'field_report'
    )
    const result = await verify('field_report')
    expect(result.error).toBeUndefined()
    expect(result.checks?.find((check) => check.name === 'COPY blocks terminated')?.detail).toBe('2 data block(s), all terminated')
    expect(result.tables?.rows.map((entry) => [entry.table, entry.source, entry.restored])).toEqual([
      ['public."we""ird"', 500, 500],
      ['public."x FROM stdin;\n\\."', 300, 300]
    ])
  })

  test(`${DATABASES * SETS} hostile identifier sets restore in parallel with every row and value, and nothing falls back to one session`, async () => {
    const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 100_000)
    console.info(`hostile identifiers: seed ${seed} (set HOSTILE_SEED to run these again)`)
    for (let database = 0; database < DATABASES; database++) {
      const name = `hostile_${database}`
      await server.query(`CREATE DATABASE ${name}`)
      await server.query(hostileDatabase(seed * 100 + database, SETS), name)
      const reporter = recordingReporter()
      const result = await verify(name, reporter)
      const context = `seed ${seed}, database ${database}`
      expect({ context, error: result.error }).toEqual({ context, error: undefined })
      expect(result.tables?.restored).toHaveLength(SETS)
      const planned = reporter.lines.find((line) => line.startsWith('Restored with 3 psql sessions'))
      expect({ context, planned }).toEqual({
        context,
        planned: expect.stringMatching(/index and key definition\(s\) built as soon as their table was loaded$/)
      })
    }
    expect(await temporaryDatabases(server)).toEqual([])
  }, 300_000)
})

describe('hostile identifiers through the throwaway server', () => {
  test.each(['plain', 'custom', 'directory', 'tar'])(
    '%s: passes, with the definitions compared and the restored rows and fingerprints of a restore on the source server',
    async (format) => {
      const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 100_000)
      const name = `hostile_throwaway_${format}`
      await server.query(`CREATE DATABASE ${name}`)
      await server.query(hostileDatabase(seed * 100 + 99, SETS), name)
      const context = `seed ${seed}, ${format}`
      const through = await verify(name, recordingReporter(), { format, 'restore-server': 'throwaway' })
      expect({ context, error: through.error }).toEqual({ context, error: undefined })
      expect(through.restoreServer?.kind).toBe('throwaway')
      const onSource = await verify(name, recordingReporter(), { format, 'restore-server': 'source' })
      expect({ context, error: onSource.error }).toEqual({ context, error: undefined })
      // Each passed: every restored definition and row matched the source's. The same restored figures on both servers.
      const restored = (result: VerificationResult) => ({
        definitions: result.tables?.definitions.compared,
        rows: result.tables?.rows.map((row) => [row.table, row.restored, row.restoredFingerprint])
      })
      expect({ context, restored: restored(through) }).toEqual({ context, restored: restored(onSource) })
      expect(restored(through).definitions).toBeGreaterThan(SETS)
    },
    120_000
  )
})

function verify(database: string, reporter = recordingReporter(), more: Record<string, string> = {}) {
  const inputs: Record<string, string> = {
    'database-url': server.url(database),
    jobs: '3',
    verify: 'data',
    'min-size': '0',
    timeout: '3',
    ...more
  }
  const settings = settingsFrom(inputs, temp)
  return verifyBackup({ settings, reporter, env: { PATH: process.env.PATH } })
}
