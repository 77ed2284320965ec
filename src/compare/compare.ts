// The restored database against what it must hold: the dumped snapshot's inventory, or a receipt
// made when the backup was. Tables, exact rows and content at the verify level; every object's
// definition; sequence values as numbers. Each difference is named in the user's terms.

import { VerificationError } from '../run/errors.js'
import { compareDefinitions, type DefinitionDifference } from './definitions.js'
import { OBJECT_KINDS, type Inventory, type ObjectKind, type VerifyLevel } from './inventory.js'
import { majorOf } from '../connection/session.js'

/** "42" and "00042" are one value; "next 7" (never called) stays apart from "7". */
function sequenceValue(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const match = /^(next )?(-?\d+)$/.exec(text.trim())
  return match ? `${match[1] ?? ''}${BigInt(match[2])}` : text
}

/**
 * The restored database against the reference at `level` (the run's verify level; the reference
 * may hold more). Without a reference (an existing backup and no receipt), the restored database
 * is described, not compared; the sequence values the dump sets are compared all the same.
 */
export function compareInventories(
  reference: Inventory | undefined,
  restored: Inventory,
  dumpedSequences: Array<{ sequence: string; value: string }> = [],
  referenceKind: Exclude<TableComparison['reference'], 'none'> = 'snapshot',
  level: VerifyLevel = restored.level
): TableComparison {
  const source = reference ?? restored
  const restoredSet = new Set(restored.tables)
  const sourceSet = new Set(source.tables)
  const before = new Map(source.content.map((entry) => [entry.table, entry]))
  const after = new Map(restored.content.map((entry) => [entry.table, entry]))
  const counted = level !== 'schema'
  const content = level === 'data'
  const rows: TableRowCount[] = [...new Set([...source.tables, ...restored.tables])].map((table) => ({
    table,
    source: counted ? before.get(table)?.rows : undefined,
    restored: counted ? after.get(table)?.rows : undefined,
    sourceFingerprint: content ? before.get(table)?.fingerprint : undefined,
    restoredFingerprint: content ? after.get(table)?.fingerprint : undefined,
    ...(content && after.get(table)?.readError ? { readError: after.get(table)?.readError } : {}),
    ...(content && after.get(table)?.contentNote ? { contentNote: after.get(table)?.contentNote } : {})
  }))
  const both = (entry: TableRowCount) => entry.source !== undefined && entry.restored !== undefined
  const objects = OBJECT_KINDS.map((kind) => ({ kind, source: source.objects[kind], restored: restored.objects[kind] }))
  // The values the dump sets, against the restored sequences: the only race-free comparison; and
  // those a receipt recorded (the values its backup set), for any sequence this dump sets no value for.
  const sequencesBefore = new Map(dumpedSequences.map((entry) => [entry.sequence, sequenceValue(entry.value)]))
  for (const entry of reference?.sequences ?? [])
    if (!sequencesBefore.has(entry.sequence)) sequencesBefore.set(entry.sequence, sequenceValue(entry.value))
  const sequencesAfter = new Map(restored.sequences.map((entry) => [entry.sequence, sequenceValue(entry.value)]))
  // A server of another major words definitions its own way: then only which objects exist is compared.
  const byName = reference !== undefined && majorOf(source.serverVersionNumber) !== majorOf(restored.serverVersionNumber)
  const referenceDefinitions = content ? source.definitions : source.definitions.where((kind) => kind !== 'large object data')
  // An existing backup's own content holds no definitions, only its large objects' bytes.
  const restoredDefinitions =
    referenceKind === 'backup' ? restored.definitions.where((kind) => kind === 'large object data') : restored.definitions
  const definitionDifferences: DefinitionDifference[] = reference
    ? compareDefinitions(referenceDefinitions, restoredDefinitions, {
        hashed: source.definitionsHashed === true,
        byName: byName && referenceKind !== 'backup'
      })
    : []
  const rowMismatches = rows.filter((entry) => both(entry) && entry.source !== entry.restored)
  const contentMismatches = rows.filter(
    (entry) =>
      both(entry) &&
      entry.source === entry.restored &&
      entry.sourceFingerprint !== undefined &&
      entry.restoredFingerprint !== undefined &&
      entry.sourceFingerprint !== entry.restoredFingerprint
  )
  const generated = content
    ? compareGenerated(reference, restored, new Set([...rowMismatches, ...contentMismatches].map((entry) => entry.table)))
    : { mismatches: [], notCompared: [] }
  return {
    level,
    reference: reference ? referenceKind : 'none',
    leftOut: [
      ...leftOutOfComparison(reference),
      ...(generated.notCompared.length > 0
        ? [
            `stored generated column(s) ${generated.notCompared.join(', ')}: computed again by the restore, not compared ` +
              '(no values of the source to compare them with: a dump holds none)'
          ]
        : [])
    ],
    source: source.tables,
    restored: restored.tables,
    missing: source.tables.filter((table) => !restoredSet.has(table)),
    extra: restored.tables.filter((table) => !sourceSet.has(table)),
    rows,
    rowMismatches,
    contentMismatches,
    generatedMismatches: generated.mismatches,
    unread: rows.filter((entry) => entry.readError !== undefined && entry.sourceFingerprint !== undefined),
    objects,
    objectMismatches: objects.filter((entry) => entry.source !== entry.restored),
    definitions: {
      compared: reference ? referenceDefinitions.length : 0,
      by: byName ? 'name' : source.definitionsHashed ? 'hash' : 'text',
      differences: definitionDifferences
    },
    sequenceMismatches: [...sequencesBefore.keys()]
      .filter(() => counted)
      .map((sequence) => ({ sequence, source: sequencesBefore.get(sequence), restored: sequencesAfter.get(sequence) }))
      .filter((entry) => entry.source !== entry.restored)
  }
}

/**
 * Stored generated columns' values against the source's, where the reference holds them (the
 * restore computed them again: a function they call may have changed since the rows were stored);
 * tables already named for their rows or content are left to that. Where it holds none, the restored
 * columns are named as not compared.
 */
function compareGenerated(
  reference: Inventory | undefined,
  restored: Inventory,
  namedAlready: Set<string>
): { mismatches: GeneratedMismatch[]; notCompared: string[] } {
  const key = (entry: { table: string; column: string }) => `${entry.table}.${entry.column}`
  if (reference?.generatedValues === undefined) {
    const partitioned = new Set(
      restored.definitions
        .filter((definition) => definition.kind === 'table' && definition.text.startsWith('partitioned table'))
        .map((definition) => definition.name)
    )
    const notCompared = restored.definitions
      .filter(
        (definition) =>
          definition.kind === 'column' &&
          / generated always as \(.*\) stored$/s.test(definition.text) &&
          !partitioned.has(definition.table ?? '')
      )
      .map((definition) => definition.name)
    return { mismatches: [], notCompared }
  }
  const after = new Map((restored.generatedValues ?? []).map((entry) => [key(entry), entry.fingerprint]))
  const restoredTables = new Set(restored.tables)
  const mismatches = reference.generatedValues
    .filter((entry) => restoredTables.has(entry.table) && !namedAlready.has(entry.table) && after.get(key(entry)) !== entry.fingerprint)
    .map((entry) => ({ table: entry.table, column: entry.column, source: entry.fingerprint, restored: after.get(key(entry)) }))
  return { mismatches, notCompared: [] }
}

/** What the reference holds that no restore of its dump can: named, so that the user knows it was not compared. */
function leftOutOfComparison(reference: Inventory | undefined): string[] {
  return (reference?.invalidIndexes ?? []).map(
    (index) => `index ${index}: invalid in the source (a CREATE INDEX CONCURRENTLY that failed), which pg_dump never dumps`
  )
}

/** What the comparison proved, in one line that names the level. */
export function describeProof(comparison: TableComparison): string {
  const tables = comparison.restored.length
  switch (comparison.level) {
    case 'schema':
      return `schema: ${tables} tables and every object's definition, no rows`
    case 'rows':
      return `rows: the exact row count of each of ${tables} tables, and every object's definition`
    case 'data': {
      const byCopy = comparison.rows.filter((entry) => entry.restoredFingerprint?.startsWith('copy:'))
      const bySql = comparison.rows.filter((entry) => entry.restoredFingerprint?.startsWith('sql:'))
      const rowsOnly = comparison.rows.filter((entry) => entry.contentNote !== undefined)
      const rows = byCopy.reduce((total, entry) => total + (entry.restored ?? 0), 0)
      const where = comparison.reference === 'receipt' ? "the receipt's fingerprints of the dump's rows" : "the dump's own rows"
      return (
        `data: every row of ${byCopy.length} tables (${rows} rows) read back and matched to ${where}` +
        (bySql.length > 0 ? `; ${bySql.length} by a fingerprint in SQL (another major may print their values otherwise)` : '') +
        (rowsOnly.length > 0 ? `; ${rowsOnly.length} by row count only` : '') +
        (comparison.reference === 'backup' ? '' : "; every object's definition")
      )
    }
  }
}

/** The comparison in one log line: tables, rows and definitions on both sides. */
export function describeComparison(comparison: TableComparison, reference: Inventory | undefined, restored: Inventory): string {
  const total = (inventory: Inventory) => inventory.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
  if (!reference)
    return `Restored: ${comparison.restored.length} tables, ${total(restored)} rows (an existing backup: no source to compare them with)`
  if (comparison.reference === 'backup')
    return `Restored: ${comparison.restored.length} tables, ${total(restored)} rows; verify level ${describeProof(comparison)}`
  return (
    `Tables: ${comparison.source.length} in the source, ${comparison.restored.length} restored` +
    (comparison.level === 'schema' ? '' : `; rows: ${total(reference)} ${rowsReferenceName(comparison)}, ${total(restored)} restored`) +
    `; ${comparison.definitions.compared} definitions compared (verify level ${comparison.level === 'data' ? describeProof(comparison) : comparison.level})`
  )
}

/** How the reference is named in messages: what the dump holds, or what the receipt records. */
function referenceName(comparison: Pick<TableComparison, 'reference'>): string {
  return comparison.reference === 'receipt' ? 'in the receipt' : comparison.reference === 'backup' ? 'in the backup' : 'in the dump'
}

/** Where a row count came from: a new backup's are the source's, counted in the snapshot pg_dump read. */
function rowsReferenceName(comparison: Pick<TableComparison, 'reference'>): string {
  return comparison.reference === 'snapshot' ? 'in the source' : referenceName(comparison)
}

const MAX_SHOWN_DEFINITION = 160

function shortDefinition(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > MAX_SHOWN_DEFINITION ? `${flat.slice(0, MAX_SHOWN_DEFINITION)}…` : flat
}

/** One definition difference in words; the objects of a table that is missing altogether are left to the table's message. */
function describeDefinitionDifference(difference: DefinitionDifference, where: string, hashed: boolean): string {
  const object = `${difference.kind} ${difference.name}`
  if (difference.restored === undefined)
    return `${object} is missing after the restore${hashed ? '' : ` (${where}: ${shortDefinition(difference.source ?? '')})`}`
  if (difference.source === undefined) return `${object} is there after the restore only (${shortDefinition(difference.restored)})`
  return hashed
    ? `${object} differs from the receipt's (restored: ${shortDefinition(difference.restored)})`
    : `${object} is ${shortDefinition(difference.source)} ${where}, but ${shortDefinition(difference.restored)} restored`
}

/** Throws when the restored database differs from its reference, naming every difference found. */
export function requireSameInventory(comparison: TableComparison): void {
  const problems: string[] = []
  const where = referenceName(comparison)
  if (comparison.missing.length > 0 || comparison.extra.length > 0) {
    const parts = [
      comparison.missing.length ? `missing ${comparison.missing.join(', ')}` : '',
      comparison.extra.length ? `unexpected ${comparison.extra.join(', ')}` : ''
    ].filter(Boolean)
    problems.push(
      `Restored database has ${comparison.restored.length} tables, the source has ${comparison.source.length}: ${parts.join('; ')}`
    )
  }
  const listed = <T>(entries: T[], show: (entry: T) => string) =>
    `${entries.slice(0, 10).map(show).join('; ')}${entries.length > 10 ? '; …' : ''}`
  if (comparison.rowMismatches.length > 0) {
    problems.push(
      `Row counts differ in ${comparison.rowMismatches.length} table(s): ${listed(comparison.rowMismatches, (e) => `${e.table} ${e.source} ${rowsReferenceName(comparison)}, ${e.restored} restored`)}`
    )
  }
  if (comparison.contentMismatches.length > 0) {
    problems.push(
      `Content differs in ${comparison.contentMismatches.length} table(s) with the same row count: ${listed(comparison.contentMismatches, (e) => `${e.table} (fingerprint ${e.sourceFingerprint} ${where}, ${e.restoredFingerprint} restored)`)}`
    )
  }
  if (comparison.unread.length > 0) {
    problems.push(
      `The restored rows of ${comparison.unread.length} table(s) could not be read back to compare their content: ${listed(comparison.unread, (e) => `${e.table}: ${e.readError}`)}`
    )
  }
  const tablesNamed = new Set([...comparison.missing, ...comparison.extra])
  const definitions = comparison.definitions.differences.filter(
    (difference) => difference.table === undefined || !tablesNamed.has(difference.table)
  )
  if (definitions.length > 0) {
    const hashed = comparison.definitions.by === 'hash'
    problems.push(
      `Definitions differ for ${definitions.length} object(s): ` +
        `${listed(definitions, (difference) => describeDefinitionDifference(difference, where, hashed))}`
    )
  }
  if (comparison.generatedMismatches.length > 0) {
    problems.push(
      `Stored generated column values differ from the source's in ${comparison.generatedMismatches.length} column(s): ` +
        `${listed(comparison.generatedMismatches, (e) => `${e.table}.${e.column} (fingerprint ${e.source} in the source, ${e.restored ?? 'none'} restored)`)}` +
        ' (the restore computed them again from their expression: a function it calls may have changed since the rows were stored)'
    )
  }
  if (comparison.sequenceMismatches.length > 0) {
    problems.push(
      `Sequence values differ: ${listed(comparison.sequenceMismatches, (e) => `${e.sequence} ${e.source ?? 'absent'} ${where}, ${e.restored ?? 'absent'} restored`)}`
    )
  }
  if (problems.length > 0) throw new VerificationError('restore-mismatch', problems.join('. '))
}

export interface TableRowCount {
  table: string
  /** Rows in the source, in the snapshot that was dumped. */
  source?: number
  /** Rows found in the restored database. */
  restored?: number
  /** Content fingerprints (verify level data). */
  sourceFingerprint?: string
  restoredFingerprint?: string
  /** Reading the restored rows back failed. */
  readError?: string
  /** Why the content was compared by row count only. */
  contentNote?: string
}

interface GeneratedMismatch {
  table: string
  column: string
  /** Fingerprints of the column's values with their rows. */
  source: string
  restored?: string
}

export interface TableComparison {
  level: VerifyLevel
  /**
   * What the restore was compared with: the dumped snapshot (and the dump's rows), a receipt's
   * inventory, an existing backup's own rows (backup), or nothing (an existing backup below the data level).
   */
  reference: 'snapshot' | 'receipt' | 'backup' | 'none'
  /** What was left out of the comparison, and why, in words. */
  leftOut: string[]
  source: string[]
  restored: string[]
  missing: string[]
  extra: string[]
  /** Per table, on both sides: row counts, and content fingerprints at the data level. */
  rows: TableRowCount[]
  /** Tables present on both sides whose row counts differ. */
  rowMismatches: TableRowCount[]
  /** Tables with the same row count whose content differs. */
  contentMismatches: TableRowCount[]
  /** Tables whose rows could not be read back to be fingerprinted. */
  unread: TableRowCount[]
  /** Stored generated columns whose values differ from the source's (verify level data). */
  generatedMismatches: GeneratedMismatch[]
  objects: Array<{ kind: ObjectKind; source: number; restored: number }>
  objectMismatches: Array<{ kind: ObjectKind; source: number; restored: number }>
  /** Every object's definition against the reference's: how many were compared, how, and which differ. */
  definitions: { compared: number; by: 'text' | 'hash' | 'name'; differences: DefinitionDifference[] }
  sequenceMismatches: Array<{ sequence: string; source?: string; restored?: string }>
}
