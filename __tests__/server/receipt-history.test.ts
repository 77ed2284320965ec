// Against a real server: a backup held to the receipt of another, older backup (rows added and
// values changed pass, named; rows lost beyond max-shrink, a changed function or constraint fail);
// sizes compared between backups written alike only; and a history whose path could not be
// written refused before anything connects, never hanging the run, written through its symlink.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { checkHistoryWritable, parseHistory } from '../../src/records/history.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { bindReceipt } from '../../src/records/receipt-binding.js'
import type { Receipt } from '../../src/records/receipt.js'
import type { SinceReceipt } from '../../src/report/result.js'
import { describeSinceReceipt } from '../../src/report/since-receipt.js'
import { findClientTools } from '../../src/tools/locate.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('receipt-history')

/** A small shop: orders that grow, a lookup that should not change, a function and a constraint. */
const SCHEMA = `
  CREATE TABLE statuses (code text PRIMARY KEY, label text NOT NULL);
  INSERT INTO statuses VALUES ('new', 'New'), ('paid', 'Paid'), ('sent', 'Sent'), ('done', 'Done'), ('void', 'Void');
  CREATE TABLE orders (id int PRIMARY KEY, status text REFERENCES statuses, total numeric CONSTRAINT total_positive CHECK (total > 0));
  INSERT INTO orders SELECT g, 'new', g * 1.5 FROM generate_series(1, 100) g;
  CREATE TABLE events (id int PRIMARY KEY, note text);
  INSERT INTO events SELECT g, repeat('event ' || g, 5) FROM generate_series(1, 1000) g;
  CREATE FUNCTION order_tax(total numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT total * 0.2';
`

beforeAll(async () => {
  await server.query('CREATE DATABASE yesterday')
  await server.query(SCHEMA, 'yesterday')
})

async function verify(inputs: Record<string, string>) {
  const all: Record<string, string> = { 'min-size': '0', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger: new MemoryLedger(), env: { PATH: process.env.PATH } })
  return { result, reporter }
}

/** Today's database: yesterday's copied, then changed by `change`; dumped by pg_dump in `format`. */
async function today(name: string, change: string, format = 'custom'): Promise<string> {
  await server.query(`CREATE DATABASE ${name} TEMPLATE yesterday`)
  await server.query(change, name)
  const tools = (await findClientTools())[0]
  const file = path.join(work, `${name}.${format === 'plain' ? 'sql' : format}`)
  execFileSync(tools.pgDump, [`--format=${format}`, `--file=${file}`], {
    env: {
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'postgres',
      PGPASSWORD: server.password,
      PGDATABASE: name
    }
  })
  return file
}

describe("a backup against another backup's receipt (max-shrink)", () => {
  let receipt: string

  beforeAll(async () => {
    const made = await verify({ 'database-url': server.url('yesterday'), verify: 'data', format: 'custom' })
    expect(made.result.error).toBeUndefined()
    receipt = made.result.receiptPath as string
  })

  const existing = (file: string, extra: Record<string, string> = {}) =>
    verify({ 'backup-file': file, 'restore-database-url': server.url('postgres'), receipt, 'max-shrink': '10', verify: 'data', ...extra })

  test('a good newer backup passes: rows added, a table added; every table named, compared or not', async () => {
    const file = await today(
      'good_today',
      "INSERT INTO orders SELECT g, 'paid', g FROM generate_series(101, 130) g; CREATE TABLE coupons (code text); INSERT INTO coupons VALUES ('x')"
    )
    const { result, reporter } = await existing(file)
    expect(result.error).toBeUndefined()
    const since = result.sinceReceipt!
    expect(since.identical.sort()).toEqual(['public.events', 'public.statuses'])
    expect(since.changed).toEqual([{ table: 'public.orders', rowsThen: 100, rowsNow: 130 }])
    expect(since.added).toEqual(['public.coupons'])
    expect(since.problems).toEqual([])
    expect(since.definitions.differ).toEqual([])
    expect(since.definitions.compared).toBeGreaterThan(10)
    expect(result.checks?.find((check) => check.name === 'Receipt')?.detail).toMatch(/compared as an older backup once restored/)
    const html = renderSummary(buildSummary(result))
    expect(html).toContain(
      '3 table(s) compared by fingerprint; the same in 2: public.events; public.statuses; changed in 1: public.orders (100 rows then, 130 now)'
    )
    expect(html).toContain('Tables added since')
    expect(reporter.lines.join('\n')).toContain('none differs; none is gone')
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a changed value in a table that should be identical is named, with its rows the same', async () => {
    const file = await today('relabelled_today', "UPDATE statuses SET label = 'Cancelled' WHERE code = 'void'")
    const { result } = await existing(file)
    expect(result.error).toBeUndefined()
    expect(result.sinceReceipt?.changed).toEqual([{ table: 'public.statuses', rowsThen: 5, rowsNow: 5 }])
    expect(renderSummary(buildSummary(result))).toContain('changed in 1: public.statuses (same 5 rows)')
  })

  test('rows lost beyond max-shrink in one table fail, though the backup and its total rows grew', async () => {
    const file = await today(
      'purged_today',
      "DELETE FROM orders WHERE id > 40; INSERT INTO events SELECT g, repeat('event ' || g, 5) FROM generate_series(1001, 1200) g"
    )
    const { result } = await existing(file)
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('receipt-mismatch')
    expect(result.error?.message).toContain(
      '1 table(s) lost more than max-shrink (10%) of their rows: public.orders 100 rows then, 40 now (-60.0%)'
    )
    expect(result.error?.hint).toMatch(/may not lose a table or an object, change a definition/)
    // Within the threshold the same backup passes.
    expect((await existing(file, { 'max-shrink': '70' })).result.error).toBeUndefined()
  })

  test('a changed function body and a changed constraint fail, named', async () => {
    const file = await today(
      'altered_today',
      'CREATE OR REPLACE FUNCTION order_tax(total numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$SELECT total * 0$$; ' +
        'ALTER TABLE orders DROP CONSTRAINT total_positive; ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0)'
    )
    const { result } = await existing(file)
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(/^Since the receipt of another backup: 2 definition\(s\) differ from the receipt's: /)
    expect(result.error?.message).toContain('function public.order_tax(numeric)')
    expect(result.error?.message).toContain('constraint public.orders.total_positive')
  })

  test('a table gone fails; a new backup made against the receipt is held to it the same way (plain format)', async () => {
    const gone = await today('dropped_today', 'DROP TABLE events', 'plain')
    const dropped = await existing(gone)
    expect(dropped.result.status).toBe('failed')
    expect(dropped.result.error?.message).toContain("1 table(s) of the receipt's backup are not in this one: public.events")
    await server.query(`CREATE DATABASE fresh_today TEMPLATE yesterday`)
    await server.query(
      'CREATE OR REPLACE FUNCTION order_tax(total numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$SELECT 1.0$$',
      'fresh_today'
    )
    const fresh = await verify({ 'database-url': server.url('fresh_today'), format: 'plain', receipt, 'max-shrink': '10', verify: 'data' })
    expect(fresh.result.status).toBe('failed')
    expect(fresh.result.error?.message).toContain("1 definition(s) differ from the receipt's: function public.order_tax(numeric)")
  })

  test('a physical backup is compared with its own receipt only: another one is refused, max-shrink or not', () => {
    const other = { startedAt: '2026-01-01T00:00:00.000Z', backup: { sha256: 'a'.repeat(64) }, inventory: { level: 'data' } } as Receipt
    const binding = bindReceipt(other, 10, 'b'.repeat(64), undefined, 'physical')
    expect(binding?.error?.message).toMatch(/A physical backup is compared only with the receipt written for it\.$/)
    expect(bindReceipt(other, 10, 'b'.repeat(64))?.error).toBeUndefined()
  })
})

describe('max-shrink between backups written otherwise', () => {
  test('the same rows in a smaller format or compression: size not compared, rows are (history and receipt)', async () => {
    const plain = await verify({ 'database-url': server.url('yesterday'), format: 'plain', history: 'formats.jsonl', verify: 'rows' })
    expect(plain.result.error).toBeUndefined()
    const custom = await verify({
      'database-url': server.url('yesterday'),
      format: 'custom',
      compression: '9',
      history: 'formats.jsonl',
      receipt: plain.result.receiptPath as string,
      'max-shrink': '10',
      verify: 'rows'
    })
    // Far smaller a file, and not one row fewer.
    expect(custom.result.backup!.sizeBytes).toBeLessThan(plain.result.backup!.sizeBytes * 0.5)
    expect(custom.result.error).toBeUndefined()
    expect(custom.result.alerts).toBeUndefined()
    expect(custom.result.history?.trend.sinceLastPass?.sizeNotCompared).toMatch(
      /^the backup was written otherwise \(plain, compression .* then, custom, compression .* now\)$/
    )
    expect(custom.result.history?.trend.sinceLastPass?.rows?.delta).toBe(0)
    expect(renderSummary(buildSummary(custom.result))).toContain('Backup size not compared: the backup was written otherwise')
    const records = parseHistory(await readFile(path.join(work, 'formats.jsonl'), 'utf8'), {
      path: 'formats.jsonl',
      given: 'formats.jsonl'
    })
    expect(records.map((record) => [record.format, typeof record.compression])).toEqual([
      ['plain', 'string'],
      ['custom', 'string']
    ])
    // Rows are compared whatever the format: a third run with rows gone raises the alert.
    await server.query('CREATE DATABASE fewer TEMPLATE yesterday')
    await server.query('DELETE FROM events WHERE id > 300', 'fewer')
    const fewer = await verify({
      'database-url': server.url('fewer'),
      format: 'plain',
      history: 'formats.jsonl',
      'max-shrink': '10',
      verify: 'rows'
    })
    expect(fewer.result.status).toBe('failed')
    expect(fewer.result.alerts?.map((alert) => alert.message)).toEqual([expect.stringMatching(/^The number of rows shrank by /)])
  })
})

describe('a history path', () => {
  const rowsRun = (history: string) => verify({ 'database-url': server.url('yesterday'), format: 'custom', history, verify: 'rows' })

  test('under /proc: refused before anything connects, in bounded time, naming the input and the value', async () => {
    const started = Date.now()
    const { result } = await rowsRun('/proc/backup-verify/history.jsonl')
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(
      /^Input "history" has an invalid value "\/proc\/backup-verify\/history\.jsonl": .*in a folder this run can write to; .* is under \/proc, the kernel's/
    )
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'not run', 'not run'])
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 60_000)

  test('a folder that cannot be created is found before connecting, not after the verification', async () => {
    const { result } = await rowsRun('/sys/backup-verify-history/history.jsonl')
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(/^Input "history" has an invalid value "\/sys\/backup-verify-history\/history\.jsonl"/)
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'not run', 'not run'])
    // Under a regular file: no folder can be made there.
    await writeFile(path.join(work, 'a-file'), 'not a folder')
    await expect(
      checkHistoryWritable({ path: path.join(work, 'a-file', 'deeper', 'history.jsonl'), given: 'a-file/deeper/history.jsonl' })
    ).rejects.toThrow(/^Input "history" has an invalid value "a-file\/deeper\/history\.jsonl": .*\/a-file is not a folder\.$/)
    // A folder that does not exist yet is created, one level at a time.
    await checkHistoryWritable({ path: path.join(work, 'new', 'folders', 'history.jsonl'), given: 'new/folders/history.jsonl' })
    expect((await lstat(path.join(work, 'new', 'folders'))).isDirectory()).toBe(true)
  })

  test('a symbolic link is written through: the link stays, its target gets every record', async () => {
    await mkdir(path.join(work, 'kept'))
    await symlink(path.join('kept', 'history.jsonl'), path.join(work, 'linked.jsonl'))
    expect((await rowsRun('linked.jsonl')).result.error).toBeUndefined()
    expect((await rowsRun('linked.jsonl')).result.error).toBeUndefined()
    expect((await lstat(path.join(work, 'linked.jsonl'))).isSymbolicLink()).toBe(true)
    expect(await readlink(path.join(work, 'linked.jsonl'))).toBe(path.join('kept', 'history.jsonl'))
    const target = await readFile(path.join(work, 'kept', 'history.jsonl'), 'utf8')
    expect(parseHistory(target, { path: 'kept/history.jsonl', given: 'kept/history.jsonl' })).toHaveLength(2)
  })
})

test("at verify: schema, the summary against another backup's receipt says no table was held to max-shrink", () => {
  const since: SinceReceipt = {
    receipt: { startedAt: '2026-12-01T00:00:00.000Z', sha256: 'a'.repeat(64) },
    maxShrinkPercent: 10,
    identical: [],
    changed: [],
    notCompared: [],
    added: [],
    missing: [],
    shrank: [],
    rowsCounted: false,
    definitions: { compared: 3, by: 'hash', differ: [], gone: [], added: 0 },
    totals: [],
    problems: []
  }
  const rows = (counted: boolean) => new Map(describeSinceReceipt({ ...since, rowsCounted: counted })).get('Rows since the receipt')
  expect(rows(false)).toBe('none is gone; rows not counted (verify: schema), so no table was held to max-shrink')
  expect(rows(true)).toBe('no table lost more than max-shrink (10%) of its rows, none is gone')
})
