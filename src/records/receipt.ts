// The verification receipt: a JSON record of what was verified, when, and with which result, for
// auditors and for a later verification of the same backup (receipt.schema.json describes it).

import { readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { InputError } from '../run/errors.js'
import { definitionHash, type DefinitionKind } from '../compare/definitions.js'
import { DefinitionList } from '../compare/definition-list.js'
import type { Inventory } from '../compare/inventory.js'
import type { CheckOutcome } from '../compare/checks.js'
import type {
  RecoveryEvidence,
  RepositoryFacts,
  RestoreServerFacts,
  SafetyFacts,
  VerificationMethod,
  VerificationResult
} from '../report/result.js'
import { countsOf } from './history.js'

/**
 * 4: comments and view options among the definitions, the sequence values the dump sets, invalid
 * indexes left out, stored generated columns' values, an extension's configuration rows.
 * (3: content fingerprints of each table's COPY text as the dump holds it ("copy:"), or in SQL where
 * another major may print values otherwise ("sql:"), and the output settings the dump was written in.
 * (2: definitions as hashes, the server version; fingerprints over columns by name in canonical settings.)
 */
export const RECEIPT_SCHEMA_VERSION = 4

interface RecordedDefinition {
  kind: DefinitionKind
  name: string
  table?: string
  hash: string
}

/** An inventory as a receipt keeps it: every definition as a hash, no text of its own. */
interface RecordedInventory extends Omit<Inventory, 'definitions' | 'definitionsHashed'> {
  /** An array once read from a file; hashed one at a time as it is written, when made by this run. */
  definitions: RecordedDefinitions
}

type RecordedDefinitions = Iterable<RecordedDefinition> & { readonly length: number; toJSON?(): RecordedDefinition[] }

export interface Receipt {
  schemaVersion: typeof RECEIPT_SCHEMA_VERSION
  tool: 'backup-verify'
  verdict: VerificationResult['status']
  startedAt: string
  durationMs: number
  /** This database's label (the name input, else its own name): what a fleet report lists it by. */
  name?: string
  /** logical (pg_dump's), physical (a base backup), pgbackrest or barman (a repository's backup). */
  method?: VerificationMethod
  database?: string
  restoredOn?: string
  /** Where the restore ran: a throwaway server of the run's own, or the source's (or one apart) and why. */
  restoreServer?: RestoreServerFacts
  serverVersion?: string
  client?: { version: string; source: string }
  backup?: { path: string; format: string; compression: string; sizeBytes: number; sha256: string }
  /** The tables and rows the restored copy held, as the history counts them. */
  counts?: { tables?: number; rows?: number }
  phases: Array<{ name: string; status: string; durationMs: number; detail: string }>
  inventory?: RecordedInventory
  comparison?: {
    reference: string
    missingTables: string[]
    extraTables: string[]
    rowMismatches: unknown[]
    contentMismatches: unknown[]
    objectMismatches: unknown[]
    /** The objects whose definitions differ: named, never shown. */
    definitionMismatches: Array<{ kind: string; name: string }>
    sequenceMismatches: unknown[]
  }
  /** What the gate made of the backup's statements, and what vouched for it. */
  safety?: SafetyFacts
  /** A pgBackRest or Barman backup: which one, its tool's check, the recovery point and the time to restore. */
  repository?: RepositoryFacts
  /** The team's own checks on the restored copy (input checks): where they ran and what each found. */
  checks?: { database: string; outcomes: CheckOutcome[] }
  /** The recovery point and time: the copy's newest data, its age once ready, the restore's time to a usable copy. */
  evidence?: RecoveryEvidence
  error?: { problem: string; message: string; hint?: string; input?: string }
}

export function buildReceipt(result: VerificationResult): Receipt {
  const tables = result.tables
  return {
    schemaVersion: RECEIPT_SCHEMA_VERSION,
    tool: 'backup-verify',
    verdict: result.status,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    name: result.name,
    method: result.method,
    database: result.target,
    restoredOn: result.restoreTarget,
    restoreServer: result.restoreServer && { ...result.restoreServer },
    serverVersion: result.serverVersion,
    client: result.client && { version: result.client.version, source: result.client.origin },
    backup: result.backup && {
      path: result.backup.path,
      format: result.backup.format,
      compression: result.backup.compression,
      sizeBytes: result.backup.sizeBytes,
      sha256: result.backup.sha256
    },
    counts: countsOf(result),
    phases: result.phases.map(({ name, status, durationMs, detail }) => ({ name, status, durationMs, detail })),
    inventory: result.inventory && recordInventory(result.inventory),
    comparison: tables && {
      reference: tables.reference,
      missingTables: tables.missing,
      extraTables: tables.extra,
      rowMismatches: tables.rowMismatches,
      contentMismatches: tables.contentMismatches,
      objectMismatches: tables.objectMismatches,
      definitionMismatches: tables.definitions.differences.map(({ kind, name }) => ({ kind, name })),
      sequenceMismatches: tables.sequenceMismatches
    },
    safety: result.safety && { ...result.safety },
    repository: result.physical?.repository && { ...result.physical.repository },
    evidence: result.evidence && { ...result.evidence },
    checks: result.teamChecks && {
      database: result.teamChecks.database,
      outcomes: result.teamChecks.outcomes.map((outcome) => ({ ...outcome }))
    },
    error: result.error && { ...result.error }
  }
}

/**
 * Writes the receipt under a name of its own: the start time to the millisecond and a random part,
 * created exclusively, so that two runs in one second (two steps of a job) never write over each other.
 */
export async function writeReceipt(folder: string, receipt: Receipt): Promise<string> {
  const stamp = receipt.startedAt.replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z')
  const file = path.join(folder, `backup-verify-receipt-${stamp}-${randomBytes(3).toString('hex')}.json`)
  const handle = await open(file, 'wx')
  try {
    // The definitions (one per object: tens of thousands in a large schema) are written a part at a
    // time, so that the receipt is never one string in memory beside them.
    const definitions = receipt.inventory?.definitions ?? []
    const text = JSON.stringify(
      receipt.inventory ? { ...receipt, inventory: { ...receipt.inventory, definitions: DEFINITIONS_HERE } } : receipt,
      null,
      2
    )
    const [before, after = ''] = text.split(JSON.stringify(DEFINITIONS_HERE))
    await handle.write(before)
    if (receipt.inventory) {
      await handle.write(definitions.length === 0 ? '[]' : '[\n')
      let part: string[] = []
      let written = 0
      for (const definition of definitions) {
        part.push(`      ${JSON.stringify(definition)}`)
        written++
        if (part.length === DEFINITIONS_A_WRITE || written === definitions.length) {
          await handle.write(`${part.join(',\n')}${written === definitions.length ? '\n    ]' : ',\n'}`)
          part = []
        }
      }
    }
    await handle.write(`${after}\n`)
  } finally {
    await handle.close()
  }
  return file
}

/** Stands in the receipt's text for its definitions, written apart (a value no inventory holds). */
const DEFINITIONS_HERE = '\u0000definitions written apart\u0000'
const DEFINITIONS_A_WRITE = 2000

/** The inventory as a receipt keeps it: definitions hashed (they are hashes already when it came from a receipt). */
function recordInventory(inventory: Inventory): RecordedInventory {
  const { definitions, definitionsHashed, ...rest } = inventory
  return {
    ...rest,
    definitions: {
      length: definitions.length,
      toJSON() {
        return [...this]
      },
      *[Symbol.iterator]() {
        // Hashed from the bytes kept: no text is made of a definition only to be hashed.
        for (let index = 0; index < definitions.length; index++) {
          const { kind, name, table } = definitions.objectAt(index)
          const text = definitions.textBytesAt(index)
          yield { kind, name, ...(table ? { table } : {}), hash: definitionsHashed ? text.toString() : definitionHash(text) }
        }
      }
    }
  }
}

/** A receipt's inventory, ready to compare a restore with: definitions as hashes. */
export function receiptInventory(receipt: Receipt): Inventory | undefined {
  if (!receipt.inventory) return undefined
  const { definitions, ...rest } = receipt.inventory
  return {
    ...rest,
    definitions: DefinitionList.from(
      (function* () {
        for (const { kind, name, table, hash } of definitions) yield { kind, name, ...(table ? { table } : {}), text: hash }
      })()
    ),
    definitionsHashed: true
  }
}

/** A receipt given as input: made when the backup was created, it holds the inventory to compare with. */
export function readReceipt(input: string, file: string): Receipt {
  let receipt: Receipt
  try {
    receipt = JSON.parse(readFileSync(file, 'utf8')) as Receipt
  } catch {
    throw new InputError(input, file, 'the path of a receipt written by backup-verify (JSON)')
  }
  if (receipt?.tool === 'backup-verify' && typeof receipt.schemaVersion === 'number' && receipt.schemaVersion < RECEIPT_SCHEMA_VERSION) {
    throw new InputError(
      input,
      file,
      `a receipt of schemaVersion ${RECEIPT_SCHEMA_VERSION}; this one (${receipt.schemaVersion}) was ` +
        `written by an older backup-verify, whose inventories this one cannot compare with: verify the backup ` +
        `without it once, and use the receipt that run writes`
    )
  }
  if (
    receipt?.schemaVersion !== RECEIPT_SCHEMA_VERSION ||
    receipt.tool !== 'backup-verify' ||
    !receipt.inventory ||
    !Array.isArray(receipt.inventory.definitions)
  ) {
    throw new InputError(input, file, `a backup-verify receipt of schemaVersion ${RECEIPT_SCHEMA_VERSION} with an inventory`)
  }
  return receipt
}
