// The alerts of the original script's monitoring, as thresholds on one run and on its history: each
// says which threshold and by how much. Whether an alert fails the run or only warns is alert-mode's.

import { describeBytes } from '../run/bytes.js'
import { Input } from '../run/names.js'
import { formatDuration } from '../run/duration.js'
import type { HistoryRecord } from './history.js'
import type { VerificationResult } from '../report/result.js'
import type { AlertThresholds } from '../inputs/inputs.js'
import { change, consecutiveFailures, lastPassing, sizesNotComparable, type Change } from './trend.js'

export interface Alert {
  /** The input whose threshold was crossed. */
  input: string
  message: string
}

/** The alerts this run raises, given the records before it (undefined: no history). */
export function evaluateAlerts(thresholds: AlertThresholds, result: VerificationResult, previous: HistoryRecord[] | undefined): Alert[] {
  if (result.status === 'skipped') return []
  const alerts: Alert[] = []
  const { maxDurationMs, minSizeBytes, maxShrinkPercent, maxGrowthPercent, maxConsecutiveFailures } = thresholds
  if (maxDurationMs !== undefined && result.durationMs > maxDurationMs) {
    alerts.push({
      input: Input.MaxDuration,
      message:
        `The run took ${formatDuration(result.durationMs)}, over max-duration (${formatDuration(maxDurationMs)}) ` +
        `by ${formatDuration(result.durationMs - maxDurationMs)}.`
    })
  }
  const size = result.backup?.sizeBytes
  if (thresholds.mode === 'warn' && size !== undefined && size < minSizeBytes) {
    alerts.push({
      input: Input.MinSize,
      message: `The backup is ${describeBytes(size)}, under min-size (${describeBytes(minSizeBytes)}) by ${describeBytes(minSizeBytes - size)}.`
    })
  }
  const before = previous && lastPassing(previous)
  if (before && result.status === 'passed') {
    const since = `since the last passing run (${before.time})`
    const rows = result.tables && result.tables.level !== 'schema' ? restoredRows(result) : undefined
    // Another format or compression changes the size and not the data: sizes compare between backups written alike; rows always.
    const sized = result.backup && !sizesNotComparable(before, result.backup) ? change(before.sizeBytes, size) : undefined
    const measured: Array<[string, Change | undefined, (value: number) => string]> = [
      ['backup', sized, describeBytes],
      ['rows', change(before.rows, rows), (value) => value.toLocaleString('en-US')]
    ]
    for (const [what, moved, show] of measured) {
      if (!moved || moved.percent === undefined) continue
      const shrink = -moved.percent
      if (maxShrinkPercent !== undefined && shrink > maxShrinkPercent) {
        alerts.push({
          input: Input.MaxShrink,
          message:
            `The ${what === 'backup' ? 'backup' : 'number of rows'} shrank by ${shrink.toFixed(1)}% ${since}: ` +
            `${show(moved.before)} to ${show(moved.now)}, more than max-shrink (${maxShrinkPercent}%) by ` +
            `${(shrink - maxShrinkPercent).toFixed(1)} points.`
        })
      }
      if (what === 'backup' && maxGrowthPercent !== undefined && moved.percent > maxGrowthPercent) {
        alerts.push({
          input: Input.MaxGrowth,
          message:
            `The backup grew by ${moved.percent.toFixed(1)}% ${since}: ${show(moved.before)} to ${show(moved.now)}, ` +
            `more than max-growth (${maxGrowthPercent}%) by ${(moved.percent - maxGrowthPercent).toFixed(1)} points.`
        })
      }
    }
  }
  const evidence = result.evidence
  if (thresholds.maxAgeMs !== undefined && evidence?.ageSeconds !== undefined && evidence.ageSeconds * 1000 > thresholds.maxAgeMs) {
    alerts.push({
      input: Input.MaxAge,
      message:
        `The copy's newest data (${evidence.newestData?.at}, from ${evidence.newestData?.from}) was ${formatDuration(evidence.ageSeconds * 1000)} old ` +
        `when the copy was ready, over max-age, the recovery point objective (${formatDuration(thresholds.maxAgeMs)}).`
    })
  }
  if (thresholds.maxAgeMs !== undefined && result.status === 'passed' && evidence?.ageSeconds === undefined) {
    alerts.push({
      input: Input.MaxAge,
      message:
        "max-age is set, and the copy's newest data has no time this run can read (a plain dump made without --verbose " +
        'has no "Started on" line): give freshness-query, the application\'s own time of its newest data.'
    })
  }
  if (thresholds.maxRestoreMs !== undefined && evidence?.restoreMs !== undefined && evidence.restoreMs > thresholds.maxRestoreMs) {
    alerts.push({
      input: Input.MaxRestoreTime,
      message:
        `The restore took ${formatDuration(evidence.restoreMs)} to a usable copy, over max-restore-time, the recovery time objective ` +
        `(${formatDuration(thresholds.maxRestoreMs)}), by ${formatDuration(evidence.restoreMs - thresholds.maxRestoreMs)}.`
    })
  }
  if (maxConsecutiveFailures !== undefined && result.status === 'failed') {
    const streak = consecutiveFailures(previous ?? []) + 1
    if (streak >= maxConsecutiveFailures) {
      alerts.push({
        input: Input.MaxConsecutiveFailures,
        message:
          `This is failed verification ${streak} in a row, reaching max-consecutive-failures (${maxConsecutiveFailures}): ` +
          `the backup procedure has been broken for ${streak} runs.`
      })
    }
  }
  return alerts
}

function restoredRows(result: VerificationResult): number {
  return (result.tables?.rows ?? []).reduce((sum, entry) => sum + (entry.restored ?? 0), 0)
}
