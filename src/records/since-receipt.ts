// This backup against the receipt of another, older backup of the same database (max-shrink): what
// may differ between the two (rows added, rows removed within max-shrink, values changed, tables and
// objects added) and what fails (a table or object gone, a definition changed, more rows lost).

import type { DumpContent } from '../backup/dump-content.js'
import { decodeDumpText } from '../backup/dump-text.js'
import { majorOf } from '../connection/session.js'
import { compareDefinitions } from '../compare/definitions.js'
import type { DefinitionList } from '../compare/definition-list.js'
import type { Inventory } from '../compare/inventory.js'
import { receiptInventory, type Receipt } from './receipt.js'
import type { SinceReceipt, TableSinceReceipt } from '../report/result.js'
import { describeShrink, named, shrinkPercent } from '../report/since-receipt.js'
import { sizesNotComparable } from './trend.js'

/** Objects that are data rather than schema: they may come and go between two backups like rows. */
const DATA_KINDS = new Set<string>(['large object', 'large object data'])

export interface ThisBackup {
  sizeBytes: number
  sha256: string
  format: string
  compression: string
  /** The restored database's inventory. */
  restored: Inventory
  /** The backup's own rows (verify level data): their fingerprints against the receipt's. */
  dump?: DumpContent
}

/** This backup against another backup's receipt, table by table and object by object. */
export function compareSinceReceipt(receipt: Receipt, backup: ThisBackup, maxShrinkPercent: number): SinceReceipt {
  const reference = receiptInventory(receipt) as Inventory
  const { restored } = backup
  const restoredTables = new Set(restored.tables)
  const receiptTables = new Set(reference.tables)
  const missing = reference.tables.filter((table) => !restoredTables.has(table))
  const added = restored.tables.filter((table) => !receiptTables.has(table))
  const rowsNow = new Map(restored.content.map((entry) => [entry.table, entry.rows]))

  const shrank: TableSinceReceipt[] = []
  for (const entry of reference.content) {
    const now = rowsNow.get(entry.table)
    if (entry.rows === undefined || now === undefined || !restoredTables.has(entry.table)) continue
    if (shrinkPercent(entry.rows, now) > maxShrinkPercent) shrank.push({ table: entry.table, rowsThen: entry.rows, rowsNow: now })
  }

  const { identical, changed, notCompared } = compareContent(reference, backup.dump, restoredTables)

  const byName = majorOf(reference.serverVersionNumber) !== majorOf(restored.serverVersionNumber)
  const schema = (definitions: DefinitionList) => definitions.where((kind) => !DATA_KINDS.has(kind))
  const referenceDefinitions = schema(reference.definitions)
  const differences = compareDefinitions(referenceDefinitions, schema(restored.definitions), { hashed: true, byName })
  const gone = new Set(missing)
  const name = (difference: { kind: string; name: string }) => `${difference.kind} ${difference.name}`
  const definitions = {
    compared: referenceDefinitions.length,
    by: byName ? ('name' as const) : ('hash' as const),
    differ: differences.filter((entry) => entry.source !== undefined && entry.restored !== undefined).map(name),
    // The objects of a table that is gone are named by the table.
    gone: differences
      .filter((entry) => entry.restored === undefined && !(entry.table !== undefined && gone.has(entry.table)) && !gone.has(entry.name))
      .map(name),
    added: differences.filter((entry) => entry.source === undefined).length
  }

  const totals = shrinkageProblems(receipt, backup, maxShrinkPercent)
  const problems = [...totals]
  if (missing.length > 0) problems.push(`${missing.length} table(s) of the receipt's backup are not in this one: ${named(missing)}`)
  if (shrank.length > 0)
    problems.push(
      `${shrank.length} table(s) lost more than max-shrink (${maxShrinkPercent}%) of their rows: ` + named(shrank.map(describeShrink))
    )
  if (definitions.differ.length > 0)
    problems.push(`${definitions.differ.length} definition(s) differ from the receipt's: ${named(definitions.differ)}`)
  if (definitions.gone.length > 0)
    problems.push(`${definitions.gone.length} object(s) of the receipt's backup are not in this one: ${named(definitions.gone)}`)
  return {
    receipt: { startedAt: receipt.startedAt, sha256: receipt.backup?.sha256 },
    maxShrinkPercent,
    identical,
    changed,
    notCompared,
    added,
    missing,
    shrank,
    rowsCounted: restored.content.length > 0 || restored.tables.length === 0,
    definitions,
    totals,
    problems
  }
}

/**
 * Each table the receipt fingerprinted from its dump's rows, against this backup's rows: the same
 * fingerprint, or another (values changed, rows added or removed). The others are named with why not.
 */
function compareContent(
  reference: Inventory,
  dump: DumpContent | undefined,
  restoredTables: Set<string>
): Pick<SinceReceipt, 'identical' | 'changed' | 'notCompared'> {
  const identical: string[] = []
  const changed: TableSinceReceipt[] = []
  const notCompared: Array<{ table: string; reason: string }> = []
  const now = dump && new Map(dump.tables.map((table) => [decodeDumpText(table.copy.table, dump.clientEncoding), table]))
  for (const entry of reference.content) {
    if (!restoredTables.has(entry.table)) continue
    const why = (reason: string) => notCompared.push({ table: entry.table, reason })
    if (reference.level !== 'data') why(`the receipt holds no fingerprints (made at verify: ${reference.level})`)
    else if (!now) why('this run reads no content (verify level below data)')
    else if (entry.fingerprint?.startsWith('sql:'))
      why("the receipt's fingerprint was taken in SQL (a restore server of another major), not from its dump's rows")
    else if (!entry.fingerprint || !entry.copyTarget) why(entry.contentNote ?? 'the receipt holds no fingerprint of it')
    else {
      const table = now.get(entry.copyTarget)
      if (!table) why('this backup holds no rows for it')
      else if (table.fingerprint === entry.fingerprint && table.rows === entry.rows) identical.push(entry.table)
      else changed.push({ table: entry.table, rowsThen: entry.rows, rowsNow: table.rows })
    }
  }
  return { identical, changed, notCompared }
}

/** The backup's size (between backups written alike) and its total rows against the receipt's, beyond max-shrink. */
export function shrinkageProblems(receipt: Receipt, backup: Omit<ThisBackup, 'dump'>, maxShrinkPercent: number): string[] {
  const problems: string[] = []
  const before = receipt.backup
  // The same SHA-256 is the same bytes, however each run named their compression.
  const alike = before && (before.sha256 === backup.sha256 || !sizesNotComparable(before, backup))
  if (before && alike && shrinkPercent(before.sizeBytes, backup.sizeBytes) > maxShrinkPercent) {
    problems.push(
      `the backup shrank from ${before.sizeBytes} to ${backup.sizeBytes} bytes ` +
        `(${shrinkPercent(before.sizeBytes, backup.sizeBytes).toFixed(1)}%)`
    )
  }
  if (receipt.inventory && receipt.inventory.level !== 'schema' && backup.restored.level !== 'schema') {
    const rowsBefore = receipt.inventory.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    const rows = backup.restored.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    if (shrinkPercent(rowsBefore, rows) > maxShrinkPercent)
      problems.push(`the rows shrank from ${rowsBefore} to ${rows} (${shrinkPercent(rowsBefore, rows).toFixed(1)}%)`)
  }
  return problems
}

/**
 * The tables whose content differs between a receipt (of another backup of the same database) and
 * this backup's dump, compared by their COPY text: changed, gone, or new.
 */
export function changedSinceReceipt(receipt: Inventory, dump: DumpContent): string[] {
  const now = new Map(dump.tables.map((table) => [decodeDumpText(table.copy.table, dump.clientEncoding), table]))
  const changes: string[] = []
  const seen = new Set<string>()
  for (const entry of receipt.content) {
    if (!entry.copyTarget || !entry.fingerprint?.startsWith('copy:')) continue
    seen.add(entry.copyTarget)
    const table = now.get(entry.copyTarget)
    if (!table) changes.push(`${entry.table} (not in this backup)`)
    else if (table.fingerprint !== entry.fingerprint || table.rows !== entry.rows)
      changes.push(table.rows === entry.rows ? entry.table : `${entry.table} (${entry.rows} rows then, ${table.rows} now)`)
  }
  if (seen.size > 0) for (const target of now.keys()) if (!seen.has(target)) changes.push(`${target} (new)`)
  return changes
}
