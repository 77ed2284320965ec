// The verdict and phases as plain lines, for the terminal.

import { humanBytes } from '../run/bytes.js'
import type { VerificationResult } from './result.js'
import { restoreServerWords, restoredRows, seconds, trustWords, worthSaying } from './summary.js'
import { trendLines } from './trend-summary.js'

/** The verdict and phases as plain lines, for the terminal. */
export function summaryLines(result: VerificationResult): string[] {
  if (result.status === 'skipped') return [`SKIPPED: Backup tests require PostgreSQL, found: ${result.skippedEngine}`]
  const lines = result.phases.map(
    (phase) =>
      `  ${phase.name.padEnd(9)} ${phase.status.padEnd(8)} ` +
      `${phase.status === 'not run' ? '' : seconds(phase.durationMs).padStart(8)}  ${phase.detail}`
  )
  if (result.backup)
    lines.push(
      `  checksum  ${result.backup.sha256}`,
      `  size      ${result.backup.sizeBytes} bytes (${humanBytes(result.backup.sizeBytes)})`
    )
  if (result.backup?.kept) lines.push(`  kept at   ${result.backup.path}`)
  if (result.restoreServer && result.restoreServer.kind !== 'apart')
    lines.push(`  restored  on ${restoreServerWords(result.restoreServer)}`)
  if (result.safety && worthSaying(result.safety)) lines.push(`  trust     ${trustWords(result.safety, result)}`)
  const evidence = result.evidence
  if (evidence?.newestData)
    lines.push(
      `  newest    ${evidence.newestData.at} (${evidence.newestData.from}${evidence.ageSeconds === undefined ? '' : `, ${evidence.ageSeconds} s old`})`
    )
  if (evidence?.restoreMs !== undefined) lines.push(`  restore   ${seconds(evidence.restoreMs)} to a usable copy`)
  if (result.receiptPath) lines.push(`  receipt   ${result.receiptPath}`)
  const physical = result.physical?.databases
  const head =
    result.status === 'passed' && physical
      ? `PASSED: ${result.physical?.repository ? `the ${result.physical.repository.tool} backup ${result.backup?.path} restores and starts` : `the base backup ${result.backup?.existing ? result.backup.path : `of ${result.target}`} starts`}, consistent, amcheck clean: ${physical.map((entry) => `${entry.name} (${entry.tables} tables${entry.rows === undefined ? '' : `, ${entry.rows} rows`})`).join(', ')} in ${seconds(result.durationMs)}`
      : result.status === 'passed'
        ? `PASSED: the backup ${result.backup?.existing ? result.backup.path : `of ${result.target}`} restores (${result.tables?.restored.length} of ${result.tables?.source.length} tables${result.tables?.level === 'schema' ? '' : `, ${restoredRows(result)} rows`}) in ${seconds(result.durationMs)}`
        : `FAILED: ${result.error?.message}`
  const tail = result.status === 'failed' && result.error?.hint ? [`Hint: ${result.error.hint}`] : []
  const alerts = (result.alerts ?? []).map((alert) => `  ${alert.failed ? 'ALERT' : 'warning'} (${alert.input}): ${alert.message}`)
  const trend = result.history && result.history.trend.points.length >= 2 ? trendLines(result.history.trend) : []
  return [head, ...lines, ...alerts, ...tail, ...trend]
}
