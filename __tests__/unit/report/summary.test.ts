// The job summary and outputs, built from a result value; and the other pure pieces of a run.

import { describe, expect, test } from '@jest/globals'
import { buildSummary } from '../../../src/report/summary.js'
import { renderSummary } from '../../../src/report/summary-html.js'
import { summaryLines } from '../../../src/report/summary-text.js'
import { htmlProblems } from '../../support/html.js'
import { outputsOf } from '../../../src/report/outputs.js'
import type { VerificationResult } from '../../../src/report/result.js'
import { assertNotSource, temporaryDatabaseName } from '../../../src/restore/temporary-database.js'
import { compareInventories, requireSameInventory } from '../../../src/compare/compare.js'
import { OBJECT_KINDS, type Inventory } from '../../../src/compare/inventory.js'
import { DefinitionList } from '../../../src/compare/definition-list.js'

/** An inventory with the given row counts (and fingerprints, at the data level). */
function inventory(rows: Record<string, number>, fingerprints?: Record<string, string>): Inventory {
  return {
    level: fingerprints ? 'data' : 'rows',
    serverVersionNumber: 150018,
    definitions: new DefinitionList(),
    tables: Object.keys(rows),
    objects: Object.fromEntries(OBJECT_KINDS.map((kind) => [kind, 2])) as Inventory['objects'],
    content: Object.entries(rows).map(([table, count]) => ({ table, rows: count, fingerprint: fingerprints?.[table] })),
    sequences: []
  }
}
import { describeConnectionError } from '../../../src/run/errors.js'
import { backupFileName } from '../../../src/create/dump.js'
import { checkFreeSpace } from '../../../src/create/room.js'

const passed: VerificationResult = {
  status: 'passed',
  target: 'app@localhost:5432/shop',
  serverVersion: '16.4',
  client: { version: '16.4', directory: '/usr/lib/postgresql/16/bin', origin: 'found', reason: 'server major 16' },
  phases: [
    { name: 'Create', status: 'passed', durationMs: 1200, detail: 'pg_dump 16.4, plain SQL, 45678 bytes' },
    { name: 'Validate', status: 'passed', durationMs: 3, detail: '8 checks passed' },
    { name: 'Restore', status: 'passed', durationMs: 2500, detail: 'restored' }
  ],
  backup: {
    path: '/tmp/x/shop.sql',
    sizeBytes: 45678,
    sha256: 'ab'.repeat(32),
    format: 'plain',
    compression: 'none',
    jobs: 1,
    streamed: false,
    kept: true
  },
  checks: [{ name: 'Format signature', passed: true, detail: 'plain SQL dump' }],
  tables: compareInventories(inventory({ 'public.a': 10, 'public."<b>"': 5 }), inventory({ 'public.a': 10, 'public."<b>"': 5 })),
  restoreDatabase: { name: 'backup_verify_20261124t000000_abcdef', dropped: true },
  startedAt: '2026-11-24T00:00:00.000Z',
  durationMs: 3800
}

describe('buildSummary', () => {
  test('a pass: verdict, phases, facts with size in bytes and binary units, checksum, tables', () => {
    const model = buildSummary(passed)
    expect(model.verdict).toBe('✅ The backup restores: 2 of 2 tables and all 15 rows came back in a temporary database.')
    expect(model.tables.map((table) => table.heading)).toEqual(['Phases', 'Facts', 'Tables', 'Objects by kind', 'Validation checks'])
    expect(model.tables[2].rows[0]).toEqual(['<code>public.a</code>', '10', '10', '✅'])
    expect(model.tables[0].rows[0]).toEqual(['Create', '✅ passed', '1.20 s', 'pg_dump 16.4, plain SQL, 45678 bytes'])
    const facts = Object.fromEntries(model.tables[1].rows)
    expect(facts['Backup size']).toBe('45678 bytes (44.6 KiB)')
    expect(facts['SHA-256']).toBe(`<code>${'ab'.repeat(32)}</code>`)
    expect(facts['Tables (source / restored)']).toBe('2 / 2')
    // The rows were counted in the source (in the dumped snapshot), not in the dump.
    expect(facts['Rows (source / restored)']).toBe('15 / 15')
    expect(model.tables[2].header).toEqual(['Table', 'Rows in the source', 'Rows restored', 'Match'])
    expect(facts['Server version']).toBe('16.4')
    expect(facts['Client tools']).toBe('16.4, found (server major 16): <code>/usr/lib/postgresql/16/bin</code>')
    expect(facts['Temporary database']).toBe('backup_verify_20261124t000000_abcdef (dropped)')
  })

  test('trust: nothing to say of a dump this run made; an existing backup says what vouched for it and where it went', () => {
    const facts = (result: VerificationResult) => Object.fromEntries(buildSummary(result).tables[1].rows)
    const safety = { trusted: true, trustedBy: 'this run' as const, refused: 0, leftOut: 0, rewritten: 0, untrustedCode: [] }
    expect(facts({ ...passed, safety }).Trust).toBeUndefined()
    const existing = { ...passed, restoreTarget: 'postgres@db:5432/postgres', safety: { ...safety, trusted: false, trustedBy: undefined } }
    expect(facts(existing).Trust).toBe(
      'backup from an untrusted source: restored into backup_verify_20261124t000000_abcdef on postgres@db:5432/postgres, 0 statement(s) refused'
    )
    const vouched = { ...existing, safety: { ...safety, trustedBy: 'expected-checksum' as const, untrustedCode: ['public.f(text) in c'] } }
    expect(facts(vouched).Trust).toContain('vouched for by expected-checksum')
    expect(facts(vouched)["Code for the server's host"]).toBe('public.f(text) in c')
    const refused = { ...existing, status: 'failed' as const, restoreDatabase: undefined, safety: { ...existing.safety, refused: 2 } }
    expect(facts(refused).Trust).toBe(
      'backup from an untrusted source, to be restored into a temporary database on postgres@db:5432/postgres: 2 statement(s) refused, nothing restored'
    )
  })

  test('values from the database are escaped', () => {
    const result = { ...passed, status: 'failed' as const, tables: { ...passed.tables!, missing: ['public."<script>"'] } }
    result.error = { problem: 'restore-mismatch', message: 'missing public."<script>"' }
    const html = JSON.stringify(buildSummary(result))
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;')
  })

  test('a failure names the phase, the message and the hint; later phases show as not run', () => {
    const failed: VerificationResult = {
      ...passed,
      status: 'failed',
      phases: [
        { name: 'Create', status: 'failed', durationMs: 10, detail: 'Connection refused' },
        { name: 'Validate', status: 'not run', durationMs: 0, detail: '' },
        { name: 'Restore', status: 'not run', durationMs: 0, detail: '' }
      ],
      backup: undefined,
      tables: undefined,
      checks: undefined,
      error: {
        problem: 'connection-refused',
        message: 'Connection refused: nothing accepts connections at localhost:5432.',
        hint: 'Is PostgreSQL running?'
      }
    }
    const model = buildSummary(failed)
    expect(model.verdict).toBe('❌ Verification failed in Create: Connection refused: nothing accepts connections at localhost:5432.')
    expect(model.hint).toBe('Is PostgreSQL running?')
    expect(model.tables[0].rows[1]).toEqual(['Validate', '⏭️ not run', '', ''])
    expect(outputsOf(failed)).toMatchObject({ result: 'failed', checksum: '', size: '', skipped: 'false' })
    expect(summaryLines(failed)[0]).toBe('FAILED: Connection refused: nothing accepts connections at localhost:5432.')
  })

  test('long table lists are capped', () => {
    const many = Array.from({ length: 500 }, (_, i) => `public.t${i}`)
    const result = {
      ...passed,
      status: 'failed' as const,
      tables: compareInventories(inventory(Object.fromEntries(many.map((t) => [t, 1]))), inventory({}))
    }
    const facts = Object.fromEntries(buildSummary(result).tables[1].rows)
    expect(facts['Missing after restore']).toMatch(/public\.t49 and 450 more$/)
  })
})

describe('renderSummary', () => {
  const failedIn = (phase: number, error: VerificationResult['error']): VerificationResult => ({
    ...passed,
    status: 'failed',
    phases: passed.phases.map((entry, index) =>
      index < phase
        ? entry
        : index === phase
          ? { ...entry, status: 'failed', detail: '' }
          : { ...entry, status: 'not run', durationMs: 0, detail: '' }
    ),
    tables: phase < 2 ? undefined : passed.tables,
    error
  })
  const states: [string, VerificationResult][] = [
    ['passed', passed],
    [
      'failed before connecting',
      failedIn(0, { problem: 'connection-refused', message: 'Connection refused <at> "x"', hint: 'Is PostgreSQL running?' })
    ],
    ['failed in Validate, no hint', failedIn(1, { problem: 'backup-invalid', message: 'The archive is cut short' })],
    [
      'interrupted during Restore',
      failedIn(2, { problem: 'interrupted', message: 'Interrupted by SIGTERM: the verification was stopped before it finished.' })
    ],
    ['skipped', { status: 'skipped', skippedEngine: 'django.db.backends.sqlite3', phases: [], startedAt: passed.startedAt, durationMs: 1 }],
    ['a value with markup', { ...passed, target: '<script>&"\'</script>' }]
  ]

  test.each(states)('%s: every element is closed, every row as wide as its header', (_, result) => {
    const html = renderSummary(buildSummary(result))
    expect(htmlProblems(html)).toEqual([])
  })

  test('an empty cell is an empty element, not an opening tag alone', () => {
    const html = renderSummary(buildSummary(states[1][1]))
    expect(html).toContain('<tr><td>Validate</td><td>⏭️ not run</td><td></td><td></td></tr>')
  })

  test('the checker itself finds what a broken summary looks like', () => {
    expect(htmlProblems('<table><tr><th>A</th><th>B</th></tr><tr><td>x<td></tr></table>')).not.toEqual([])
    expect(htmlProblems('<table><tr><th>A</th><th>B</th></tr><tr><td>x</td></tr></table>')).toEqual(['a table with rows of 2, 1 cells'])
    expect(htmlProblems('<p>1 < 2</p>')).toEqual(["1 '<' outside a tag"])
  })
})

describe('outputsOf', () => {
  test('every output the action declares, as strings', () => {
    expect(outputsOf(passed)).toEqual({
      result: 'passed',
      skipped: 'false',
      checksum: 'ab'.repeat(32),
      size: '45678',
      'backup-path': '/tmp/x/shop.sql',
      tables: '2',
      'restored-tables': '2',
      rows: '15',
      'verify-level': 'rows',
      'report-path': '',
      'server-version': '16.4',
      'client-version': '16.4',
      'client-source': 'found',
      format: 'plain',
      'duration-ms': '3800',
      duration: '3.8',
      'consecutive-failures': '0',
      'size-change': '',
      'history-path': '',
      'backup-set': '',
      'backup-age': '',
      'restore-duration': ''
    })
  })
})

describe('the restore target', () => {
  test('temporary database names: prefix, timestamp, random part; a plain identifier within 63 bytes', () => {
    const name = temporaryDatabaseName(new Date('2026-11-24T02:03:16.789Z'), '9f3a1c')
    expect(name).toBe('backup_verify_20261124t020316_9f3a1c')
    expect(name).toMatch(/^[a-z_][a-z0-9_]*$/)
    expect(name.length).toBeLessThanOrEqual(63)
    expect(temporaryDatabaseName(new Date())).not.toBe(temporaryDatabaseName(new Date()))
  })

  test('backup file names are safe whatever the database is called', () => {
    const when = new Date('2026-11-24T02:03:16.789Z')
    expect(backupFileName('shop', when)).toBe('shop-20261124T020316Z.sql')
    expect(backupFileName('../My DB/ünï', when)).toBe('__My_DB__n_-20261124T020316Z.sql')
  })

  test('a plan that restores into the source database is refused', () => {
    const source = { host: 'db', port: 5432, database: 'shop' }
    expect(() => assertNotSource(source, { ...source })).toThrow('Refusing to restore into the source database "shop"')
    expect(() => assertNotSource(source, { ...source, database: 'backup_verify_x' })).not.toThrow()
  })

  test('inventory comparison names what is missing and what is extra, and rows that differ', () => {
    const comparison = compareInventories(inventory({ a: 3, b: 1, c: 7 }), inventory({ a: 3, c: 6, d: 0 }))
    expect(comparison).toMatchObject({ missing: ['b'], extra: ['d'], rowMismatches: [{ table: 'c', source: 7, restored: 6 }] })
    expect(comparison.rows).toHaveLength(4)
    expect(() => requireSameInventory(comparison)).toThrow(
      'Restored database has 3 tables, the source has 3: missing b; unexpected d. Row counts differ in 1 table(s): c 7 in the source, 6 restored'
    )
  })

  test('content, definitions and sequences are compared too, each named', () => {
    const source = inventory({ t: 2 }, { t: '111' })
    const restored = inventory({ t: 2 }, { t: '112' })
    source.definitions = DefinitionList.from([
      { kind: 'index', name: 'public.i', table: 'public.t', text: 'CREATE INDEX i ON public.t USING btree (a)' }
    ])
    restored.definitions = DefinitionList.from([
      { kind: 'index', name: 'public.i', table: 'public.t', text: 'CREATE INDEX i ON public.t USING btree (b)' }
    ])
    restored.sequences = [{ sequence: 'public.s', value: '41' }]
    expect(() => requireSameInventory(compareInventories(source, restored, [{ sequence: 'public.s', value: '42' }]))).toThrow(
      'Content differs in 1 table(s) with the same row count: t (fingerprint 111 in the dump, 112 restored). ' +
        'Definitions differ for 1 object(s): index public.i is CREATE INDEX i ON public.t USING btree (a) in the dump, but CREATE INDEX i ON public.t USING btree (b) restored. ' +
        'Sequence values differ: public.s 42 in the dump, 41 restored'
    )
  })

  test('sequence values are numbers: 00042 set by the dump is the restored 42', () => {
    const restored = inventory({ t: 2 })
    restored.sequences = [
      { sequence: 'public.s', value: '42' },
      { sequence: 'public.n', value: 'next 7' }
    ]
    const comparison = compareInventories(inventory({ t: 2 }), restored, [
      { sequence: 'public.s', value: '00042' },
      { sequence: 'public.n', value: 'next 0007' }
    ])
    expect(comparison.sequenceMismatches).toEqual([])
    expect(() => requireSameInventory(comparison)).not.toThrow()
  })

  test("mismatched rows sort first in the summary's table of tables", () => {
    const tables = compareInventories(inventory({ x: 100, y: 2 }), inventory({ x: 100, y: 1 }))
    const model = buildSummary({
      ...passed,
      status: 'failed',
      tables,
      error: { problem: 'restore-mismatch', message: 'Row counts differ' }
    })
    expect(model.tables.find((table) => table.heading === 'Tables')?.rows[0]).toEqual(['<code>y</code>', '2', '1', '❌'])
  })
})

describe('free space before dumping', () => {
  test('fails early, with both numbers, only when the backup clearly cannot fit', () => {
    const GiB = 1024 ** 3
    expect(checkFreeSpace(10 * GiB, 6 * GiB, false, '/tmp/x')).toBeUndefined()
    expect(checkFreeSpace(10 * GiB, 2 * GiB, true, '/tmp/x')).toBeUndefined()
    const error = checkFreeSpace(10 * GiB, 2 * GiB, false, '/tmp/x')
    expect(error?.problem).toBe('no-space')
    expect(error?.message).toBe(
      'Not enough free space for the backup: the database holds 10,737,418,240 bytes (10.0 GiB) of table data, so the backup needs at least 5,368,709,120 bytes (5.00 GiB), but /tmp/x has 2,147,483,648 bytes (2.00 GiB) free.'
    )
    expect(checkFreeSpace(10 * GiB, 0.5 * GiB, true, '/tmp/x')?.problem).toBe('no-space')
  })
})

describe("connection errors in the user's terms", () => {
  const at = { host: 'db', port: 5432, user: 'app', database: 'shop' }
  test.each([
    [{ code: 'ECONNREFUSED' }, 'connection-refused', 'Connection refused: nothing accepts connections at db:5432.'],
    [{ code: 'ENOTFOUND' }, 'host-not-found', 'Host not found: "db" does not resolve.'],
    [
      { code: '28P01', message: 'password authentication failed for user "app"' },
      'authentication-failed',
      'Authentication failed for user "app" at db:5432.'
    ],
    [{ code: '3D000' }, 'database-missing', 'Database "shop" does not exist at db:5432.'],
    [new Error('Connection terminated due to connection timeout'), 'connection-timeout', 'Timed out connecting to db:5432.']
  ])('%j', (error, problem, message) => {
    const described = describeConnectionError(error, at)
    expect(described.problem).toBe(problem)
    expect(described.message).toBe(message)
    expect(described.hint).toBeTruthy()
  })
})
