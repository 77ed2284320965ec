// A verdict to trust: databases with their own settings, column orders and sequence spellings
// pass (no false alarm); a changed index, default, view, large object or receipt fails, naming
// the object (no false pass).

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { loadSettings } from '../../src/inputs/inputs.js'
import { settingsFrom } from '../support/verify.js'
import { readReferences } from '../../src/engine/references.js'
import { backupChecksum } from '../../src/backup/archive/manifest.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('verdict')

async function verify(inputs: Record<string, string>, hooks?: EngineOptions['hooks']) {
  const settings = settingsFrom(inputs, work)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, hooks, env: { PATH: process.env.PATH } })
  return { result, reporter, ledger }
}

async function pgDump(database: string, file: string, format = 'plain'): Promise<void> {
  const tools = (await findClientTools())[0]
  execFileSync(tools.pgDump, [`--format=${format}`, `--file=${file}`, database], {
    env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
  })
}

describe('no false alarm', () => {
  test.each([
    [
      'timezone',
      "ALTER DATABASE {db} SET timezone = 'Asia/Kolkata'",
      "CREATE TABLE t (at timestamptz); INSERT INTO t SELECT now() - g * interval '37 minutes' FROM generate_series(1, 500) g"
    ],
    [
      'datestyle',
      "ALTER DATABASE {db} SET datestyle = 'SQL, DMY'",
      "CREATE TABLE t (d date, ts timestamp); INSERT INTO t SELECT date '2024-01-31' + g, timestamp '2024-02-29 13:45:00' + g * interval '1 hour' FROM generate_series(1, 500) g"
    ],
    [
      'intervalstyle',
      "ALTER DATABASE {db} SET intervalstyle = 'sql_standard'",
      "CREATE TABLE t (i interval); INSERT INTO t SELECT g * interval '1 day 3 hours 4 minutes' FROM generate_series(1, 500) g"
    ],
    [
      'extra_float_digits',
      'ALTER DATABASE {db} SET extra_float_digits = -3',
      'CREATE TABLE t (f float8, r real); INSERT INTO t SELECT g / 7.0, g / 3.0 FROM generate_series(1, 500) g'
    ],
    [
      'bytea_output',
      "ALTER DATABASE {db} SET bytea_output = 'escape'",
      "CREATE TABLE t (b bytea); INSERT INTO t SELECT decode(md5(g::text), 'hex') FROM generate_series(1, 500) g"
    ]
  ])('a database with its own %s passes verify: data in every format', async (setting, alter, schema) => {
    const db = `settings_${setting}`
    await server.query(`CREATE DATABASE ${db}`)
    await server.query(alter.replace('{db}', db))
    await server.query(schema, db)
    for (const format of ['plain', 'custom']) {
      const { result } = await verify({ 'database-url': server.url(db), verify: 'data', format, 'min-size': '0' })
      expect({ setting, format, error: result.error }).toEqual({ setting, format, error: undefined })
      expect(result.tables?.contentMismatches).toEqual([])
    }
  })

  test("timeouts of the database's (5 ms) and the role's: every format passes, the engine's sessions and the tools' set them to 0", async () => {
    await server.query('CREATE DATABASE impatient')
    await server.query(
      `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 150000) g;
       CREATE INDEX ON t (v);`,
      'impatient'
    )
    for (const setting of ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'])
      await server.query(`ALTER DATABASE impatient SET ${setting} = '5ms'`)
    // The role's reaches the temporary database too, where sessions wait idle for their turn.
    await server.query("ALTER DATABASE impatient SET idle_session_timeout = '300ms'")
    await server.query("ALTER ROLE postgres SET idle_session_timeout = '300ms'")
    try {
      for (const format of ['plain', 'custom']) {
        const { result } = await verify({ 'database-url': server.url('impatient'), format, jobs: '3', 'min-size': '0' })
        expect({ format, error: result.error }).toEqual({ format, error: undefined })
        expect(result.tables?.level).toBe('data')
      }
    } finally {
      await server.query('ALTER ROLE postgres RESET idle_session_timeout')
    }
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a database whose transactions are read-only by default passes in every format; the temporary database is made and dropped', async () => {
    await server.query('CREATE DATABASE reporting')
    await server.query(
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g',
      'reporting'
    )
    await server.query('ALTER DATABASE reporting SET default_transaction_read_only = on')
    for (const format of ['plain', 'custom']) {
      const { result } = await verify({ 'database-url': server.url('reporting'), format, 'min-size': '0' })
      expect({ format, error: result.error }).toEqual({ format, error: undefined })
    }
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a child table whose columns come back in another order (a column added to its parent later) passes verify: data', async () => {
    await server.query('CREATE DATABASE inheritance')
    await server.query(
      `CREATE TABLE parent (a int);
       CREATE TABLE child (c text) INHERITS (parent);
       ALTER TABLE parent ADD COLUMN b int;
       INSERT INTO child (a, b, c) SELECT g, g * 2, 'c' || g FROM generate_series(1, 300) g;
       INSERT INTO parent (a, b) VALUES (1, 1);`,
      'inheritance'
    )
    const { result } = await verify({ 'database-url': server.url('inheritance'), verify: 'data', 'min-size': '0' })
    expect(result.error).toBeUndefined()
  })

  test('a sequence value the dump spells 00004 is the restored 4', async () => {
    await server.query('CREATE DATABASE spelled')
    await server.query("CREATE SEQUENCE s; SELECT setval('s', 4); CREATE TABLE t (id int); INSERT INTO t VALUES (1)", 'spelled')
    const file = path.join(work, 'spelled.sql')
    await pgDump('spelled', file)
    const text = await readFile(file, 'utf8')
    expect(text).toContain("SELECT pg_catalog.setval('public.s', 4, true);")
    await writeFile(
      file,
      text.replace("SELECT pg_catalog.setval('public.s', 4, true);", "SELECT pg_catalog.setval('public.s', 00004, true);")
    )
    const { result } = await verify({ 'backup-file': file, 'restore-database-url': server.url('postgres'), 'min-size': '0' })
    expect(result.error).toBeUndefined()
    expect(result.tables?.sequenceMismatches).toEqual([])
  })
})

describe('no false pass', () => {
  beforeAll(async () => {
    await server.query('CREATE DATABASE shop')
    await server.query(
      `CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(8, 2) DEFAULT 4.99, stock int);
       INSERT INTO products SELECT g, 'p' || g, g / 10.0, g % 7 FROM generate_series(1, 1000) g;
       CREATE INDEX products_name ON products (name);
       CREATE VIEW cheap AS SELECT id, name FROM products WHERE price < 5;`,
      'shop'
    )
  })

  test.each([
    [
      'an index that covers another column',
      'DROP INDEX products_name; CREATE INDEX products_name ON products (stock)',
      /index public\.products_name is CREATE INDEX products_name ON public\.products USING btree \(name\) in the dump, but CREATE INDEX products_name ON public\.products USING btree \(stock\) restored/
    ],
    [
      'a column default changed from 4.99 to 0.01',
      'ALTER TABLE products ALTER COLUMN price SET DEFAULT 0.01',
      /column public\.products\.price is numeric\(8,2\) default 4\.99 in the dump, but numeric\(8,2\) default 0\.01 restored/
    ],
    [
      'a view whose predicate changed',
      'CREATE OR REPLACE VIEW cheap AS SELECT id, name FROM products WHERE price < 500',
      /view public\.cheap is SELECT .*\(products\.price < \(5\)::numeric\).* in the dump, but SELECT .*\(products\.price < \(500\)::numeric\).* restored/
    ]
  ])('%s fails at every level, naming the object and both definitions', async (_what, tamper, message) => {
    for (const level of ['schema', 'rows', 'data']) {
      const { result } = await verify(
        { 'database-url': server.url('shop'), verify: level },
        { afterRestore: (database) => server.query(tamper, database).then(() => {}) }
      )
      expect({ level, status: result.status }).toEqual({ level, status: 'failed' })
      expect(result.error?.problem).toBe('restore-mismatch')
      expect(result.error?.message).toMatch(message)
    }
  })

  test('with a receipt: the same change in a restore of the backup the receipt describes fails, naming the object', async () => {
    const made = await verify({ 'database-url': server.url('shop'), format: 'custom', 'keep-backup': 'true', verify: 'data' })
    expect(made.result.error).toBeUndefined()
    const receipt = made.result.receiptPath as string
    const hooks = {
      afterRestore: (database: string) => server.query('ALTER TABLE products ALTER COLUMN price SET DEFAULT 0.01', database).then(() => {})
    }
    const { result } = await verify(
      { 'backup-file': made.result.backup!.path, 'restore-database-url': server.url('postgres'), receipt, verify: 'data' },
      hooks
    )
    expect(result.status).toBe('failed')
    expect(result.error?.message).toBe(
      "Definitions differ for 1 object(s): column public.products.price differs from the receipt's (restored: numeric(8,2) default 0.01)"
    )
    expect(result.tables?.reference).toBe('receipt')
  })

  test('a directory backup whose large object lost its bytes fails, in a restore compared with the receipt of its own backup', async () => {
    await server.query('CREATE DATABASE blobs')
    await server.query(
      "CREATE TABLE doc (id int, body oid); INSERT INTO doc SELECT 1, lo_from_bytea(0, convert_to(repeat('x', 12000), 'UTF8'))",
      'blobs'
    )
    const made = await verify({
      'database-url': server.url('blobs'),
      format: 'directory',
      compression: '0',
      'keep-backup': 'true',
      verify: 'data',
      'min-size': '0'
    })
    expect(made.result.error).toBeUndefined()
    const folder = made.result.backup!.path
    for (const damage of ['data', 'toc'] as const) {
      const copy = path.join(work, `blobs-${damage}.dir`)
      execFileSync('cp', ['-r', folder, copy])
      const names = await readdir(copy)
      const target =
        damage === 'data' ? names.find((name) => /^blob_\d+\.dat/.test(name)) : names.find((name) => /^blobs(_\d+)?\.toc$/.test(name))
      expect(target).toBeDefined()
      await writeFile(path.join(copy, target as string), '')
      // The damage was there when the receipt was written: it describes this backup.
      const receipt = JSON.parse(await readFile(made.result.receiptPath as string, 'utf8'))
      receipt.backup.sha256 = await backupChecksum(copy, 'directory')
      const receiptFile = path.join(work, `blobs-${damage}-receipt.json`)
      await writeFile(receiptFile, JSON.stringify(receipt))
      const { result } = await verify({
        'backup-file': copy,
        'restore-database-url': server.url('postgres'),
        receipt: receiptFile,
        verify: 'data',
        'min-size': '0'
      })
      if (damage === 'toc') {
        // Emptied, blobs.toc names no large object file: the files left are another dump's, refused in Validate.
        expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
        expect(result.error?.message).toMatch(/Data files: data file\(s\) no entry of toc\.dat names: blob_\d+\.dat/)
        continue
      }
      expect({ damage, phases: result.phases.map((phase) => phase.status) }).toEqual({ damage, phases: ['not run', 'passed', 'failed'] })
      expect(result.error?.message).toMatch(
        /^Definitions differ for 2 object\(s\): large object \d+ differs from the receipt's \(restored: 0 bytes\); large object data \d+ differs/
      )
    }
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a receipt made at verify: rows cannot support verify: data: refused before anything runs', async () => {
    const made = await verify({ 'database-url': server.url('shop'), format: 'custom', 'keep-backup': 'true', verify: 'rows' })
    await expect(
      readReferences(
        loadSettings({
          get: (name) =>
            ({
              'backup-file': made.result.backup!.path,
              'restore-database-url': server.url('postgres'),
              receipt: made.result.receiptPath as string,
              verify: 'data'
            })[name] ?? '',
          environment: {},
          workingDirectory: work
        })
      )
    ).rejects.toThrow(
      'Input "verify" has an invalid value "data": expected a level the receipt can support: it was made at verify: rows, so it holds no content fingerprints. Use verify: rows, or make the receipt with verify: data.'
    )
    // Without a verify input, the default (data) comes down to the level the receipt was made at, and says so.
    const { result, reporter } = await verify({
      'backup-file': made.result.backup!.path,
      'restore-database-url': server.url('postgres'),
      receipt: made.result.receiptPath as string
    })
    expect(result.error).toBeUndefined()
    expect(result.tables?.level).toBe('rows')
    expect(reporter.lines).toContain(
      'Verify level: rows, the level the receipt was made at (without a verify input, the default data is lowered to what the receipt can support)'
    )
  })
})
