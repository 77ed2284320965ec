// The receipts a fleet report reads: found in a folder (every *.json below it), as one file or by a
// glob, and read one at a time. A file that is not a receipt is named with the reason, never the end
// of the report; a receipt of a newer schema is read for the fields every schema has kept.

import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import * as glob from '@actions/glob'
import type { VerificationResult } from '../report/result.js'
import { RECEIPT_SCHEMA_VERSION } from '../records/receipt.js'

/** What the report shows of one verification, read from its receipt. */
export interface FleetReceipt {
  file: string
  /** The name the verification was given (receipt name), else its database, else the file's name. */
  name: string
  verdict: VerificationResult['status']
  startedAt: string
  durationMs: number
  schemaVersion: number
  method?: string
  format?: string
  compression?: string
  sizeBytes?: number
  tables?: number
  rows?: number
  /** The restore's time to a usable copy. */
  restoreMs?: number
  /** How old the copy's newest data was once it was ready. */
  backupAgeSeconds?: number
  failedPhase?: string
  problem?: string
  reason?: string
}

export interface UnreadableReceipt {
  file: string
  reason: string
  /** The name its text still holds, when it holds one (a receipt cut short keeps its first lines). */
  name?: string
}

/** The fleet report's own JSON (report-path), which may sit beside the receipts: not a receipt, and not counted. */
export const FLEET_REPORT_TOOL = 'backup-verify-report'

/** The files the receipts input names, sorted; none when nothing is there. */
export async function findReceiptFiles(pattern: string): Promise<string[]> {
  const info = await stat(pattern).catch(() => undefined)
  if (info?.isDirectory()) {
    const entries = await readdir(pattern, { recursive: true, withFileTypes: true })
    return entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
      .map((entry) => path.join(entry.parentPath, entry.name))
      .sort()
  }
  if (info?.isFile()) return [pattern]
  if (!/[*?[{]/.test(pattern)) return []
  const globber = await glob.create(pattern, { matchDirectories: false, followSymbolicLinks: false, implicitDescendants: false })
  return (await globber.glob()).sort()
}

/** Reads each file as a receipt; a file that is not one is named with the reason. */
export async function readFleetReceipts(files: string[]): Promise<{ receipts: FleetReceipt[]; unreadable: UnreadableReceipt[] }> {
  const receipts: FleetReceipt[] = []
  const unreadable: UnreadableReceipt[] = []
  for (const file of files) {
    let content: string
    try {
      content = await readFile(file, 'utf8')
    } catch (error) {
      unreadable.push({ file, reason: `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})` })
      continue
    }
    let value: unknown
    try {
      value = JSON.parse(content)
    } catch {
      unreadable.push({ file, reason: 'it is not JSON (cut short or damaged)', ...nameIn(content) })
      continue
    }
    if ((value as { tool?: unknown } | null)?.tool === FLEET_REPORT_TOOL) continue
    const entry = fleetEntryOf(value, file)
    if (typeof entry === 'string') unreadable.push({ file, reason: entry, ...nameIn(content) })
    else receipts.push(entry)
  }
  return { receipts, unreadable }
}

/** One receipt's figures, or why the value is not a receipt this report can read. */
function fleetEntryOf(value: unknown, file: string): FleetReceipt | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object'
  const receipt = value as Record<string, unknown>
  if (receipt.tool !== 'backup-verify') return 'it is not a backup-verify receipt (no "tool": "backup-verify")'
  const schemaVersion = receipt.schemaVersion
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion)) return 'it has no schemaVersion'
  const newer =
    schemaVersion > RECEIPT_SCHEMA_VERSION ? ` (schemaVersion ${schemaVersion}, newer than this report's ${RECEIPT_SCHEMA_VERSION})` : ''
  const verdict = receipt.verdict
  if (verdict !== 'passed' && verdict !== 'failed' && verdict !== 'skipped') return `it has no verdict this report knows${newer}`
  const startedAt = text(receipt.startedAt)
  if (startedAt === undefined || Number.isNaN(Date.parse(startedAt))) return `it has no valid startedAt${newer}`
  const durationMs = count(receipt.durationMs)
  if (durationMs === undefined) return `it has no valid durationMs${newer}`
  const backup = object(receipt.backup)
  const evidence = object(receipt.evidence)
  const counts = object(receipt.counts)
  const error = object(receipt.error)
  const failedPhase = Array.isArray(receipt.phases)
    ? (receipt.phases as unknown[]).map(object).find((phase) => phase?.status === 'failed')
    : undefined
  const inventory = object(receipt.inventory)
  return {
    file,
    name: text(receipt.name) || text(receipt.database) || path.basename(file, '.json'),
    verdict,
    startedAt,
    durationMs,
    schemaVersion,
    method: text(receipt.method) ?? methodOf(receipt, backup),
    format: text(backup?.format),
    compression: text(backup?.compression),
    sizeBytes: count(backup?.sizeBytes),
    tables: count(counts?.tables) ?? (Array.isArray(inventory?.tables) ? inventory.tables.length : undefined),
    rows: count(counts?.rows) ?? rowsOf(inventory),
    restoreMs: count(evidence?.restoreMs),
    backupAgeSeconds: count(evidence?.ageSeconds),
    failedPhase: text(failedPhase?.name),
    problem: text(error?.problem),
    reason: text(error?.message) ?? (verdict === 'skipped' ? 'not a PostgreSQL database: nothing to verify' : undefined)
  }
}

/** A receipt written before it named its method: a repository's, a base backup's, else pg_dump's. */
function methodOf(receipt: Record<string, unknown>, backup: Record<string, unknown> | undefined): string | undefined {
  const repository = text(object(receipt.repository)?.tool)
  if (repository) return repository
  if (backup?.format === 'physical') return 'physical'
  return backup ? 'logical' : undefined
}

/** The rows of an inventory's tables, when every one was counted. */
function rowsOf(inventory: Record<string, unknown> | undefined): number | undefined {
  if (!Array.isArray(inventory?.content) || inventory.level === 'schema') return undefined
  let rows = 0
  for (const table of inventory.content as unknown[]) {
    const counted = count(object(table)?.rows)
    if (counted === undefined) return undefined
    rows += counted
  }
  return rows
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

/**
 * A receipt's text as the report shows it: control characters (a line break that would start a
 * workflow command in the log, or end the summary's HTML block) as spaces, at most 1,000 characters.
 */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const shown = value
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, 1000)
  return shown === '' ? undefined : shown
}

/** The receipt's name as its text holds it, read without parsing (a receipt cut short keeps its top lines). */
function nameIn(content: string): { name?: string } {
  const match = /^ {2}"name": ("(?:[^"\\\n]|\\.)*")/m.exec(content)
  if (!match) return {}
  try {
    const name = text(JSON.parse(match[1]))
    return name ? { name } : {}
  } catch {
    return {}
  }
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}
