// Across runs, against a real server: one history file over several runs, the trend in the
// summary, the alerts failing (or warning), a corrupt history refused untouched before anything
// connects, and concurrent runs that each add one intact record.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { outputsOf } from '../../src/report/outputs.js'
import { parseHistory } from '../../src/records/history.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, freePort, temporaryDatabases, TEST_PASSWORD, useServer } from '../support/server.js'
import { runBundle } from '../support/runner.js'

const { server, work } = useServer('history')

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
})

async function verify(inputs: Record<string, string>) {
  const all: Record<string, string> = { 'database-url': server.url('shop'), 'min-size': '0', verify: 'rows', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger: new MemoryLedger(), env: { PATH: process.env.PATH } })
  return { result, reporter }
}

const records = async (file: string) => parseHistory(await readFile(path.join(work, file), 'utf8'), { path: file, given: file })

describe('one history over several runs', () => {
  test('three runs: three records, a forced failure among them, and the trend in the third summary', async () => {
    const first = await verify({ history: 'three.jsonl' })
    expect(first.result.status).toBe('passed')
    expect(outputsOf(first.result)['size-change']).toBe('')
    const second = await verify({ history: 'three.jsonl', 'min-size': '100MB' })
    expect(second.result.status).toBe('failed')
    await server.query("INSERT INTO customers (name, email) VALUES ('Late Comer', 'late@example.com')", 'shop')
    const third = await verify({ history: 'three.jsonl' })
    expect(third.result.status).toBe('passed')

    const written = await records('three.jsonl')
    expect(written.map((record) => [record.result, record.failedPhase, record.problem])).toEqual([
      ['passed', undefined, undefined],
      ['failed', 'Create', 'backup-too-small'],
      ['passed', undefined, undefined]
    ])
    expect(written[2].rows).toBe((written[0].rows as number) + 1)
    expect(written[2]).toEqual(
      expect.objectContaining({ format: 'plain', verifyLevel: 'rows', tables: written[0].tables, checksum: third.result.backup?.sha256 })
    )
    const text = await readFile(path.join(work, 'three.jsonl'), 'utf8')
    for (const secret of [TEST_PASSWORD, encodeURIComponent(TEST_PASSWORD), 'postgresql://', `:${server.port}`, 'shop']) {
      expect(text).not.toContain(secret)
    }

    const trend = third.result.history?.trend
    expect(trend?.points).toHaveLength(3)
    expect(trend?.sinceLastPass?.rows).toEqual(expect.objectContaining({ delta: 1 }))
    expect([trend?.failed, trend?.counted, trend?.consecutiveFailures]).toEqual([1, 3, 0])
    const html = renderSummary(buildSummary(third.result))
    expect(html).toContain('<h3>Trend</h3>')
    expect(html).toContain('failure rate 33% (1 of 3 failed); consecutive failures now: 0.')
    expect(html).toMatch(/<tr><td>Rows<\/td><td>[\d,]+<\/td><td>[\d,]+<\/td><td>\+1<\/td><td>\+[\d.]+%<\/td><\/tr>/)
    // Size, duration, and the recovery time and point of the two runs that restored a copy.
    expect(html.match(/\n\n```mermaid\n%%\{init: .*\}%%\nxychart-beta\n/g)).toHaveLength(4)
    expect(html).toContain('title "Time to restore (s)"')
    expect(html).toMatch(/title "Backup age when restored \((seconds|minutes)\)"/)
    const outputs = outputsOf(third.result)
    expect(outputs['consecutive-failures']).toBe('0')
    expect(outputs['history-path']).toBe(path.join(work, 'three.jsonl'))
    expect(Number(outputs['size-change'])).toBeGreaterThan(0)
    expect(Number(outputs.duration)).toBeCloseTo(third.result.durationMs / 1000, 2)
    expect(await temporaryDatabases(server)).toEqual([])
  }, 120_000)

  test('max-consecutive-failures: 2 fails the second failure in a row with that reason', async () => {
    const inputs = { history: 'streak.jsonl', 'max-consecutive-failures': '2', 'min-size': '100MB' }
    const first = await verify(inputs)
    expect(first.result.error?.problem).toBe('backup-too-small')
    expect(first.result.error?.message).not.toContain('max-consecutive-failures')
    const second = await verify(inputs)
    expect(second.result.status).toBe('failed')
    expect(second.result.error?.message).toMatch(
      /^Alert \(max-consecutive-failures\): This is failed verification 2 in a row, reaching max-consecutive-failures \(2\).* This run failed: Backup file is suspiciously small/
    )
    expect(outputsOf(second.result)['consecutive-failures']).toBe('2')
    expect((await records('streak.jsonl')).map((record) => record.alerts)).toEqual([undefined, ['max-consecutive-failures']])
  }, 120_000)

  test('max-duration: 1ms fails a run that passed; with alert-mode warn it warns and passes', async () => {
    const failing = await verify({ 'max-duration': '1ms' })
    expect(failing.result.status).toBe('failed')
    expect(failing.result.error?.problem).toBe('alert')
    expect(failing.result.error?.message).toMatch(
      /^Alert \(max-duration\): The run took [\d.]+ m?s, over max-duration \(1 ms\) by [\d.]+ m?s\.$/
    )
    expect(failing.result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'passed'])
    expect(renderSummary(buildSummary(failing.result))).toContain('<h3>Alerts</h3>')
    const warned = await verify({ 'max-duration': '1ms', 'alert-mode': 'warn' })
    expect(warned.result.status).toBe('passed')
    expect(warned.reporter.warnings).toEqual([expect.stringMatching(/^Alert \(max-duration\): The run took /)])
  }, 120_000)

  test('a run that is skipped (not PostgreSQL) verified nothing: it adds no record', async () => {
    const { result } = await verify({ 'database-url': 'sqlite:///app.db', history: 'skipped.jsonl', 'max-duration': '1ms' })
    expect(result.status).toBe('skipped')
    expect(result.alerts).toBeUndefined()
    await expect(readFile(path.join(work, 'skipped.jsonl'))).rejects.toThrow(/ENOENT/)
  })

  test('a corrupt history fails before connecting, and is left byte for byte as it was', async () => {
    const corrupt = Buffer.concat([
      Buffer.from(
        `${JSON.stringify({ tool: 'backup-verify', schema: 1, time: '2026-12-01T00:00:00Z', result: 'passed', durationMs: 1 })}\n`
      ),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x0a])
    ])
    await writeFile(path.join(work, 'corrupt.jsonl'), corrupt)
    // Nothing listens on this port: a run that connected would fail with "connection refused".
    const closed = `postgresql://postgres:secret@127.0.0.1:${await freePort()}/shop`
    const { result } = await verify({ 'database-url': closed, history: 'corrupt.jsonl' })
    expect(result.error?.problem).toBe('bad-input')
    expect(result.error?.message).toMatch(/^Input "history" has an invalid value "corrupt.jsonl": .*line 2 is not JSON/)
    expect(result.phases.every((phase) => phase.status === 'not run')).toBe(true)
    expect(await readFile(path.join(work, 'corrupt.jsonl'))).toEqual(corrupt)
  })
})

describe('concurrent runs', () => {
  test('ten runs of the command line appending to one history leave ten intact records', async () => {
    const history = path.join(work, 'concurrent.jsonl')
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        runBundle('dist/cli/index.js', {
          args: [
            '--database-url',
            server.url('shop'),
            '--history',
            history,
            '--verify',
            'schema',
            '--min-size',
            '0',
            '--name',
            `run-${index}`
          ],
          timeoutMs: 170_000
        })
      )
    )
    expect(runs.map((run) => [run.code, run.stderr.trim()])).toEqual(runs.map(() => [0, '']))
    const text = await readFile(history, 'utf8')
    const written = parseHistory(text, { path: history, given: history })
    expect(written).toHaveLength(10)
    expect(text.split('\n').filter(Boolean)).toHaveLength(10)
    // Each run's own record, told apart by its name (two runs may start in the same millisecond).
    expect(written.map((record) => record.name).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `run-${index}`).sort())
    // Each run printed the trend over the records it saw, its own the last.
    const longest = runs.map((run) => run.stdout).find((stdout) => stdout.includes('10 runs recorded'))
    expect(longest).toMatch(/Trend:\n {2}10 runs recorded; failure rate 0% \(0 of 10 failed\); consecutive failures now: 0\./)
  }, 180_000)
})
