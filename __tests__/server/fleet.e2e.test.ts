// A fleet end to end, as the fleet workflow runs it: the action's bundle verifies three databases of a
// real server, each under its name (one fails min-size), each job's receipt and history gathered into
// one folder as download-artifact's merge-multiple leaves them, then the report action's bundle over them.

import { beforeAll, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import path from 'node:path'
import { annotations, ROOT, runBundle, type BundleRun } from '../support/runner.js'
import { createSampleDatabase, TEST_PASSWORD, useServer } from '../support/server.js'
import type { FleetReport } from '../../src/fleet/report.js'

const { server, work } = useServer('fleet')
const DATABASES = ['orders', 'billing', 'audit']

beforeAll(async () => {
  for (const name of DATABASES) await createSampleDatabase(server, `${name}_db`)
})

/** One matrix job: the action's bundle on one database, its receipt and history gathered for the report. */
async function verifyJob(name: string, inputs: Record<string, string> = {}): Promise<BundleRun> {
  const runnerTemp = path.join(work, `runner-${name}-${Date.now()}`)
  await mkdir(runnerTemp, { recursive: true })
  const run = await runBundle('dist/index.js', {
    inputs: {
      'database-url': server.url(`${name}_db`),
      name,
      history: path.join(work, 'cache', `${name}.jsonl`),
      verify: 'rows',
      ...inputs
    },
    env: { RUNNER_TEMP: runnerTemp },
    timeoutMs: 170_000
  })
  const gathered = path.join(work, 'artifacts')
  await mkdir(path.join(gathered, 'receipts'), { recursive: true })
  await mkdir(path.join(gathered, 'history'), { recursive: true })
  await copyFile(run.outputs['report-path'], path.join(gathered, 'receipts', path.basename(run.outputs['report-path'])))
  await copyFile(run.outputs['history-path'], path.join(gathered, 'history', `${name}.jsonl`))
  return run
}

test('three real verifications, one failing min-size, reported as one: every database, its verdict and figures, the failure named', async () => {
  // A run of orders before: its history gives the trend.
  expect((await verifyJob('orders')).code).toBe(0)
  await server.query("INSERT INTO customers (name, email) VALUES ('Late Comer', 'late@example.com')", 'orders_db')
  const jobs = [await verifyJob('orders'), await verifyJob('billing'), await verifyJob('audit', { 'min-size': '1GB' })]
  expect(jobs.map((job) => job.outputs.result)).toEqual(['passed', 'passed', 'failed'])
  const schema = new Ajv({ allErrors: true, strict: false, logger: false }).compile(
    JSON.parse(readFileSync(path.join(ROOT, 'receipt.schema.json'), 'utf8'))
  )
  for (const job of jobs) {
    const receipt = JSON.parse(await readFile(job.outputs['report-path'], 'utf8'))
    expect({ name: receipt.name, method: receipt.method, valid: schema(receipt) }).toEqual({
      name: receipt.name,
      method: 'logical',
      valid: true
    })
  }

  const reportTemp = path.join(work, 'report-temp')
  await mkdir(reportTemp)
  const report = await runBundle('dist/report/index.js', {
    inputs: {
      receipts: path.join(work, 'artifacts', 'receipts'),
      history: path.join(work, 'artifacts', 'history'),
      expected: JSON.stringify(DATABASES)
    },
    env: { RUNNER_TEMP: reportTemp }
  })
  expect(report.stderr).toBe('')
  expect(report.outputs).toEqual({ passed: '2', failed: '1', missing: '0', 'report-path': expect.stringContaining(reportTemp) })
  expect(report.code).toBe(1)
  expect(annotations(report.stdout)[0].message).toBe('Backup verification of the fleet failed: 1 failed (audit).')

  const json = JSON.parse(await readFile(report.outputs['report-path'], 'utf8')) as FleetReport
  expect(json.databases.map((database) => [database.name, database.status, database.failedPhase, database.problem])).toEqual([
    ['audit', 'failed', 'Create', 'backup-too-small'],
    ['billing', 'passed', undefined, undefined],
    ['orders', 'passed', undefined, undefined]
  ])
  // The receipt's own figures: the backup's size and the rows the copy held, as the jobs' outputs said.
  const orders = json.databases.find((database) => database.name === 'orders')!
  expect(orders).toMatchObject({ method: 'logical', format: jobs[0].outputs.format, sizeBytes: Number(jobs[0].outputs.size) })
  expect(orders.rows).toBe(Number(jobs[0].outputs.rows))
  expect(orders.trend?.sinceLastPass?.rows).toMatchObject({ delta: 1 })
  expect(orders.trend).toMatchObject({ counted: 2, failed: 0 })

  // The summary: a row per database, failures first, the reason in the user's words, the trend.
  const rows = [...report.summary.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td>/g)].map((match) => [match[1], match[2]])
  expect(rows).toEqual([
    ['audit', '❌ failed'],
    ['billing', '✅ passed'],
    ['orders', '✅ passed']
  ])
  expect(report.summary).toMatch(/<td>Create<\/td><td>backup-too-small: [^<]*min-size[^<]*<\/td>/)
  expect(report.summary).toContain('<td>2 of 2 passed</td>')
  // audit's history holds its one run, this one: no arrows, and the count of its runs.
  expect(report.summary).toMatch(/<td>audit<\/td>.*<td>0 of 1 passed<\/td><\/tr>/)
  expect(report.stdout).toContain('❌ 1 failed, 0 missing; 2 passed, 0 skipped.')
  // Nothing of a connection reaches the report: no password, no URL.
  for (const secret of [TEST_PASSWORD, encodeURIComponent(TEST_PASSWORD), 'postgresql://']) {
    expect(report.everything).not.toContain(secret)
    expect(await readFile(report.outputs['report-path'], 'utf8')).not.toContain(secret)
  }
})
