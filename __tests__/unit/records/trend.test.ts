// The history's records read strictly, the trend and the alerts computed from them, and the
// durations users write: pure functions, no server.

import { describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { appendHistory, parseHistory, readHistory, type HistoryRecord } from '../../../src/records/history.js'
import { trendOf } from '../../../src/records/trend.js'
import { trendLines, trendSection } from '../../../src/report/trend-summary.js'
import { evaluateAlerts } from '../../../src/records/alerts.js'
import type { AlertThresholds } from '../../../src/inputs/inputs.js'
import { formatDuration, parseDuration } from '../../../src/run/duration.js'
import type { VerificationResult } from '../../../src/report/result.js'

const file = { path: '/nowhere/history.jsonl', given: 'history.jsonl' }

function record(overrides: Partial<HistoryRecord>): HistoryRecord {
  return {
    tool: 'backup-verify',
    schema: 1,
    time: '2026-12-01T10:00:00.000Z',
    result: 'passed',
    durationMs: 10_000,
    phases: { Create: 4000, Validate: 1000, Restore: 5000 },
    sizeBytes: 1_000_000,
    rows: 1000,
    tables: 10,
    ...overrides
  }
}

function result(overrides: Partial<VerificationResult>): VerificationResult {
  return { status: 'passed', phases: [], startedAt: '2026-12-02T10:00:00.000Z', durationMs: 12_000, ...overrides }
}

const thresholds = (overrides: Partial<AlertThresholds>): AlertThresholds => ({ mode: 'fail', minSizeBytes: 1024, ...overrides })

describe('the history file', () => {
  test.each([
    ['not JSON', '{"tool":"backup-verify"', 'line 1 is not JSON'],
    ['another tool', '{"tool":"other","schema":1}', 'line 1 is not a backup-verify record'],
    ['a newer schema', JSON.stringify(record({ schema: 2 as 1 })), 'line 1 was written by a newer backup-verify (schema 2)'],
    ['a bad time', JSON.stringify(record({ time: 'yesterday' })), 'line 1 has no valid time'],
    ['an array', '[1,2]', 'line 1 is not a JSON object'],
    ['a CSV file', 'time,result\n2026-12-01,passed', 'line 1 is not JSON']
  ])('%s is refused with the input, the line and the fix', (_name, text, reason) => {
    const good = JSON.stringify(record({}))
    const lines = reason.startsWith('line 1') ? text : `${good}\n${text}`
    expect(() => parseHistory(lines, file)).toThrow(
      new RegExp(`^Input "history" has an invalid value "history.jsonl": .*${reason.replace(/[()]/g, '\\$&')}.*left as it is`)
    )
  })

  test('blank lines are skipped; a file that does not exist is an empty history', async () => {
    expect(parseHistory(`\n${JSON.stringify(record({}))}\n\n`, file)).toHaveLength(1)
    expect(await readHistory({ path: path.join(os.tmpdir(), 'no-such-dir-bv', 'h.jsonl'), given: 'h.jsonl' })).toEqual([])
  })

  test('appending keeps the newest records up to the limit, and never rewrites a file that is not a history', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bv-history-'))
    try {
      const history = { path: path.join(dir, 'nested', 'history.jsonl'), given: 'nested/history.jsonl' }
      for (let index = 0; index < 5; index++) await appendHistory(history, record({ durationMs: index }), 3)
      const kept = (await readHistory(history)).map((entry) => entry.durationMs)
      expect(kept).toEqual([2, 3, 4])
      const foreign = path.join(dir, 'notes.txt')
      await writeFile(foreign, 'my notes\n')
      await expect(appendHistory({ path: foreign, given: 'notes.txt' }, record({}), 3)).rejects.toThrow('line 1 is not JSON')
      expect(await readFile(foreign, 'utf8')).toBe('my notes\n')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the trend', () => {
  const records = [
    record({ time: 't1', sizeBytes: 1000, rows: 100, durationMs: 2000 }),
    record({ time: 't2', result: 'failed', sizeBytes: undefined, rows: undefined, durationMs: 500 }),
    record({ time: 't3', result: 'skipped', sizeBytes: undefined, rows: undefined, durationMs: 10 }),
    record({ time: 't4', result: 'failed', sizeBytes: 1200, rows: undefined, durationMs: 900 }),
    record({ time: 't5', sizeBytes: 1100, rows: 110, tables: 11, durationMs: 3000 })
  ]

  test('change since the last passing run, failure rate over the window, the streak', () => {
    const trend = trendOf(records)
    expect(trend.sinceLastPass?.time).toBe('t1')
    expect(trend.sinceLastPass?.size).toEqual({ before: 1000, now: 1100, delta: 100, percent: 10 })
    expect(trend.sinceLastPass?.rows?.percent).toBe(10)
    expect(trend.sinceLastPass?.duration.delta).toBe(1000)
    expect([trend.counted, trend.failed, trend.failureRate]).toEqual([4, 2, 0.5])
    expect(trend.consecutiveFailures).toBe(0)
    // A skipped run neither counts nor breaks the streak.
    expect(trendOf(records.slice(0, 4)).consecutiveFailures).toBe(2)
  })

  test('the charts plot every sized run and every run, and their table holds the same figures', () => {
    const section = trendSection(trendOf(records))
    expect(section.charts).toHaveLength(2)
    expect(section.charts[0]).toContain('title "Backup size (KiB)"')
    expect(section.charts[0]).toContain('x-axis "Run" ["1", "4", "5"]')
    expect(section.charts[0]).toMatch(/line \[0\.977, 1\.172, 1\.074\]/)
    expect(section.charts[1]).toContain('line [2, 0.5, 0.01, 0.9, 3]')
    expect(section.runs.rows.map((row) => row[5])).toEqual(['2.00 s', '500 ms', '10 ms', '900 ms', '3.00 s'])
    expect(section.change?.rows.find((row) => row[0] === 'Backup size')).toEqual([
      'Backup size',
      '1000 bytes',
      '1.07 KiB',
      '+100 bytes',
      '+10.0%'
    ])
    const text = trendLines(trendOf(records)).join('\n')
    expect(text).toContain('failure rate 50% (2 of 4 failed); consecutive failures now: 0.')
    expect(text).toMatch(/Rows\s+100\s+110\s+\+10\s+\+10\.0%/)
    // No run measured a restore time or an age: no chart and no column for them.
    expect(section.runs.header).not.toContain('Restore time')
  })

  test('the recovery time and point get their own charts, from the runs that measured them', () => {
    const measured = [
      record({ time: 't1', restoreMs: 4000, backupAgeSeconds: 3600 }),
      record({ time: 't2', result: 'failed', restoreMs: undefined, backupAgeSeconds: undefined }),
      record({ time: 't3', restoreMs: 6000, backupAgeSeconds: 2 * 86_400 })
    ]
    const section = trendSection(trendOf(measured))
    const restore = section.charts.find((chart) => chart.includes('title "Time to restore (s)"'))
    expect(restore).toContain('x-axis "Run" ["1", "3"]')
    expect(restore).toContain('line [4, 6]')
    const age = section.charts.find((chart) => chart.includes('title "Backup age when restored (days)"'))
    expect(age).toContain('line [0.042, 2]')
    expect(section.runs.rows.map((row) => row.slice(6))).toEqual([
      ['4.00 s', '1h'],
      ['—', '—'],
      ['6.00 s', '48h']
    ])
    expect(section.change?.rows.filter((row) => ['Restore time', 'Backup age'].includes(row[0]))).toEqual([
      ['Restore time', '4.00 s', '6.00 s', '+2.00 s', '+50.0%'],
      ['Backup age', '1h', '48h', '+47h', '+4700.0%']
    ])
  })
})

describe('alerts', () => {
  const passing = [record({ sizeBytes: 1_000_000, rows: 1000 })]
  const rows = (count: number) =>
    ({ level: 'rows', rows: [{ table: 't', source: count, restored: count }], source: ['t'], restored: ['t'] }) as never

  test('max-duration says by how much', () => {
    const alerts = evaluateAlerts(thresholds({ maxDurationMs: 300_000 }), result({ durationMs: 372_000 }), undefined)
    expect(alerts).toEqual([{ input: 'max-duration', message: 'The run took 6m 12s, over max-duration (5m) by 1m 12s.' }])
  })

  test('max-shrink and max-growth compare with the last passing run', () => {
    const shrunk = result({ backup: { sizeBytes: 700_000 } as never, tables: rows(500) })
    const messages = evaluateAlerts(thresholds({ maxShrinkPercent: 10 }), shrunk, passing).map((alert) => alert.message)
    expect(messages).toEqual([
      expect.stringMatching(/^The backup shrank by 30\.0% since the last passing run .*, more than max-shrink \(10%\) by 20\.0 points\.$/),
      expect.stringMatching(/^The number of rows shrank by 50\.0% .*: 1,000 to 500, more than max-shrink \(10%\) by 40\.0 points\.$/)
    ])
    const grown = result({ backup: { sizeBytes: 2_500_000 } as never, tables: rows(1000) })
    expect(evaluateAlerts(thresholds({ maxGrowthPercent: 100 }), grown, passing)).toEqual([
      expect.objectContaining({ input: 'max-growth', message: expect.stringContaining('grew by 150.0%') })
    ])
    expect(evaluateAlerts(thresholds({ maxGrowthPercent: 200, maxShrinkPercent: 10 }), grown, passing)).toEqual([])
  })

  test('max-consecutive-failures counts this failure and the failures before it', () => {
    const failed = result({ status: 'failed' })
    const history = [record({}), record({ result: 'failed' }), record({ result: 'skipped' })]
    expect(evaluateAlerts(thresholds({ maxConsecutiveFailures: 3 }), failed, history)).toEqual([])
    expect(evaluateAlerts(thresholds({ maxConsecutiveFailures: 2 }), failed, history)[0].message).toBe(
      'This is failed verification 2 in a row, reaching max-consecutive-failures (2): the backup procedure has been broken for 2 runs.'
    )
    expect(evaluateAlerts(thresholds({ maxConsecutiveFailures: 1 }), result({}), history)).toEqual([])
  })

  test('max-age with a copy whose newest data has no time fails, naming freshness-query; a failed run is not told so again', () => {
    const untimed = result({ evidence: { restoreMs: 1000 } })
    expect(evaluateAlerts(thresholds({ maxAgeMs: 3_600_000 }), untimed, undefined)).toEqual([
      { input: 'max-age', message: expect.stringContaining('give freshness-query') }
    ])
    expect(evaluateAlerts(thresholds({ maxAgeMs: 3_600_000 }), { ...untimed, status: 'failed' }, undefined)).toEqual([])
    const timed = result({
      evidence: { restoreMs: 1000, ageSeconds: 60, newestData: { at: '2026-12-02T09:59:00.000Z', from: 'freshness-query' } }
    })
    expect(evaluateAlerts(thresholds({ maxAgeMs: 3_600_000 }), timed, undefined)).toEqual([])
    expect(evaluateAlerts(thresholds({ maxAgeMs: 30_000 }), timed, undefined)[0].message).toContain('from freshness-query')
  })

  test('min-size is an alert only when alerts warn (otherwise the Create phase fails on it)', () => {
    const small = result({ backup: { sizeBytes: 500 } as never })
    expect(evaluateAlerts(thresholds({}), small, undefined)).toEqual([])
    expect(evaluateAlerts(thresholds({ mode: 'warn' }), small, undefined)[0].message).toBe(
      'The backup is 500 bytes, under min-size (1,024 bytes (1.00 KiB)) by 524 bytes.'
    )
  })
})

describe('durations', () => {
  test.each([
    ['5m', 300_000],
    ['300', 300_000],
    ['300s', 300_000],
    ['1h30m', 5_400_000],
    ['1.5m', 90_000],
    ['1ms', 1],
    [' 2 min ', 120_000],
    ['5 minutes', undefined],
    ['m', undefined],
    ['-1s', undefined],
    ['', undefined]
  ])('%j is %p ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  test('told back as people read them', () => {
    expect([350, 1200, 45_000, 372_000, 3_725_000].map(formatDuration)).toEqual(['350 ms', '1.20 s', '45.0 s', '6m 12s', '1h 2m 5s'])
  })
})
