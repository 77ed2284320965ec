// What the comparison holds a restore to, in every dump format: view options, comments and sequence
// values are part of it; a stored generated column's values are compared with the source's; an
// invalid index, which pg_dump never dumps, is left out and named; an extension's configuration
// table holds what the dump holds plus what CREATE EXTENSION makes; and a table with forced row
// security that the restore role ends up owning is read back whole.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { compareInventories, requireSameInventory } from '../../src/compare/compare.js'
import type { Inventory } from '../../src/compare/inventory.js'
import { DefinitionList } from '../../src/compare/definition-list.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('compare-round')

const FORMATS: Array<[string, Record<string, string>]> = [
  ['plain', { format: 'plain' }],
  ['custom', { format: 'custom' }],
  ['directory', { format: 'directory', jobs: '2' }],
  ['tar', { format: 'tar' }]
]

/** Views with options, comments on every kind of object a user comments on, and a sequence that was used. */
const DESCRIBED = `
CREATE TABLE accounts (id serial PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL DEFAULT 0);
INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, g FROM generate_series(1, 50) g;
CREATE VIEW guarded WITH (security_barrier = true) AS SELECT id, owner FROM accounts WHERE balance > 10;
CREATE VIEW checked AS SELECT id, owner, balance FROM accounts WHERE balance >= 0 WITH LOCAL CHECK OPTION;
CREATE FUNCTION total() RETURNS numeric LANGUAGE sql STABLE AS 'SELECT sum(balance) FROM public.accounts';
CREATE SEQUENCE invoices START 100;
SELECT nextval('invoices') FROM generate_series(1, 7);
COMMENT ON TABLE accounts IS 'Who holds what';
COMMENT ON COLUMN accounts.balance IS 'In cents';
COMMENT ON VIEW guarded IS 'Leaks nothing through functions';
COMMENT ON FUNCTION total() IS 'Everything held';
COMMENT ON INDEX accounts_pkey IS 'One row an account';
COMMENT ON SEQUENCE invoices IS 'Invoice numbers';
`

const RESTORER_PASSWORD = 'restorer-pw'

/** A stored generated column computed by a function of the user's. */
const TAXED = `
CREATE FUNCTION with_tax(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 1.20';
CREATE TABLE prices (id int PRIMARY KEY, net numeric NOT NULL, gross numeric GENERATED ALWAYS AS (with_tax(net)) STORED);
INSERT INTO prices (id, net) SELECT g, g * 10 FROM generate_series(1, 30) g;
`

/** An extension of the test's own whose configuration table it fills itself, and dumps only the user's rows of. */
const EXTENSION = `backup_verify_settings_${process.pid}`
const extensionFiles: string[] = []

/** Written into the server's own extension folder (the one its binaries read), removed after. */
async function installExtension(): Promise<void> {
  const [{ setting }] = await server.query<{ setting: string }>("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
  const folder = path.join(setting, 'extension')
  const control = path.join(folder, `${EXTENSION}.control`)
  const script = path.join(folder, `${EXTENSION}--1.0.sql`)
  extensionFiles.push(control, script)
  await writeFile(control, "comment = 'settings with defaults of its own'\ndefault_version = '1.0'\nrelocatable = true\n")
  await writeFile(
    script,
    'CREATE TABLE extension_settings (name text PRIMARY KEY, value text NOT NULL, standard boolean NOT NULL DEFAULT false);\n' +
      "INSERT INTO extension_settings VALUES ('theme', 'light', true), ('timeout', '30', true);\n" +
      "SELECT pg_catalog.pg_extension_config_dump('extension_settings', 'WHERE NOT standard');\n"
  )
}

async function verify(inputs: Record<string, string>, hooks?: EngineOptions['hooks']) {
  const all: Record<string, string> = { 'min-size': '0', verify: 'data', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger: new MemoryLedger(), hooks, env: { PATH: process.env.PATH } })
  return { result, reporter }
}

beforeAll(async () => {
  await server.query('CREATE DATABASE described')
  await server.query(DESCRIBED, 'described')
  for (const database of ['taxed', 'retaxed']) {
    await server.query(`CREATE DATABASE ${database}`)
    await server.query(TAXED, database)
  }
  // Declared immutable, changed all the same once the rows were stored: they keep the old results.
  await server.query("CREATE OR REPLACE FUNCTION with_tax(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 1.25'", 'retaxed')
  await server.query(`CREATE ROLE restorer LOGIN CREATEDB PASSWORD '${RESTORER_PASSWORD}'`)
  await server.query('CREATE DATABASE tenanted')
  await server.query(
    "CREATE TABLE tenants (id int PRIMARY KEY, name text); INSERT INTO tenants SELECT g, 'tenant ' || g FROM generate_series(1, 410) g; " +
      'ALTER TABLE tenants OWNER TO restorer; ALTER TABLE tenants ENABLE ROW LEVEL SECURITY; ALTER TABLE tenants FORCE ROW LEVEL SECURITY; ' +
      'CREATE POLICY first_ten ON tenants USING (id <= 10)',
    'tenanted'
  )
  await installExtension()
  await server.query('CREATE DATABASE extended')
  await server.query(
    `CREATE EXTENSION ${EXTENSION}; INSERT INTO extension_settings (name, value) VALUES ('colour', 'dark'), ('page size', '50'), ('locale', 'fr')`,
    'extended'
  )
  await server.query('CREATE DATABASE indexed')
  await server.query(
    "CREATE TABLE people (id int, email text); INSERT INTO people SELECT g, 'p' || (g % 40) || '@example.com' FROM generate_series(1, 80) g; " +
      'CREATE INDEX people_id ON people (id)',
    'indexed'
  )
  // Duplicate e-mails: the unique index fails half-built, and stays behind invalid.
  await expect(server.query('CREATE UNIQUE INDEX CONCURRENTLY people_email ON people (email)', 'indexed')).rejects.toThrow(
    /could not create unique index/
  )
}, 120_000)

afterAll(async () => {
  await Promise.all(extensionFiles.map((file) => rm(file, { force: true })))
})

describe('view options, comments and sequence values are compared', () => {
  test.each(FORMATS)('%s: a good restore passes, its comments and view options among the definitions compared', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('described'), ...format })
    expect(result.error).toBeUndefined()
    const compared = result
      .inventory!.definitions.filter((definition) => definition.kind === 'comment')
      .map((definition) => definition.name)
    expect(compared.sort()).toEqual(
      [
        'on table column public.accounts.balance',
        'on function public.total()',
        'on index public.accounts_pkey',
        'on sequence public.invoices',
        'on table public.accounts',
        'on view public.guarded'
      ].sort()
    )
  })

  test.each(FORMATS)('%s: a restore that lost view options and comments fails, naming each', async (_name, format) => {
    const lose = (database: string) =>
      server
        .query(
          'ALTER VIEW guarded RESET (security_barrier); ALTER VIEW checked RESET (check_option); ' +
            'COMMENT ON TABLE accounts IS NULL; COMMENT ON COLUMN accounts.balance IS NULL; COMMENT ON FUNCTION total() IS $$Something else$$',
          database
        )
        .then(() => {})
    const { result } = await verify({ 'database-url': server.url('described'), ...format }, { afterRestore: lose })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('restore-mismatch')
    const differences = result.tables!.definitions.differences.map((difference) => `${difference.kind} ${difference.name}`)
    expect(differences.sort()).toEqual(
      [
        'comment on table column public.accounts.balance',
        'comment on function public.total()',
        'comment on table public.accounts',
        'view public.checked',
        'view public.guarded'
      ].sort()
    )
    expect(result.error?.message).toContain('comment on table public.accounts is missing after the restore (in the dump: Who holds what)')
    expect(result.error?.message).toMatch(/view public\.guarded is .* with \(security_barrier=true\) in the dump, but .* restored/)
    expect(await temporaryDatabases(server)).toEqual([])
  })
})

describe('sequence values are part of what a receipt records and holds a restore to', () => {
  test.each(FORMATS)('%s: the receipt records the value the dump sets for each sequence', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('described'), ...format })
    expect(result.error).toBeUndefined()
    const receipt = JSON.parse(await readFile(result.receiptPath!, 'utf8'))
    expect(receipt.inventory.sequences).toEqual([
      { sequence: 'public.accounts_id_seq', value: '50' },
      { sequence: 'public.invoices', value: '106' }
    ])
  })

  test('a restored sequence whose value differs from the one recorded fails, where the dump sets none', () => {
    const inventory = (sequences: Inventory['sequences']): Inventory => ({
      level: 'rows',
      serverVersionNumber: 150000,
      tables: [],
      objects: {} as Inventory['objects'],
      content: [],
      sequences,
      definitions: new DefinitionList()
    })
    const recorded = { ...inventory([{ sequence: 'public.invoices', value: '106' }]), definitionsHashed: true }
    const same = compareInventories(recorded, inventory([{ sequence: 'public.invoices', value: '106' }]), [], 'receipt')
    expect(() => requireSameInventory(same)).not.toThrow()
    const reset = compareInventories(recorded, inventory([{ sequence: 'public.invoices', value: 'next 100' }]), [], 'receipt')
    expect(() => requireSameInventory(reset)).toThrow('Sequence values differ: public.invoices 106 in the receipt, next 100 restored')
  })
})

describe("a stored generated column's values are compared with the source's", () => {
  test.each(FORMATS)('%s: recomputed the same, the restore passes', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('taxed'), ...format })
    expect(result.error).toBeUndefined()
    expect(result.inventory!.generatedValues).toEqual([
      { table: 'public.prices', column: 'gross', fingerprint: expect.stringMatching(/^sql:\d+$/) }
    ])
    expect(result.tables!.generatedMismatches).toEqual([])
    expect(result.tables!.leftOut).toEqual([])
  })

  test.each(FORMATS)('%s: a function changed since the rows were stored fails, naming the table and column', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('retaxed'), ...format })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('restore-mismatch')
    expect(result.tables!.generatedMismatches.map((entry) => `${entry.table}.${entry.column}`)).toEqual(['public.prices.gross'])
    expect(result.error?.message).toContain("Stored generated column values differ from the source's in 1 column(s): public.prices.gross")
    // The columns the dump holds came back as they were.
    expect(result.tables!.contentMismatches).toEqual([])
  })

  test.each(FORMATS)('%s: an existing backup says its generated columns were computed again, not compared', async (_name, format) => {
    const made = await verify({ 'database-url': server.url('retaxed'), ...format, 'keep-backup': 'true', verify: 'rows' })
    const { result, reporter } = await verify({ 'backup-file': made.result.backup!.path, 'database-url': server.url('postgres') })
    expect(result.error).toBeUndefined()
    const words =
      'stored generated column(s) public.prices.gross: computed again by the restore, not compared (no values of the source to compare them with: a dump holds none)'
    expect(result.tables!.leftOut).toEqual([words])
    expect(reporter.lines).toContain(`Left out of the comparison: ${words}`)
  })
})

describe('a table with forced row security that the restore role owns is read back whole', () => {
  const restorerUrl = () => `postgresql://restorer:${RESTORER_PASSWORD}@127.0.0.1:${server.port}/postgres`

  test.each(FORMATS)(
    '%s: a restore role with CREATEDB only sees all 410 rows, and the forced row security is still compared',
    async (_name, format) => {
      const { result } = await verify({ 'database-url': server.url('tenanted'), 'restore-database-url': restorerUrl(), ...format })
      expect(result.error).toBeUndefined()
      expect(result.tables!.rows.map((entry) => [entry.table, entry.source, entry.restored])).toEqual([['public.tenants', 410, 410]])
      expect(result.tables!.rows[0].restoredFingerprint).toBe(result.tables!.rows[0].sourceFingerprint)
      expect(
        result.inventory!.definitions.find((definition) => definition.name === 'public.tenants' && definition.kind === 'table')?.text
      ).toBe('table, row security enabled, row security forced')
      expect(await temporaryDatabases(server)).toEqual([])
    }
  )

  test.each(FORMATS)('%s: at verify: rows, every row is counted', async (_name, format) => {
    const { result } = await verify({
      'database-url': server.url('tenanted'),
      'restore-database-url': restorerUrl(),
      ...format,
      verify: 'rows'
    })
    expect(result.error).toBeUndefined()
    expect(result.tables!.rows.map((entry) => [entry.table, entry.source, entry.restored])).toEqual([['public.tenants', 410, 410]])
  })

  test('a restore that lost the forced row security still fails', async () => {
    const { result } = await verify(
      { 'database-url': server.url('tenanted'), 'restore-database-url': restorerUrl() },
      { afterRestore: (database) => server.query('ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY', database).then(() => {}) }
    )
    expect(result.status).toBe('failed')
    expect(result.error?.message).toContain(
      'table public.tenants is table, row security enabled, row security forced in the dump, but table, row security enabled restored'
    )
  })
})

describe("an extension's configuration table holds what the dump holds plus what CREATE EXTENSION makes", () => {
  test.each(FORMATS)('%s: the restore passes, the dumped rows compared row by row', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('extended'), ...format, 'keep-backup': 'true' })
    expect(result.error).toBeUndefined()
    const [entry] = result.tables!.rows
    expect([entry.table, entry.source, entry.restored]).toEqual(['public.extension_settings', 5, 5])
    expect(entry.restoredFingerprint).toBe(entry.sourceFingerprint)
    // The same backup verified on its own: its three rows, and the two the extension makes.
    const existing = await verify({ 'backup-file': result.backup!.path, 'database-url': server.url('postgres') })
    expect(existing.result.error).toBeUndefined()
    const [again] = existing.result.tables!.rows
    expect([again.table, again.source, again.restored]).toEqual(['public.extension_settings', 5, 5])
    expect(again.restoredFingerprint).toBe(entry.sourceFingerprint)
  })

  test.each(FORMATS)('%s: a restore that lost a row of the dump fails', async (_name, format) => {
    const lose = (database: string) =>
      server.query("UPDATE extension_settings SET value = 'light' WHERE name = 'colour'", database).then(() => {})
    const { result } = await verify({ 'database-url': server.url('extended'), ...format }, { afterRestore: lose })
    expect(result.status).toBe('failed')
    expect(result.tables!.contentMismatches.map((entry) => entry.table)).toEqual(['public.extension_settings'])
  })
})

describe('an invalid index is left out: pg_dump never dumps it', () => {
  test.each(FORMATS)('%s: the restore passes, and the index left out is named', async (_name, format) => {
    const { result, reporter } = await verify({ 'database-url': server.url('indexed'), ...format })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.tables!.leftOut).toEqual([
      'index public.people_email: invalid in the source (a CREATE INDEX CONCURRENTLY that failed), which pg_dump never dumps'
    ])
    expect(reporter.lines.join('\n')).toContain('Left out of the comparison: index public.people_email')
    expect(result.tables!.objects.find((entry) => entry.kind === 'indexes')).toEqual({ kind: 'indexes', source: 1, restored: 1 })
  })
})
