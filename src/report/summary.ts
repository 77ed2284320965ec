// The job summary's model, a pure function of a VerificationResult: its HTML is summary-html.ts's,
// the terminal's lines summary-text.ts's.

import { describeSinceReceipt } from './since-receipt.js'
import { humanBytes } from '../run/bytes.js'
import { formatDuration } from '../run/duration.js'
import type { BackupFacts, RepositoryFacts, RestoreServerFacts, SafetyFacts, VerificationResult } from './result.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import { describeProof, type TableComparison, type TableRowCount } from '../compare/compare.js'
import { trendSection, type TrendSection } from './trend-summary.js'
import { escapeHtml } from './html.js'

interface SummaryTable {
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
  /** Across runs, when the history holds at least two records. Plain text: escaped when rendered. */
  trend?: TrendSection
}

/** Lists from the database are capped so the summary stays far below the runner's 1 MiB limit. */
const MAX_LISTED = 50

export function seconds(ms: number): string {
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

export function restoredRows(result: VerificationResult): number {
  return (result.tables?.rows ?? []).reduce((total, entry) => total + (entry.restored ?? 0), 0)
}

function rowsMatch(entry: TableRowCount): boolean {
  return entry.source !== undefined && entry.source === entry.restored && entry.sourceFingerprint === entry.restoredFingerprint
}

const STATUS_ICON: Record<string, string> = { passed: '✅ passed', failed: '❌ failed', 'not run': '⏭️ not run' }

/** How the summary names what the restore was compared with. */
const REFERENCE_WORDS: Record<TableComparison['reference'], { short: string; rows: string; column: string }> = {
  // The rows are counted in the source, in the snapshot pg_dump read: the dump holds them, but was not counted.
  snapshot: { short: 'source', rows: 'source', column: 'Rows in the source' },
  receipt: { short: 'receipt', rows: 'receipt', column: 'Rows in the receipt' },
  backup: { short: 'backup', rows: 'backup', column: 'Rows in the backup' },
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
  const comparison = result.tables
  const tables = [
    ...(result.alerts ? [alertsTable(result.alerts)] : []),
    phasesTable(result),
    ...(result.physical ? physicalTables(result.physical) : []),
    ...(result.teamChecks ? [teamChecksTable(result.teamChecks)] : []),
    { heading: 'Facts', header: ['Fact', 'Value'], rows: facts(result) },
    ...(comparison ? [tablesTable(comparison), definitionsTable(comparison), objectsTable(comparison)] : []),
    ...(result.checks ? [checksTable(result.checks)] : [])
  ]
  return {
    title,
    verdict: verdictOf(result),
    hint: result.error?.hint && escapeHtml(result.error.hint),
    tables: tables.filter((table) => table.rows.length > 0),
    trend: result.history && result.history.trend.points.length >= 2 ? trendSection(result.history.trend) : undefined
  }
}

function alertsTable(alerts: NonNullable<VerificationResult['alerts']>): SummaryTable {
  return {
    heading: 'Alerts',
    header: ['Threshold', 'Result', 'Detail'],
    rows: alerts.map((alert) => [
      `<code>${escapeHtml(alert.input)}</code>`,
      alert.failed ? '❌ failed' : '⚠️ warning',
      escapeHtml(alert.message)
    ])
  }
}

/** A repository's backup: which, when, the tool's own check, and the recovery point and time a DR review asks for. */
function repositoryRows(repository: RepositoryFacts, major: number): string[][] {
  const tool = repository.tool === 'pgbackrest' ? 'pgBackRest' : 'Barman'
  const rows: string[][] = [
    [
      'Backup',
      `${tool} ${escapeHtml(repository.toolVersion)}, ${repository.tool === 'pgbackrest' ? 'stanza' : 'server'} <code>${escapeHtml(repository.name)}</code>: ` +
        `${escapeHtml(repository.type)} backup <code>${escapeHtml(repository.label)}</code>${repository.prior ? ` (on top of <code>${escapeHtml(repository.prior)}</code>)` : ''}, PostgreSQL ${major}`
    ],
    ['Taken', `${escapeHtml(repository.startedAt)} to ${escapeHtml(repository.stoppedAt)}`]
  ]
  if (repository.sizeBytes !== undefined)
    rows.push([
      'Size',
      `${humanBytes(repository.sizeBytes)}${repository.repositoryBytes !== undefined ? `, ${humanBytes(repository.repositoryBytes)} in the repository` : ''}`
    ])
  if (repository.toolCheck)
    rows.push([`${tool}'s own check`, `${repository.toolCheck.passed ? '✅' : '❌'} ${escapeHtml(repository.toolCheck.detail)}`])
  rows.push(['Recovered to', escapeHtml(repository.recoveryTarget)])
  // The recovery point and the whole time to restore are among the facts, for every method; here, the time's parts.
  if (repository.restoreMs)
    rows.push([
      'Restore and recovery',
      `${seconds(repository.restoreMs.total)} (${repository.tool} restore ${seconds(repository.restoreMs.files)}, recovery ${seconds(repository.restoreMs.recovery)})`
    ])
  return rows
}

/** The recovery, the checks on the started copy, and what each database holds. */
function physicalTables(physical: NonNullable<VerificationResult['physical']>): SummaryTable[] {
  const repository = physical.repository
  const rows: string[][] = repository
    ? repositoryRows(repository, physical.major)
    : [
        ['Layout', `pg_basebackup, ${physical.layout} format, PostgreSQL ${physical.major}`],
        ['Manifest', `${physical.manifest.verified ? '✅' : '⚠️'} ${escapeHtml(physical.manifest.detail)}`]
      ]
  if (physical.server)
    rows.push([
      'Server binaries',
      `${escapeHtml(physical.server.version)}, ${physical.server.origin}: <code>${escapeHtml(physical.server.directory)}</code>`
    ])
  if (physical.label)
    rows.push([
      'Backup starts at',
      `${physical.label.startLsn} (segment ${physical.label.startSegment}, timeline ${physical.label.timeline})`
    ])
  const recovery = physical.recovery
  if (recovery) {
    rows.push(
      ['Redo', `${recovery.redoStart ?? '—'} to ${recovery.redoDone ?? '—'}`],
      ['Consistent at', recovery.consistentAt ?? '— (crash recovery to the end of the WAL)'],
      ['Timeline after promotion', String(recovery.timeline ?? '—')],
      ['WAL segments from the archive', String(recovery.segmentsRestored)],
      ['Time to consistency', seconds(recovery.millisecondsToConsistent)]
    )
    if (recovery.targetReached) rows.push(['Recovery target', escapeHtml(recovery.targetReached)])
  }
  if (physical.comparison) {
    const { database, compared, written, mismatches } = physical.comparison
    rows.push([
      `Compared with the source (${escapeHtml(database)})`,
      `${mismatches.length === 0 ? '✅' : '❌'} ${compared} table(s) quiet during the backup compared exactly` +
        `${mismatches.length ? `; differ: ${escapeHtml(listed(mismatches))}` : ''}` +
        `${written.length ? `; written during the backup, not held to one figure: ${escapeHtml(listed(written))}` : ''}`
    ])
  }
  if (physical.amcheck) rows.push(['amcheck', `${physical.amcheck.passed ? '✅' : '❌'} ${escapeHtml(physical.amcheck.detail)}`])
  if (physical.checksums) {
    rows.push([
      'Page checksums',
      physical.checksums.enabled
        ? `on; ${physical.checksums.failures} failure(s)`
        : 'off in this cluster (initdb --data-checksums turns them on)'
    ])
  }
  const databases = physical.databases ?? []
  return [
    { heading: 'Recovery', header: ['Fact', 'Value'], rows },
    {
      heading: 'Databases in the copy',
      header: ['Database', 'Tables', 'Rows'],
      rows: databases.map((entry) => [
        `<code>${escapeHtml(entry.name)}</code>`,
        String(entry.tables),
        entry.rows === undefined ? '—' : String(entry.rows)
      ])
    }
  ]
}

function verdictOf(result: VerificationResult): string {
  const physical = result.physical
  if (result.status === 'passed' && physical) {
    const databases = physical.databases ?? []
    const tables = databases.reduce((sum, entry) => sum + entry.tables, 0)
    const rows = databases.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    return (
      `✅ ${physical.repository ? `The ${physical.repository.tool} backup ${escapeHtml(physical.repository.label)} restores and starts` : 'The base backup starts'}: ${databases.length} database(s), ${tables} tables and ${rows} rows came back in a throwaway ` +
      `PostgreSQL ${physical.major}, consistent${physical.recovery?.consistentAt ? ` at ${physical.recovery.consistentAt}` : ''}; ` +
      `${physical.amcheck?.ran ? 'amcheck found no corruption' : 'amcheck did not run'}` +
      `${physical.amcheck?.notChecked?.length ? `; not checked: ${physical.amcheck.notChecked.map(escapeHtml).join(', ')}` : ''}.`
    )
  }
  if (result.status === 'passed') {
    return (
      `✅ The backup restores: ${result.tables?.restored.length ?? 0} of ` +
      `${result.tables?.source.length ?? 0} tables${cameBack(result)} came back in a temporary database.`
    )
  }
  const failedPhase = result.phases.find((phase) => phase.status === 'failed')
  return `❌ Verification failed${failedPhase ? ` in ${failedPhase.name}` : ''}: ${escapeHtml(result.error?.message ?? 'unknown error')}`
}

function phasesTable(result: VerificationResult): SummaryTable {
  return {
    heading: 'Phases',
    header: ['Phase', 'Status', 'Duration', 'Detail'],
    rows: result.phases.map((phase) => [
      phase.name,
      STATUS_ICON[phase.status],
      phase.status === 'not run' ? '' : seconds(phase.durationMs),
      escapeHtml(phase.detail)
    ])
  }
}

/** Where, with what, on which backup, compared how, and the run's own traces. */
function facts(result: VerificationResult): string[][] {
  const facts: string[][] = []
  if (result.target) facts.push(['Database', escapeHtml(result.target)])
  if (result.restoreTarget) facts.push(['Restored on', escapeHtml(result.restoreTarget)])
  if (result.restoreServer && result.restoreServer.kind !== 'apart')
    facts.push(['Restore server', escapeHtml(restoreServerWords(result.restoreServer))])
  if (result.serverVersion) facts.push(['Server version', escapeHtml(result.serverVersion)])
  if (result.client) {
    const { version, directory, origin, reason } = result.client
    facts.push(['Client tools', `${escapeHtml(version)}, ${origin} (${escapeHtml(reason)}): <code>${escapeHtml(directory)}</code>`])
  }
  if (result.backup) facts.push(...backupFacts(result.backup))
  if (result.safety && worthSaying(result.safety)) facts.push(...safetyFacts(result.safety, result))
  if (result.tables) facts.push(...comparisonFacts(result.tables))
  if (result.sinceReceipt)
    facts.push(...describeSinceReceipt(result.sinceReceipt).map(([label, text]) => [escapeHtml(label), escapeHtml(text)]))
  if (result.ignoredRestoreErrors) {
    facts.push(['Restore errors ignored', `${result.ignoredRestoreErrors.total}: ${escapeHtml(result.ignoredRestoreErrors.detail)}`])
  }
  if (result.restoreDatabase) {
    const { name, dropped } = result.restoreDatabase
    facts.push(['Temporary database', `${escapeHtml(name)} (${dropped ? 'dropped' : 'could not be dropped; the post step tries again'})`])
  }
  const evidence = result.evidence
  if (evidence?.newestData)
    facts.push([
      'Newest data in the copy (recovery point)',
      `${escapeHtml(evidence.newestData.at)}, from ${escapeHtml(evidence.newestData.from)}${evidence.ageSeconds === undefined ? '' : `: ${formatDuration(evidence.ageSeconds * 1000)} old once the copy was ready`}`
    ])
  if (evidence?.restoreMs !== undefined)
    facts.push(['Time to restore (recovery time)', `${seconds(evidence.restoreMs)}, from the restore's start to a usable copy`])
  facts.push(['Duration', seconds(result.durationMs)])
  if (result.receiptPath) facts.push(['Receipt', `<code>${escapeHtml(result.receiptPath)}</code>`])
  return facts
}

function backupFacts(backup: BackupFacts): string[][] {
  const facts = [
    ['Backup size', `${backup.sizeBytes} bytes (${humanBytes(backup.sizeBytes)})`],
    ['SHA-256', `<code>${backup.sha256}</code>`],
    ['Format', `${backup.format}${backup.files ? ` (${backup.files} files)` : ''}`],
    ['Compression', escapeHtml(backup.compression)],
    ['Parallel jobs', String(backup.jobs)]
  ]
  if (backup.existing) facts.push(['Backup file', `<code>${escapeHtml(backup.path)}</code> (verified where it is)`])
  else if (backup.kept) facts.push(['Backup kept at', `<code>${escapeHtml(backup.path)}</code>`])
  return facts
}

/** Where the restore ran: the throwaway server (its version, binaries, start, what it does not keep, roles made), or the source's and why. */
export function restoreServerWords(server: RestoreServerFacts): string {
  if (server.kind !== 'throwaway') return `the source's server (${server.reason})`
  const started = ((server.startupMs.initdb + server.startupMs.start) / 1000).toFixed(1)
  return (
    `a throwaway PostgreSQL ${server.version} of the run's own (binaries ${server.binaries.origin}: ${server.binaries.directory}), ` +
    `ready in ${started} s, socket only, removed at the end; not durable: ${server.notDurable.join(', ')}; ` +
    `roles made there: ${server.rolesCreated.length > 0 ? server.rolesCreated.join(', ') : 'none needed'}`
  )
}

/** "backup from an untrusted source: restored into <where>, N statement(s) refused", or what vouched for it. */
export function trustWords(safety: SafetyFacts, result: VerificationResult): string {
  const server = result.restoreServer?.kind === 'throwaway' ? "the run's throwaway server" : (result.restoreTarget ?? result.target)
  const where = `${result.restoreDatabase?.name ?? 'a temporary database'}${server ? ` on ${server}` : ''}`
  const refused = `${safety.refused} statement(s) refused`
  // The temporary database exists once the restore has started: before that, nothing was restored.
  const restored = result.restoreDatabase !== undefined
  const source = safety.trusted ? `vouched for by ${safety.trustedBy}` : 'backup from an untrusted source'
  if (restored) return `${source}: restored into ${where}, ${refused}`
  return `${source}, to be restored into ${where}: ${refused}, nothing restored`
}

/** A backup this run made, that the gate let through whole, needs no word on trust. */
export function worthSaying(safety: SafetyFacts): boolean {
  return safety.trustedBy !== 'this run' || safety.refused > 0 || safety.standIn !== undefined || safety.untrustedCode.length > 0
}

/** Whether anything vouched for the backup, where it went, what the gate refused or stood in for. */
function safetyFacts(safety: SafetyFacts, result: VerificationResult): string[][] {
  const facts = [['Trust', escapeHtml(trustWords(safety, result))]]
  if (safety.standIn) {
    facts.push([
      'Stood in for',
      escapeHtml(
        `database ${safety.standIn} (a --create dump): ${safety.leftOut} statement(s) of its preamble left out, ${safety.rewritten} applied to the temporary database`
      )
    ])
  }
  if (safety.untrustedCode.length > 0) facts.push(["Code for the server's host", escapeHtml(listed(safety.untrustedCode))])
  return facts
}

function comparisonFacts(comparison: TableComparison): string[][] {
  const reference = REFERENCE_WORDS[comparison.reference]
  const sum = (pick: (entry: TableRowCount) => number | undefined) =>
    comparison.rows.reduce((total, entry) => total + (pick(entry) ?? 0), 0)
  const facts = [
    ['Verify level', escapeHtml(describeProof(comparison))],
    [`Tables (${reference.short} / restored)`, `${comparison.source.length} / ${comparison.restored.length}`]
  ]
  if (comparison.leftOut.length > 0) {
    const more = comparison.leftOut.length - MAX_LISTED
    const shown = comparison.leftOut.slice(0, MAX_LISTED).join('; ') + (more > 0 ? `; and ${more} more` : '')
    facts.push(['Left out of the comparison', escapeHtml(shown)])
  }
  if (comparison.level !== 'schema') {
    facts.push([`Rows (${reference.rows} / restored)`, `${sum((entry) => entry.source)} / ${sum((entry) => entry.restored)}`])
  }
  if (comparison.reference !== 'none') {
    const { compared, by, differences } = comparison.definitions
    const how =
      by === 'name'
        ? ' (by name only: the restore server is another major, whose wording of definitions differs)'
        : by === 'hash'
          ? " (against the receipt's hashes)"
          : ''
    facts.push(['Definitions compared', `${compared}${how}${differences.length > 0 ? `, ${differences.length} differ` : ', all the same'}`])
  }
  if (comparison.missing.length) facts.push(['Missing after restore', escapeHtml(listed(comparison.missing))])
  if (comparison.extra.length) facts.push(['Unexpected after restore', escapeHtml(listed(comparison.extra))])
  return facts
}

/** Mismatches first, then the largest tables; capped for databases with many tables. */
function tablesTable(comparison: TableComparison): SummaryTable {
  const sorted = [...comparison.rows].sort(
    (a, b) =>
      Number(rowsMatch(a)) - Number(rowsMatch(b)) ||
      (b.source ?? b.restored ?? 0) - (a.source ?? a.restored ?? 0) ||
      a.table.localeCompare(b.table)
  )
  const content = comparison.level === 'data'
  const sameContent = (entry: TableRowCount) =>
    entry.sourceFingerprint !== undefined && entry.sourceFingerprint === entry.restoredFingerprint
  return {
    heading: sorted.length > MAX_LISTED ? `Tables (${MAX_LISTED} of ${sorted.length}, mismatches first)` : 'Tables',
    header: ['Table', REFERENCE_WORDS[comparison.reference].column, 'Rows restored', ...(content ? ['Content'] : []), 'Match'],
    rows: sorted
      .slice(0, MAX_LISTED)
      .map((entry) => [
        `<code>${escapeHtml(entry.table)}</code>`,
        entry.source === undefined ? '—' : String(entry.source),
        entry.restored === undefined ? '—' : String(entry.restored),
        ...(content ? [contentCell(entry, sameContent(entry))] : []),
        rowsMatch(entry) ? '✅' : '❌'
      ])
  }
}

/** A table's content in one cell: how it was compared, and whether it matched. */
function contentCell(entry: TableRowCount, same: boolean): string {
  if (entry.readError) return `not read back: ${escapeHtml(entry.readError)}`
  if (entry.contentNote) return `rows only (${escapeHtml(entry.contentNote.replace(/^not compared by content: /, ''))})`
  if (entry.sourceFingerprint === undefined) return '—'
  const how = entry.sourceFingerprint.startsWith('sql:') ? 'same fingerprint (SQL)' : 'same rows as the dump'
  return same ? how : 'differs'
}

function definitionsTable(comparison: TableComparison): SummaryTable {
  const { differences, by } = comparison.definitions
  return {
    heading:
      differences.length > MAX_LISTED ? `Definitions that differ (${MAX_LISTED} of ${differences.length})` : 'Definitions that differ',
    header: ['Object', `In the ${REFERENCE_WORDS[comparison.reference].short}`, 'Restored'],
    rows: differences
      .slice(0, MAX_LISTED)
      .map((difference) => [
        `${escapeHtml(difference.kind)} <code>${escapeHtml(difference.name)}</code>`,
        definitionCell(difference.source, by === 'hash'),
        definitionCell(difference.restored, false)
      ])
  }
}

function objectsTable(comparison: TableComparison): SummaryTable {
  return {
    heading: 'Objects by kind',
    header: ['Kind', 'Source', 'Restored', 'Match'],
    rows: comparison.objects.map((entry) => [
      entry.kind,
      String(entry.source),
      String(entry.restored),
      entry.source === entry.restored ? '✅' : '❌'
    ])
  }
}

/** The team's own checks on the restored copy: each named, its query, what it found (a failing one's first rows). */
function teamChecksTable(checks: NonNullable<VerificationResult['teamChecks']>): SummaryTable {
  const mark = { passed: '✅ passed', failed: '❌ failed', error: '❌ error' }
  return {
    heading: `Checks on the restored copy (${escapeHtml(checks.database)})`,
    header: ['Check', 'Result', 'Found'],
    rows: checks.outcomes.map((outcome) => [
      `${escapeHtml(outcome.name)}<br><code>${escapeHtml(outcome.query.length > 200 ? `${outcome.query.slice(0, 200)}…` : outcome.query)}</code>`,
      mark[outcome.status],
      `${escapeHtml(outcome.detail)}${outcome.rows?.length ? `<br>${outcome.rows.map((row) => `<code>${escapeHtml(row)}</code>`).join('<br>')}` : ''}`
    ])
  }
}

function checksTable(checks: ValidationCheck[]): SummaryTable {
  return {
    heading: 'Validation checks',
    header: ['Check', 'Result', 'Detail'],
    rows: checks.map((check) => [escapeHtml(check.name), check.passed ? '✅' : '❌', escapeHtml(check.detail)])
  }
}
