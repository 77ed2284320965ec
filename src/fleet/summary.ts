// The fleet report as the job summary shows it (HTML, every value from a receipt escaped, under the
// summary's 1 MiB) and as the log prints it (aligned plain text): pure functions of the report.

import { humanBytes } from '../run/bytes.js'
import { formatAge, formatDuration } from '../run/duration.js'
import { escapeHtml } from '../report/html.js'
import type { Change } from '../report/result.js'
import { RECEIPT_SCHEMA_VERSION } from '../records/receipt.js'
import type { FleetDatabase, FleetReport } from './report.js'

const HEADER = ['Database', 'Verdict', 'Method', 'Size', 'Rows', 'Duration', 'Restore', 'Backup age', 'Failed in', 'Reason', 'Runs']

const VERDICT: Record<FleetDatabase['status'], string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
  stale: '⌛ too old'
}

/** The summary stays well under GitHub's 1 MiB a step: rows past this are left to the report's JSON. */
const HTML_BUDGET = 800_000

/** "✅ 40 databases verified" or "❌ 2 failed, 1 missing; 37 passed, 0 skipped": the report's first line. */
function fleetHeadline(report: FleetReport): string {
  const { passed, failed, skipped, missing, databases } = report.totals
  if (report.verdict === 'passed') {
    return `✅ ${passed} of ${databases} database${databases === 1 ? '' : 's'} verified${skipped ? `, ${skipped} skipped (not PostgreSQL)` : ''}.`
  }
  if (databases === 0 && missing === 0) return `❌ ${report.reason}.`
  return `❌ ${failed} failed, ${missing} missing; ${passed} passed, ${skipped} skipped.`
}

export function fleetSummaryHtml(report: FleetReport): string {
  const element = (tag: string, content: string) => `<${tag}>${content}</${tag}>`
  const row = (tag: 'th' | 'td', cells: string[]) => element('tr', cells.map((cell) => element(tag, cell)).join(''))
  const parts = [element('h2', 'Backup verification: the fleet'), element('p', escapeHtml(fleetHeadline(report)))]
  if (report.failOn === 'none' && report.verdict === 'failed') parts.push(element('p', 'fail-on is none: the step passes all the same.'))
  // Every part is measured in bytes as it is added; what the budget cannot hold is counted, and left to the JSON.
  let size = Buffer.byteLength(parts.join('\n'))
  let left = 0
  const within = (items: string[]): string[] => {
    const kept: string[] = []
    for (const item of items) {
      const bytes = Buffer.byteLength(item)
      if (size + bytes > HTML_BUDGET) left++
      else {
        size += bytes
        kept.push(item)
      }
    }
    return kept
  }
  const rows = within(report.databases.map((database) => row('td', cellsOf(database).map(escapeHtml))))
  if (rows.length > 0) parts.push(element('h3', 'Databases'), element('table', [row('th', HEADER), ...rows].join('')))
  const missing = within(
    report.missing.map((entry) => element('li', `<b>${escapeHtml(entry.name ?? entry.file ?? '')}</b>: ${escapeHtml(entry.reason)}`))
  )
  if (missing.length > 0) parts.push(element('h3', `Missing (${report.missing.length})`), element('ul', missing.join('')))
  const leftOut = within(
    report.filesLeftOut.map((entry) =>
      element('li', `${escapeHtml(entry.file)} (${escapeHtml(entry.name)}, which has a readable receipt): ${escapeHtml(entry.reason)}`)
    )
  )
  if (leftOut.length > 0) parts.push(element('h3', 'Files that are not receipts'), element('ul', leftOut.join('')))
  const histories = within(
    report.unreadableHistories.map((entry) => element('li', `${escapeHtml(entry.file)}: ${escapeHtml(entry.reason)}`))
  )
  if (histories.length > 0) parts.push(element('h3', 'Histories left out of the trend'), element('ul', histories.join('')))
  if (left > 0)
    parts.push(element('p', `${left} more lines are in the report's JSON (output report-path): the summary is kept under 1 MiB.`))
  parts.push(element('p', 'Arrows: the change since the last passing run in the database’s history (→ within 5%).'))
  return `${parts.join('\n')}\n`
}

/** The report as the log prints it: the headline, a table in aligned columns, the missing list. */
export function fleetSummaryText(report: FleetReport): string[] {
  const table = [HEADER, ...report.databases.map((database) => cellsOf(database).map((cell) => clip(cell, 60)))]
  const widths = HEADER.map((_, column) => Math.max(...table.map((cells) => [...cells[column]].length)))
  const lines = [fleetHeadline(report)]
  if (report.databases.length > 0) {
    lines.push(
      '',
      ...table.map((cells) =>
        cells
          .map((cell, column) => cell + ' '.repeat(widths[column] - [...cell].length))
          .join('  ')
          .trimEnd()
      )
    )
  }
  if (report.missing.length > 0) {
    lines.push(
      '',
      `Missing (${report.missing.length}):`,
      ...report.missing.map((entry) => `  ${entry.name ?? entry.file}: ${entry.reason}`)
    )
  }
  for (const entry of report.filesLeftOut) lines.push(`Not a receipt: ${entry.file} (${entry.name} has a readable one): ${entry.reason}`)
  for (const entry of report.unreadableHistories) lines.push(`History left out of the trend: ${entry.file}: ${entry.reason}`)
  return lines
}

function cellsOf(database: FleetDatabase): string[] {
  const since = database.trend?.sinceLastPass
  const trend = database.trend
  const note = [
    database.olderReceipts > 0 ? `${database.olderReceipts} older receipt${database.olderReceipts === 1 ? '' : 's'} not counted` : ''
  ]
  if (database.unexpected) note.push('not among the names expected')
  if (database.schemaVersion > RECEIPT_SCHEMA_VERSION)
    note.push(`receipt schema ${database.schemaVersion}, read for the fields this report knows`)
  const reason = [database.problem && database.reason ? `${database.problem}: ${database.reason}` : (database.reason ?? ''), ...note]
    .filter(Boolean)
    .join('; ')
  return [
    database.name,
    VERDICT[database.status],
    [database.method, database.format && database.format !== 'physical' ? database.format : undefined].filter(Boolean).join(', '),
    withArrow(database.sizeBytes === undefined ? '' : humanBytes(database.sizeBytes), since?.size),
    withArrow(database.rows === undefined ? '' : database.rows.toLocaleString('en-US'), since?.rows),
    withArrow(formatDuration(database.durationMs), since?.duration),
    withArrow(database.restoreMs === undefined ? '' : formatDuration(database.restoreMs), since?.restore),
    withArrow(database.backupAgeSeconds === undefined ? '' : formatAge(database.backupAgeSeconds), since?.age),
    database.failedPhase ?? '',
    clip(reason, 300),
    trend
      ? `${trend.counted - trend.failed} of ${trend.counted} passed${trend.consecutiveFailures > 1 ? `, ${trend.consecutiveFailures} failed in a row` : ''}`
      : ''
  ]
}

/** A figure with its move since the last passing run: "12.3 MiB ↑ 12%", "4 s →". */
function withArrow(figure: string, moved: Change | undefined): string {
  if (figure === '' || !moved) return figure
  const steady = moved.delta === 0 || (moved.percent !== undefined && Math.abs(moved.percent) < 5)
  if (steady) return `${figure} →`
  const arrow = moved.delta > 0 ? '↑' : '↓'
  return moved.percent === undefined ? `${figure} ${arrow}` : `${figure} ${arrow} ${Math.round(Math.abs(moved.percent))}%`
}

function clip(text: string, length: number): string {
  const characters = [...text]
  return characters.length > length ? `${characters.slice(0, length - 1).join('')}…` : text
}
