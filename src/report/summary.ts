// The job summary and the outputs, as pure functions of a VerificationResult.

import { humanBytes } from '../run/bytes.js'
import type { VerificationResult } from './result.js'
import type { TableComparison, TableRowCount } from '../compare/compare.js'

export interface SummaryTable {
  heading: string
  header: string[]
  rows: string[][]
}

export interface SummaryModel {
  title: string
  /** One line: the verdict, then the reason when there is one. Already HTML-escaped. */
  verdict: string
  hint?: string
  tables: SummaryTable[]
}

/** Lists from the database are capped so the summary stays far below the runner's 1 MiB limit. */
const MAX_LISTED = 50

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

function listed(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ')
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown
}

/** What else came back, as strongly as the verify level proves it. */
function cameBack(result: VerificationResult): string {
  if (result.tables?.reference === 'none')
    return ` and ${restoredRows(result)} rows (an existing backup: there is no source to compare them with)`
  switch (result.tables?.level) {
    case 'data':
      return ` and all ${restoredRows(result)} rows, with the same content,`
    case 'rows':
      return ` and all ${restoredRows(result)} rows`
    default:
      return ', with the same objects,'
  }
}

function restoredRows(result: VerificationResult): number {
  return (result.tables?.rows ?? []).reduce((total, entry) => total + (entry.restored ?? 0), 0)
}

function rowsMatch(entry: TableRowCount): boolean {
  return entry.source !== undefined && entry.source === entry.restored && entry.sourceFingerprint === entry.restoredFingerprint
}

const STATUS_ICON: Record<string, string> = { passed: '✅ passed', failed: '❌ failed', 'not run': '⏭️ not run' }

/** How the summary names what the restore was compared with. */
const REFERENCE_WORDS: Record<TableComparison['reference'], { short: string; rows: string; column: string }> = {
  snapshot: { short: 'source', rows: 'dumped', column: 'Rows in the dump' },
  receipt: { short: 'receipt', rows: 'receipt', column: 'Rows in the receipt' },
  none: { short: 'backup', rows: 'backup', column: 'Rows' }
}

/** Definitions are long (a function's body): a cell shows their start. */
const MAX_DEFINITION_CELL = 300

function definitionCell(text: string | undefined, hashed: boolean): string {
  if (text === undefined) return '— (absent)'
  if (hashed) return `<i>hash ${escapeHtml(text.slice(0, 12))}…</i>`
  const flat = text.replace(/\s+/g, ' ').trim()
  return `<code>${escapeHtml(flat.length > MAX_DEFINITION_CELL ? `${flat.slice(0, MAX_DEFINITION_CELL)}…` : flat)}</code>`
}

export function buildSummary(result: VerificationResult): SummaryModel {
  const title = 'Backup verification'
  if (result.status === 'skipped') {
    return {
      title,
      verdict: `⏭️ Skipped: Backup tests require PostgreSQL, found: ${escapeHtml(result.skippedEngine ?? 'unknown')}`,
      tables: []
    }
  }
  const failedPhase = result.phases.find((phase) => phase.status === 'failed')
  const verdict =
    result.status === 'passed'
      ? `✅ The backup restores: ${result.tables?.restored.length ?? 0} of ` +
        `${result.tables?.source.length ?? 0} tables${cameBack(result)} came back in a temporary database.`
      : `❌ Verification failed${failedPhase ? ` in ${failedPhase.name}` : ''}: ${escapeHtml(result.error?.message ?? 'unknown error')}`
  const tables: SummaryTable[] = [
    {
      heading: 'Phases',
      header: ['Phase', 'Status', 'Duration', 'Detail'],
      rows: result.phases.map((phase) => [
        phase.name,
        STATUS_ICON[phase.status],
        phase.status === 'not run' ? '' : seconds(phase.durationMs),
        escapeHtml(phase.detail)
      ])
    }
  ]
  const facts: string[][] = []
  if (result.target) facts.push(['Database', escapeHtml(result.target)])
  if (result.restoreTarget) facts.push(['Restored on', escapeHtml(result.restoreTarget)])
  if (result.serverVersion) facts.push(['Server version', escapeHtml(result.serverVersion)])
  if (result.client) {
    const { version, directory, origin, reason } = result.client
    facts.push(['Client tools', `${escapeHtml(version)}, ${origin} (${escapeHtml(reason)}): <code>${escapeHtml(directory)}</code>`])
  }
  if (result.backup) {
    facts.push(['Backup size', `${result.backup.sizeBytes} bytes (${humanBytes(result.backup.sizeBytes)})`])
    facts.push(['SHA-256', `<code>${result.backup.sha256}</code>`])
    facts.push(['Format', `${result.backup.format}${result.backup.files ? ` (${result.backup.files} files)` : ''}`])
    facts.push(['Compression', escapeHtml(result.backup.compression)])
    facts.push(['Parallel jobs', String(result.backup.jobs)])
    if (result.backup.existing) facts.push(['Backup file', `<code>${escapeHtml(result.backup.path)}</code> (verified where it is)`])
    else if (result.backup.kept) facts.push(['Backup kept at', `<code>${escapeHtml(result.backup.path)}</code>`])
  }
  if (result.tables) {
    facts.push(['Verify level', result.tables.level])
    const reference = REFERENCE_WORDS[result.tables.reference]
    facts.push([`Tables (${reference.short} / restored)`, `${result.tables.source.length} / ${result.tables.restored.length}`])
    const sum = (pick: (entry: TableRowCount) => number | undefined) =>
      result.tables!.rows.reduce((total, entry) => total + (pick(entry) ?? 0), 0)
    if (result.tables.level !== 'schema')
      facts.push([`Rows (${reference.rows} / restored)`, `${sum((entry) => entry.source)} / ${sum((entry) => entry.restored)}`])
    if (result.tables.reference !== 'none') {
      const { compared, by, differences } = result.tables.definitions
      facts.push([
        'Definitions compared',
        `${compared}${by === 'name' ? ' (by name only: the restore server is another major, whose wording of definitions differs)' : by === 'hash' ? " (against the receipt's hashes)" : ''}${differences.length > 0 ? `, ${differences.length} differ` : ', all the same'}`
      ])
    }
    if (result.tables.missing.length) facts.push(['Missing after restore', escapeHtml(listed(result.tables.missing))])
    if (result.tables.extra.length) facts.push(['Unexpected after restore', escapeHtml(listed(result.tables.extra))])
  }
  if (result.ignoredRestoreErrors) {
    facts.push(['Restore errors ignored', `${result.ignoredRestoreErrors.total}: ${escapeHtml(result.ignoredRestoreErrors.detail)}`])
  }
  if (result.restoreDatabase) {
    const { name, dropped } = result.restoreDatabase
    facts.push(['Temporary database', `${escapeHtml(name)} (${dropped ? 'dropped' : 'could not be dropped; the post step tries again'})`])
  }
  facts.push(['Duration', seconds(result.durationMs)])
  if (result.receiptPath) facts.push(['Receipt', `<code>${escapeHtml(result.receiptPath)}</code>`])
  tables.push({ heading: 'Facts', header: ['Fact', 'Value'], rows: facts })
  if (result.tables && result.tables.rows.length > 0) {
    // Mismatches first, then the largest tables; capped for databases with many tables.
    const sorted = [...result.tables.rows].sort(
      (a, b) =>
        Number(rowsMatch(a)) - Number(rowsMatch(b)) ||
        (b.source ?? b.restored ?? 0) - (a.source ?? a.restored ?? 0) ||
        a.table.localeCompare(b.table)
    )
    const shown = sorted.slice(0, MAX_LISTED)
    const content = result.tables.level === 'data'
    tables.push({
      heading: sorted.length > MAX_LISTED ? `Tables (${MAX_LISTED} of ${sorted.length}, mismatches first)` : 'Tables',
      header: ['Table', REFERENCE_WORDS[result.tables.reference].column, 'Rows restored', ...(content ? ['Content'] : []), 'Match'],
      rows: shown.map((entry) => [
        `<code>${escapeHtml(entry.table)}</code>`,
        entry.source === undefined ? '—' : String(entry.source),
        entry.restored === undefined ? '—' : String(entry.restored),
        ...(content
          ? [
              entry.sourceFingerprint !== undefined && entry.sourceFingerprint === entry.restoredFingerprint
                ? 'same fingerprint'
                : 'differs'
            ]
          : []),
        rowsMatch(entry) ? '✅' : '❌'
      ])
    })
  }
  const differences = result.tables?.definitions.differences ?? []
  if (result.tables && differences.length > 0) {
    const hashed = result.tables.definitions.by === 'hash'
    const where = REFERENCE_WORDS[result.tables.reference].short
    tables.push({
      heading:
        differences.length > MAX_LISTED ? `Definitions that differ (${MAX_LISTED} of ${differences.length})` : 'Definitions that differ',
      header: ['Object', `In the ${where}`, 'Restored'],
      rows: differences
        .slice(0, MAX_LISTED)
        .map((difference) => [
          `${escapeHtml(difference.kind)} <code>${escapeHtml(difference.name)}</code>`,
          definitionCell(difference.source, hashed),
          definitionCell(difference.restored, false)
        ])
    })
  }
  if (result.tables && result.tables.objects.length > 0) {
    tables.push({
      heading: 'Objects by kind',
      header: ['Kind', 'Source', 'Restored', 'Match'],
      rows: result.tables.objects.map((entry) => [
        entry.kind,
        String(entry.source),
        String(entry.restored),
        entry.source === entry.restored ? '✅' : '❌'
      ])
    })
  }
  if (result.checks) {
    tables.push({
      heading: 'Validation checks',
      header: ['Check', 'Result', 'Detail'],
      rows: result.checks.map((check) => [escapeHtml(check.name), check.passed ? '✅' : '❌', escapeHtml(check.detail)])
    })
  }
  return { title, verdict, hint: result.error?.hint && escapeHtml(result.error.hint), tables }
}

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
  const head =
    result.status === 'passed'
      ? `PASSED: the backup ${result.backup?.existing ? result.backup.path : `of ${result.target}`} restores (${result.tables?.restored.length} of ${result.tables?.source.length} tables${result.tables?.level === 'schema' ? '' : `, ${restoredRows(result)} rows`}) in ${seconds(result.durationMs)}`
      : `FAILED: ${result.error?.message}`
  const tail = result.status === 'failed' && result.error?.hint ? [`Hint: ${result.error.hint}`] : []
  return [head, ...lines, ...tail]
}
