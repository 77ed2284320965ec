// The fleet report: each database's newest receipt, held to the names expected and to max-age, with
// its trend since the last passing run its history holds. Pure: what was read in, the report out.

import type { HistoryRecord } from '../records/history.js'
import { trendOf } from '../records/trend.js'
import type { RunFigures, Trend } from '../report/result.js'
import { durationInWords } from '../run/duration.js'
import { FLEET_REPORT_TOOL, type FleetReceipt, type UnreadableReceipt } from './receipts.js'

export interface FleetDatabase extends FleetReceipt {
  /** The receipt's verdict; stale: the newest receipt is older than max-age, and counts as missing. */
  status: FleetReceipt['verdict'] | 'stale'
  /** Older receipts of the same name, read and not counted. */
  olderReceipts: number
  /** Not among the names expected (when some were given). */
  unexpected?: boolean
  /** This run against the history's runs before it. */
  trend?: Pick<Trend, 'sinceLastPass' | 'counted' | 'failed' | 'consecutiveFailures'>
}

/** A verification the report expected and did not get: a name without a fresh receipt, or a file that is not one. */
interface MissingVerification {
  name?: string
  file?: string
  reason: string
}

export interface FleetReport {
  tool: typeof FLEET_REPORT_TOOL
  schemaVersion: 1
  generatedAt: string
  failOn: 'any' | 'none'
  maxAgeSeconds?: number
  /** failed: a verification failed, one is missing, or there was nothing to report on. */
  verdict: 'passed' | 'failed'
  /** Why the verdict is failed, in one line. */
  reason?: string
  totals: { databases: number; passed: number; failed: number; skipped: number; missing: number }
  /** Failed first, then stale, skipped and passed; by name within each. */
  databases: FleetDatabase[]
  missing: MissingVerification[]
  /** Files that are not receipts, of databases that have a readable one: named, not counted. */
  filesLeftOut: Array<{ file: string; name: string; reason: string }>
  /** History files left out of the trend, with the reason. */
  unreadableHistories: Array<{ file: string; reason: string }>
}

export interface FleetInput {
  receipts: FleetReceipt[]
  unreadable: UnreadableReceipt[]
  histories: Map<string, HistoryRecord[]>
  unreadableHistories: Array<{ file: string; reason: string }>
  expected: string[]
  maxAgeMs?: number
  failOn: 'any' | 'none'
  now: Date
}

const ORDER: Record<FleetDatabase['status'], number> = { failed: 0, stale: 1, skipped: 2, passed: 3 }

export function buildFleetReport(input: FleetInput): FleetReport {
  const newest = new Map<string, { receipt: FleetReceipt; older: number }>()
  for (const receipt of input.receipts) {
    const seen = newest.get(receipt.name)
    if (!seen) newest.set(receipt.name, { receipt, older: 0 })
    else if (Date.parse(receipt.startedAt) > Date.parse(seen.receipt.startedAt))
      newest.set(receipt.name, { receipt, older: seen.older + 1 })
    else seen.older++
  }
  const expected = new Set(input.expected)
  const missing: MissingVerification[] = []
  const databases: FleetDatabase[] = []
  for (const { receipt, older } of newest.values()) {
    const ageMs = input.now.getTime() - Date.parse(receipt.startedAt)
    const stale = input.maxAgeMs !== undefined && ageMs > input.maxAgeMs
    if (stale) {
      missing.push({
        name: receipt.name,
        reason:
          `its newest receipt is from ${receipt.startedAt}, ${durationInWords(Math.round(ageMs / 1000) * 1000)} ago: ` +
          `older than max-age (${durationInWords(input.maxAgeMs as number)})`
      })
    }
    databases.push({
      ...receipt,
      status: stale ? 'stale' : receipt.verdict,
      olderReceipts: older,
      ...(expected.size > 0 && !expected.has(receipt.name) ? { unexpected: true } : {}),
      trend: trendBefore(receipt, input.histories.get(receipt.name))
    })
  }
  const withoutReceipt = new Map<string, MissingVerification>()
  for (const name of input.expected) {
    if (newest.has(name)) continue
    const entry = { name, reason: 'no receipt: its verification did not run, or ended before it wrote one (see its job)' }
    withoutReceipt.set(name, entry)
    missing.push(entry)
  }
  // A damaged receipt whose name is still legible is its database's: one missing verification, not two.
  const filesLeftOut: FleetReport['filesLeftOut'] = []
  for (const { file, reason, name } of input.unreadable) {
    const told = `its receipt file ${file} is not one this report can read: ${reason}`
    const expected = name === undefined ? undefined : withoutReceipt.get(name)
    if (name !== undefined && newest.has(name)) filesLeftOut.push({ file, name, reason })
    else if (expected) Object.assign(expected, { file, reason: told })
    else missing.push(name === undefined ? { file, reason: `not a receipt this report can read: ${reason}` } : { name, file, reason: told })
  }
  databases.sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name))
  const counted = (status: FleetDatabase['status']) => databases.filter((database) => database.status === status).length
  const totals = {
    databases: databases.length + input.expected.filter((name) => !newest.has(name)).length,
    passed: counted('passed'),
    failed: counted('failed'),
    skipped: counted('skipped'),
    missing: missing.length
  }
  const reason = verdictReason(databases, missing)
  return {
    tool: FLEET_REPORT_TOOL,
    schemaVersion: 1,
    generatedAt: input.now.toISOString(),
    failOn: input.failOn,
    ...(input.maxAgeMs !== undefined ? { maxAgeSeconds: Math.round(input.maxAgeMs / 1000) } : {}),
    verdict: reason ? 'failed' : 'passed',
    ...(reason ? { reason } : {}),
    totals,
    databases,
    missing,
    filesLeftOut,
    unreadableHistories: input.unreadableHistories
  }
}

/** Why the fleet fails, naming the first databases; undefined when it passes. */
function verdictReason(databases: FleetDatabase[], missing: MissingVerification[]): string | undefined {
  const parts: string[] = []
  const failed = databases.filter((database) => database.status === 'failed').map((database) => database.name)
  if (failed.length > 0) parts.push(`${failed.length} failed (${listed(failed)})`)
  if (missing.length > 0) parts.push(`${missing.length} missing (${listed(missing.map((entry) => entry.name ?? entry.file ?? ''))})`)
  if (parts.length === 0 && databases.length === 0) return 'no receipt was found, and no database was expected: nothing was verified'
  return parts.length > 0 ? parts.join(', ') : undefined
}

function listed(names: string[]): string {
  const shown = names.slice(0, 5).join(', ')
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown
}

/** The trend of this receipt's run over the history's runs before it; none without a history. */
function trendBefore(receipt: FleetReceipt, history: HistoryRecord[] | undefined): FleetDatabase['trend'] {
  if (!history) return undefined
  const started = Date.parse(receipt.startedAt)
  const before = history.filter((record) => Date.parse(record.time) < started)
  const own: RunFigures = {
    time: receipt.startedAt,
    result: receipt.verdict,
    durationMs: receipt.durationMs,
    sizeBytes: receipt.sizeBytes,
    rows: receipt.rows,
    tables: receipt.tables,
    format: receipt.format,
    compression: receipt.compression,
    restoreMs: receipt.restoreMs,
    backupAgeSeconds: receipt.backupAgeSeconds
  }
  const { sinceLastPass, counted, failed, consecutiveFailures } = trendOf([...before, own])
  return { sinceLastPass, counted, failed, consecutiveFailures }
}
