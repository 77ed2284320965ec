// The trend across runs, from the history's records (this run's last): the figures over the window,
// the change since the last passing run, the failure rate and the current run of failures.

import type { Change, RunFigures, Trend } from '../report/result.js'

export type { Change, RunFigures, Trend }

export function change(before: number | undefined, now: number | undefined): Change | undefined {
  if (before === undefined || now === undefined) return undefined
  return { before, now, delta: now - before, percent: before === 0 ? undefined : ((now - before) / before) * 100 }
}

/**
 * Why two backups' sizes say nothing of their data, when they do not: another format or compression
 * makes the same rows a smaller or larger file. Undefined when they were written alike.
 */
export function sizesNotComparable(
  before: Pick<RunFigures, 'format' | 'compression'>,
  now: Pick<RunFigures, 'format' | 'compression'>
): string | undefined {
  if (before.format === now.format && before.compression === now.compression) return undefined
  const written = (run: Pick<RunFigures, 'format' | 'compression'>) =>
    `${run.format ?? 'an unrecorded format'}, compression ${run.compression ?? 'unrecorded'}`
  return `the backup was written otherwise (${written(before)} then, ${written(now)} now)`
}

/** The last passing record among those given, newest first. */
export function lastPassing<T extends RunFigures>(records: T[]): T | undefined {
  for (let index = records.length - 1; index >= 0; index--) if (records[index].result === 'passed') return records[index]
  return undefined
}

/** Failed runs in a row at the end; a skipped run neither counts nor breaks the streak. */
export function consecutiveFailures(records: RunFigures[]): number {
  let streak = 0
  for (let index = records.length - 1; index >= 0; index--) {
    const result = records[index].result
    if (result === 'skipped') continue
    if (result !== 'failed') break
    streak++
  }
  return streak
}

/** The trend over `records`, whose last is this run's own. */
export function trendOf(records: RunFigures[]): Trend {
  const current = records[records.length - 1]
  const previous = lastPassing(records.slice(0, -1))
  const counted = records.filter((record) => record.result !== 'skipped')
  const failed = counted.filter((record) => record.result === 'failed').length
  const notComparable = previous && current && current.sizeBytes !== undefined ? sizesNotComparable(previous, current) : undefined
  return {
    points: records.map(({ time, result, durationMs, sizeBytes, rows, tables, restoreMs, backupAgeSeconds }) => ({
      time,
      result,
      durationMs,
      sizeBytes,
      rows,
      tables,
      restoreMs,
      backupAgeSeconds
    })),
    sinceLastPass:
      previous && current
        ? {
            time: previous.time,
            size: notComparable ? undefined : change(previous.sizeBytes, current.sizeBytes),
            ...(notComparable ? { sizeNotCompared: notComparable } : {}),
            rows: change(previous.rows, current.rows),
            tables: change(previous.tables, current.tables),
            duration: change(previous.durationMs, current.durationMs) as Change,
            restore: change(previous.restoreMs, current.restoreMs),
            age: change(previous.backupAgeSeconds, current.backupAgeSeconds)
          }
        : undefined,
    counted: counted.length,
    failed,
    failureRate: counted.length === 0 ? 0 : failed / counted.length,
    consecutiveFailures: consecutiveFailures(records)
  }
}
