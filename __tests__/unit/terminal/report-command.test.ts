// `backup-verify report`, the fleet report in a terminal, run from the command-line bundle
// (dist/cli/index.js) as a user runs it: the table printed, the exit code, the JSON written.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { buildReceipt, writeReceipt } from '../../../src/records/receipt.js'
import type { VerificationResult } from '../../../src/report/result.js'
import type { FleetReport } from '../../../src/fleet/report.js'
import { runBundle } from '../../support/runner.js'

let folder: string

const result = (name: string, status: 'passed' | 'failed'): VerificationResult => ({
  status,
  name,
  method: 'logical',
  phases: [{ name: 'Create', status, durationMs: 5, detail: '' }],
  startedAt: new Date(Date.now() - 60_000).toISOString(),
  durationMs: 2500,
  backup: {
    path: '/b',
    sizeBytes: 4096,
    sha256: 'b'.repeat(64),
    format: 'custom',
    compression: 'none',
    jobs: 1,
    streamed: false,
    kept: false
  },
  ...(status === 'failed'
    ? { error: { problem: 'backup-too-small' as const, message: 'The backup is 4 KiB, under min-size (1 GiB)' } }
    : {})
})

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-report-command-'))
  await writeReceipt(folder, buildReceipt(result('orders', 'passed')))
  await writeReceipt(folder, buildReceipt(result('billing', 'failed')))
})
afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

const report = (...args: string[]) => runBundle('dist/cli/index.js', { args: ['report', ...args], cwd: folder })

test('prints the table, failures first, and exits 1 when a database failed; 0 under --fail-on none', async () => {
  const failed = await report('--receipts', '.')
  expect(failed.code).toBe(1)
  expect(failed.stdout).toBe('')
  expect(failed.stderr).toContain('❌ 1 failed, 0 missing; 1 passed, 0 skipped.')
  expect(failed.stderr).toMatch(/^billing +❌ failed +logical, custom +4\.00 KiB .*Create +backup-too-small: The backup is 4 KiB/m)
  expect(failed.stderr.indexOf('billing')).toBeLessThan(failed.stderr.indexOf('orders'))
  const reported = await report('--receipts', '.', '--fail-on', 'none')
  expect(reported.code).toBe(0)
  expect(reported.stdout).toContain('orders')
})

test('--expected names the databases that should have a receipt, --json writes the report', async () => {
  const run = await report('--receipts', folder, '--expected', 'orders', '--expected', 'audit', '--json', 'fleet.json')
  expect(run.code).toBe(1)
  expect(run.stderr).toContain('audit: no receipt')
  const json = JSON.parse(await readFile(path.join(folder, 'fleet.json'), 'utf8')) as FleetReport
  expect(json.totals).toEqual({ databases: 3, passed: 1, failed: 1, skipped: 0, missing: 1 })
  expect(json.databases.find((database) => database.name === 'billing')?.unexpected).toBe(true)
})

test('--help, a bad value and an unknown flag', async () => {
  const help = await report('--help')
  expect(help.code).toBe(0)
  expect(help.stdout).toMatch(/^Usage: backup-verify report --receipts PATH/)
  expect((await runBundle('dist/cli/index.js', { args: ['--help'] })).stdout).toContain('backup-verify report --help')
  const bad = await report('--receipts', '.', '--fail-on', 'maybe')
  expect(bad.code).toBe(1)
  expect(bad.stderr).toContain('error: Input "fail-on" has an invalid value "maybe"')
  const unknown = await report('--receipt', '.')
  expect(unknown.code).toBe(1)
  expect(unknown.stderr).toContain('Usage: backup-verify report')
})
