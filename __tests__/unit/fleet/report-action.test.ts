// The report action's bundle (dist/report/index.js) run as the runner runs it, over receipts written
// by the receipt writer itself: hundreds of them of every kind, a damaged one, one of a newer schema,
// expected names without a receipt, max-age, histories; and its inputs refused before anything is read.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import os from 'node:os'
import path from 'node:path'
import { buildReceipt, writeReceipt } from '../../../src/records/receipt.js'
import type { HistoryRecord } from '../../../src/records/history.js'
import type { PhaseName, VerificationResult } from '../../../src/report/result.js'
import type { FleetReport } from '../../../src/fleet/report.js'
import { annotations, ROOT, runBundle } from '../../support/runner.js'

const BUNDLE = 'dist/report/index.js'
let work: string

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-fleet-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

const PHASES: PhaseName[] = ['Create', 'Validate', 'Restore']
const FAILURES: Array<{ phase: PhaseName; problem: string; message: string }> = [
  { phase: 'Create', problem: 'dump-failed', message: 'pg_dump failed: permission denied for table secrets' },
  { phase: 'Validate', problem: 'backup-too-small', message: 'The backup is 2.1 KiB, under min-size (1 GiB)' },
  { phase: 'Restore', problem: 'restore-mismatch', message: 'Table public.orders has 9 rows restored, 10 in the dump' }
]

/** The result of one verification of database number `index`: passed, failed at a phase, or skipped, by its number. */
function resultOf(index: number, startedAt: string): VerificationResult {
  const name = `db-${String(index).padStart(3, '0')}`
  const kind = index % 10
  if (kind === 9) return { status: 'skipped', name, method: 'logical', phases: phasesOf(), startedAt, durationMs: 40 }
  const physical = kind === 7 || kind === 8
  const failure = kind < 3 ? FAILURES[kind] : undefined
  return {
    status: failure ? 'failed' : 'passed',
    name,
    method: kind === 7 ? 'physical' : kind === 8 ? 'pgbackrest' : 'logical',
    phases: phasesOf(failure?.phase),
    startedAt,
    durationMs: 1000 + index,
    backup: {
      path: `/backups/${name}`,
      sizeBytes: 10_000 + index * 100,
      sha256: 'a'.repeat(64),
      format: physical ? 'physical' : (['custom', 'plain', 'directory', 'tar'] as const)[index % 4],
      compression: 'none',
      jobs: 1,
      streamed: false,
      kept: false
    },
    evidence: { restoreMs: 500 + index, ageSeconds: 60 + index },
    ...(failure ? { error: { problem: failure.problem as 'dump-failed', message: failure.message } } : {})
  }
}

function phasesOf(failed?: PhaseName): VerificationResult['phases'] {
  const at = failed ? PHASES.indexOf(failed) : failed === undefined ? PHASES.length : -1
  return PHASES.map((name, index) => ({
    name,
    status: index < at ? 'passed' : index === at ? 'failed' : failed ? 'not run' : 'passed',
    durationMs: 10,
    detail: ''
  }))
}

describe('over 300 receipts of every kind', () => {
  let folder: string
  const startedAt = new Date(Date.now() - 3_600_000).toISOString()

  beforeAll(async () => {
    folder = path.join(work, 'three-hundred')
    // As download-artifact leaves them without merge-multiple: a folder per artifact.
    for (let index = 0; index < 298; index++) {
      const artifact = path.join(folder, `receipt-${index}`)
      await mkdir(artifact, { recursive: true })
      await writeReceipt(artifact, buildReceipt(resultOf(index, startedAt)))
    }
    // One from a newer backup-verify: fields this report does not know, the ones it does kept.
    const newer = { ...buildReceipt(resultOf(298, startedAt)), schemaVersion: 5, attestation: { signed: true } }
    await writeFile(path.join(folder, 'newer.json'), JSON.stringify(newer))
    // One cut short, as an interrupted upload leaves it.
    const whole = JSON.stringify(buildReceipt(resultOf(299, startedAt)), null, 2)
    await writeFile(path.join(folder, 'damaged.json'), whole.slice(0, whole.length / 2))
  })

  test('the receipts, physical and repository ones among them, are what receipt.schema.json describes', async () => {
    const validate = new Ajv({ allErrors: true, strict: false, logger: false }).compile(
      JSON.parse(readFileSync(path.join(ROOT, 'receipt.schema.json'), 'utf8'))
    )
    const files = (await readdir(folder, { recursive: true })).filter((name) => /receipt-\d+\/.*\.json$/.test(name))
    expect(files).toHaveLength(298)
    for (const file of files) {
      const receipt = JSON.parse(await readFile(path.join(folder, file), 'utf8'))
      expect({ file, valid: validate(receipt), errors: validate.errors ?? null }).toEqual({ file, valid: true, errors: null })
    }
  })

  test('every receipt is a row, the damaged file is named and counted as missing, the counts are the outputs; under 2 s', async () => {
    const reportFolder = path.join(work, 'report-300')
    await mkdir(reportFolder)
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder }, env: { RUNNER_TEMP: reportFolder } })
    expect(run.stderr).toBe('')
    expect(run.elapsedMs).toBeLessThan(2000)
    // 299 readable: of 0..298, kinds 0-2 failed, 9 skipped, the rest passed.
    const kinds = Array.from({ length: 299 }, (_, index) => index % 10)
    const failed = kinds.filter((kind) => kind < 3).length
    const skipped = kinds.filter((kind) => kind === 9).length
    expect(run.outputs).toEqual({
      passed: String(299 - failed - skipped),
      failed: String(failed),
      missing: '1',
      'report-path': expect.stringMatching(/backup-verify-fleet-report-[0-9a-f]+\.json$/)
    })
    for (let index = 0; index < 299; index++) expect(run.summary).toContain(`<td>db-${String(index).padStart(3, '0')}</td>`)
    expect(run.summary.match(/<tr><td>/g)).toHaveLength(299)
    // Its name is still legible in what is left of it: the missing verification is named after its database.
    expect(run.summary).toContain(
      `<li><b>db-299</b>: its receipt file ${path.join(folder, 'damaged.json')} is not one this report can read: it is not JSON (cut short or damaged)</li>`
    )
    expect(run.summary).toContain('receipt schema 5, read for the fields this report knows')
    // A failure names its phase and its reason; a physical and a repository backup say so.
    expect(run.summary).toContain('<td>Validate</td><td>backup-too-small: The backup is 2.1 KiB, under min-size (1 GiB)</td>')
    expect(run.summary).toMatch(/<td>db-007<\/td><td>✅ passed<\/td><td>physical<\/td>/)
    expect(run.summary).toMatch(/<td>db-008<\/td><td>✅ passed<\/td><td>pgbackrest<\/td>/)
    expect(run.summary).toMatch(/<td>db-009<\/td><td>⏭️ skipped<\/td>/)
    // Failed rows first.
    expect(run.summary.indexOf('❌ failed')).toBeLessThan(run.summary.indexOf('✅ passed'))
    // fail-on any, the default: the step fails, naming the first failures.
    expect(run.code).toBe(1)
    const [error] = annotations(run.stdout)
    expect(error.properties.title).toBe('Fleet report')
    expect(error.message).toContain(`${failed} failed (db-000, db-001, db-002, db-010, db-011 and ${failed - 5} more), 1 missing (db-299)`)
    const warning = annotations(run.stdout, 'warning').find((entry) => entry.properties.title === 'A receipt could not be read')
    expect(warning?.message).toContain('damaged.json')
    const report = JSON.parse(await readFile(run.outputs['report-path'], 'utf8')) as FleetReport
    expect(report.databases).toHaveLength(299)
    expect(report.totals).toEqual({ databases: 299, passed: 299 - failed - skipped, failed, skipped, missing: 1 })
    const newer = report.databases.find((database) => database.name === 'db-298')
    expect(newer).toMatchObject({
      schemaVersion: 5,
      status: 'passed',
      sizeBytes: 10_000 + 298 * 100,
      restoreMs: 798,
      backupAgeSeconds: 358
    })
    // The log holds the same table as plain text.
    expect(run.stdout).toMatch(/^db-000 +❌ failed +logical, custom +9\.77 KiB .* Create +dump-failed: pg_dump failed/m)
  })
})

describe('expected names, max-age and fail-on', () => {
  let folder: string

  beforeAll(async () => {
    folder = path.join(work, 'expected')
    await mkdir(folder)
    await writeReceipt(folder, buildReceipt(resultOf(3, new Date(Date.now() - 60_000).toISOString())))
    await writeReceipt(folder, buildReceipt(resultOf(4, new Date(Date.now() - 60_000).toISOString())))
  })

  test('two expected names without a receipt are both listed as missing, and fail the step under fail-on: any', async () => {
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder, expected: 'db-003\ndb-004\norders\n\n  billing  \n' } })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ passed: '2', failed: '0', missing: '2' })
    expect(run.summary).toContain('<h3>Missing (2)</h3>')
    expect(run.summary).toContain('<li><b>orders</b>: no receipt: its verification did not run')
    expect(run.summary).toContain('<li><b>billing</b>: no receipt')
    expect(annotations(run.stdout)[0].message).toBe('Backup verification of the fleet failed: 2 missing (orders, billing).')
  })

  test('the same under fail-on: none reports and passes; a JSON list of names is read as the names', async () => {
    const run = await runBundle(BUNDLE, {
      inputs: { receipts: `${folder}/*.json`, expected: '["db-003", "db-004", "orders", "billing"]', 'fail-on': 'none' }
    })
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({ passed: '2', missing: '2' })
    expect(run.summary).toContain('fail-on is none: the step passes all the same.')
    expect(annotations(run.stdout)).toEqual([])
  })

  test('a receipt older than max-age counts as missing, with its date', async () => {
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder, 'max-age': '30s' } })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ passed: '0', failed: '0', missing: '2' })
    expect(run.summary).toMatch(
      /<b>db-003<\/b>: its newest receipt is from [0-9T:.-]+Z, 1 minute( \d+ seconds?)? ago: older than max-age \(30 seconds\)/
    )
    expect(run.summary).toContain('⌛ too old')
  })

  test('no receipt and nothing expected fails: nothing was verified', async () => {
    const empty = path.join(work, 'empty')
    await mkdir(empty)
    const run = await runBundle(BUNDLE, { inputs: { receipts: empty } })
    expect(run.code).toBe(1)
    expect(annotations(run.stdout, 'warning')[0].message).toBe(`No receipt found at ${empty} (input receipts).`)
    expect(annotations(run.stdout)[0].message).toContain('no receipt was found, and no database was expected: nothing was verified')
  })
})

describe('damaged receipts and hostile text', () => {
  test('an expected database whose receipt is damaged is one missing verification; a damaged copy beside a readable receipt is named, not counted', async () => {
    const folder = path.join(work, 'damaged')
    await mkdir(folder)
    const startedAt = new Date(Date.now() - 60_000).toISOString()
    for (const index of [3, 4]) {
      const whole = JSON.stringify(buildReceipt(resultOf(index, startedAt)), null, 2)
      await writeFile(path.join(folder, `cut-${index}.json`), whole.slice(0, 400))
    }
    await writeReceipt(folder, buildReceipt(resultOf(4, startedAt)))
    await writeFile(path.join(folder, 'package.json'), '{"name": "not-a-receipt", "version": "1.0.0"}')
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder, expected: 'db-003\ndb-004' } })
    expect(run.outputs).toMatchObject({ passed: '1', failed: '0', missing: '2' })
    expect(run.summary).toContain(`<li><b>db-003</b>: its receipt file ${path.join(folder, 'cut-3.json')} is not one this report can read`)
    expect(run.summary).toContain(
      `<li><b>${path.join(folder, 'package.json')}</b>: not a receipt this report can read: it is not a backup-verify receipt`
    )
    expect(run.summary).toContain(
      `<h3>Files that are not receipts</h3>\n<ul><li>${path.join(folder, 'cut-4.json')} (db-004, which has a readable receipt)`
    )
  })

  test('a name or reason with line breaks and workflow commands is shown as text: no command runs, the HTML stays one block', async () => {
    const folder = path.join(work, 'hostile')
    await mkdir(folder)
    const hostile = resultOf(1, new Date(Date.now() - 60_000).toISOString())
    hostile.name = '::warning::forged\n\n[link](https://example.test)'
    hostile.error = { problem: 'backup-too-small', message: 'too small\n::error title=forged::x\r\n<script>alert(1)</script>' }
    await writeReceipt(folder, buildReceipt(hostile))
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder } })
    // The runner reads no command between ::stop-commands::TOKEN and ::TOKEN::: the table is there, and only there.
    const token = /^::stop-commands::(\w+)$/m.exec(run.stdout)![1]
    const start = run.stdout.indexOf(`::stop-commands::${token}`)
    const end = run.stdout.indexOf(`::${token}::`)
    expect(run.stdout.slice(start, end)).toContain('::warning::forged [link](https://example.test)')
    const read = run.stdout.slice(0, start) + run.stdout.slice(end)
    expect(annotations(read, 'warning')).toEqual([])
    expect(annotations(read).map((error) => error.properties.title)).toEqual(['Fleet report'])
    expect(run.summary).toContain('<td>::warning::forged [link](https://example.test)</td>')
    expect(run.summary).toContain('too small ::error title=forged::x &lt;script&gt;alert(1)&lt;/script&gt;')
    expect(run.summary).not.toMatch(/\n\n(?!<)/)
  })
})

describe('the trend from each database’s history', () => {
  test('arrows for the change since the last passing run; the newest receipt of a name counts, the older one is noted', async () => {
    const folder = path.join(work, 'trend')
    const history = path.join(work, 'trend-history')
    await mkdir(folder)
    await mkdir(history)
    const now = Date.now()
    const latest = resultOf(5, new Date(now - 60_000).toISOString())
    await writeReceipt(folder, buildReceipt(latest))
    await writeReceipt(folder, buildReceipt({ ...resultOf(5, new Date(now - 86_400_000).toISOString()), status: 'failed' }))
    const record = (daysAgo: number, result: HistoryRecord['result'], sizeBytes: number, durationMs: number): HistoryRecord => ({
      tool: 'backup-verify',
      schema: 1,
      name: 'db-005',
      time: new Date(now - daysAgo * 86_400_000).toISOString(),
      result,
      durationMs,
      phases: {},
      sizeBytes,
      format: latest.backup?.format,
      compression: 'none',
      restoreMs: 505
    })
    const lines = [record(3, 'passed', 8000, 1005), record(2, 'passed', 9000, 2010), record(1, 'failed', 1, 1)]
    await writeFile(path.join(history, 'db-005.jsonl'), `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`)
    await writeFile(path.join(history, 'broken.jsonl'), 'not a history\n')
    const run = await runBundle(BUNDLE, { inputs: { receipts: folder, history } })
    expect(run.code).toBe(0)
    // 10,500 bytes against 9,000 two days ago (the failed run between is not a passing one): up 17%; 1,005 ms against 2,010.
    expect(run.summary).toContain('<td>10.3 KiB ↑ 17%</td>')
    expect(run.summary).toContain('<td>1.00 s ↓ 50%</td>')
    expect(run.summary).toContain('<td>505 ms →</td>')
    expect(run.summary).toContain('<td>3 of 4 passed</td>')
    expect(run.summary).toContain('1 older receipt not counted')
    expect(run.summary).toContain('broken.jsonl: it is not a backup-verify history (line 1 is not JSON)')
  })
})

describe('inputs refused before anything is read', () => {
  test.each([
    [{ receipts: '' }, 'Input "receipts" has an invalid value ""'],
    [{ receipts: 'r', 'fail-on': 'sometimes' }, 'Input "fail-on" has an invalid value "sometimes": expected any'],
    [{ receipts: 'r', 'max-age': 'soon' }, 'Input "max-age" has an invalid value "soon": expected a duration'],
    [{ receipts: 'r', expected: '["orders",' }, 'Input "expected" has an invalid value "[\\"orders\\","'],
    [{ receipts: 'r', expected: 'x'.repeat(101) }, 'names of at most 100 characters']
  ])('%j', async (inputs, message) => {
    const run = await runBundle(BUNDLE, { inputs })
    expect(run.code).toBe(1)
    const [error] = annotations(run.stdout)
    expect(error.message).toContain(message)
    expect(error.properties.title).toMatch(/^Input /)
    expect(run.outputs).toEqual({})
  })
})
