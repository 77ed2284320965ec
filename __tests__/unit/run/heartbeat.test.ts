// How far a long phase is: in a log, a line at each tenth or after the interval, with a percentage
// and the time left; in a terminal, one live line with a bar; nothing past 99% before the end.

import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { describeProgress, startHeartbeat } from '../../../src/run/heartbeat.js'
import type { Reporter } from '../../../src/run/context.js'
import { consoleReporter } from '../../../src/terminal/console-reporter.js'
import { Redactor } from '../../../src/run/secrets.js'
import { PassThrough } from 'node:stream'

const reporter = (progress?: (what: string, line: string) => void): Reporter => ({
  info: () => {},
  warning: () => {},
  notice: () => {},
  group: (_name, fn) => fn(),
  mask: () => {},
  ...(progress ? { progress } : {})
})

beforeEach(() => {
  jest.useFakeTimers({ now: 0 })
})
afterEach(() => {
  jest.useRealTimers()
})

describe('progress in a log', () => {
  test('a line at each tenth of the way, else after the interval; the time left from the pace so far', () => {
    const lines: string[] = []
    let done = 0
    const stop = startHeartbeat({ log: (line) => lines.push(line), reporter: reporter(), heartbeatMs: 30_000 }, 'psql restoring', {
      done: () => done,
      total: () => 1000
    })
    // 1% a second: the 10% line comes at 10 s, with 90 s left at that pace.
    for (let second = 1; second <= 25; second++) {
      done = second * 10
      jest.advanceTimersByTime(1000)
    }
    expect(lines).toEqual([
      'psql restoring: 10% (100 bytes of 1000 bytes), about 90 s left, 10 s elapsed',
      'psql restoring: 20% (200 bytes of 1000 bytes), about 80 s left, 20 s elapsed'
    ])
    // Stalled at 25%: a line after 30 s without one.
    jest.advanceTimersByTime(25_000)
    expect(lines.at(-1)).toBe('psql restoring: 25% (250 bytes of 1000 bytes), about 150 s left, 50 s elapsed')
    stop()
    jest.advanceTimersByTime(60_000)
    expect(lines).toHaveLength(3)
  })

  test('without a whole: the amount so far every interval, as before', () => {
    const lines: string[] = []
    const stop = startHeartbeat({ log: (line) => lines.push(line), reporter: reporter(), heartbeatMs: 30_000 }, 'pg_dump', {
      done: () => 2048
    })
    jest.advanceTimersByTime(61_000)
    stop()
    expect(lines).toEqual([
      'pg_dump: still running, 2.00 KiB so far, 30 s elapsed',
      'pg_dump: still running, 2.00 KiB so far, 60 s elapsed'
    ])
  })

  test('at most 99% before the end; an estimate passed says so, with no time left; rows are counted as rows', () => {
    expect(describeProgress(999, 1000, 10_000)).toBe('99% (999 bytes of 1000 bytes), about 1 s left, 10 s elapsed')
    expect(describeProgress(1000, 1000, 10_000)).toBe('99% (1000 bytes of 1000 bytes), about 1 s left, 10 s elapsed')
    expect(describeProgress(1500, 1000, 10_000)).toBe('1.46 KiB so far, past the estimate of 1000 bytes, 10 s elapsed')
    expect(describeProgress(2500, 10_000, 5000, 'rows')).toBe('25% (2,500 rows of 10,000 rows), about 15 s left, 5 s elapsed')
    expect(describeProgress(0, 10_000, 5000)).toBe('0% (0 bytes of 9.77 KiB), 5 s elapsed')
  })
})

describe('progress in a terminal', () => {
  test('one live line, redrawn every second with a bar, cleared at the end; no log lines', () => {
    const live: string[] = []
    const lines: string[] = []
    let done = 0
    const stop = startHeartbeat(
      { log: (line) => lines.push(line), reporter: reporter((_what, line) => live.push(line)), heartbeatMs: 30_000 },
      'pg_dump',
      { done: () => done, total: () => 400 }
    )
    done = 100
    jest.advanceTimersByTime(1000)
    done = 300
    jest.advanceTimersByTime(1000)
    stop()
    expect(live).toEqual([
      '[######..................] pg_dump: 25% (100 bytes of 400 bytes), about 3 s left, 1 s elapsed',
      '[##################......] pg_dump: 75% (300 bytes of 400 bytes), about 1 s left, 2 s elapsed',
      ''
    ])
    expect(lines).toEqual([])
  })
})

describe('the terminal reporter', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = []
    const out = { isTTY, columns: 60, write: (chunk: unknown) => written.push(String(chunk)) > 0 } as unknown as NodeJS.WritableStream
    return { out, written }
  }

  test('on a terminal: the live line is redrawn in place and replaced by the next log line; secrets are hidden', () => {
    const { out, written } = stream(true)
    const reporter = consoleReporter(new Redactor(['s3cret']), out, new PassThrough())
    reporter.progress?.('pg_dump', 'pg_dump: 10% of s3cret')
    reporter.progress?.('pg_dump', 'pg_dump: 20%')
    reporter.progress?.('psql restoring', 'psql restoring: 5%')
    reporter.progress?.('pg_dump', '')
    reporter.info('Dumped')
    // Two phases at once share the line; one that ends leaves the other's.
    expect(written.join('')).toBe(
      'pg_dump: 10% of ***\r\u001b[Kpg_dump: 20%\r\u001b[Kpg_dump: 20%  |  psql restoring: 5%\r\u001b[Kpsql restoring: 5%\r\u001b[KDumped\n'
    )
  })

  test('on a pipe or a file: no live line (progress comes as log lines)', () => {
    expect(consoleReporter(new Redactor(), stream(false).out, new PassThrough()).progress).toBeUndefined()
  })
})
