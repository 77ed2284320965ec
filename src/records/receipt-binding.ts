// A receipt given as input, held to the run it is given to: refused when it cannot support the
// level or the mode asked for; then, once the backup's checksum is known, bound to this very backup
// (compared exactly) or to an older backup of the same database (max-shrink), or refused.

import type { Settings } from '../inputs/inputs.js'
import { levelCovers, type VerifyLevel } from '../compare/inventory.js'
import { readReceipt, type Receipt } from './receipt.js'
import { InputError, VerificationError } from '../run/errors.js'
import { Input } from '../run/names.js'
import type { ValidationCheck } from '../validate/plain-checks.js'

/**
 * The receipt, refused when it cannot support this run: a level asked for that it was not made at,
 * or no backup-file and no threshold. Without a level asked for, the run verifies at the receipt's.
 */
export function readUsableReceipt(settings: Settings): { receipt?: Receipt; verifyLevel: VerifyLevel } {
  if (!settings.receipt) return { verifyLevel: settings.verifyLevel }
  const receipt = readReceipt(Input.Receipt, settings.receipt.path)
  const level = receipt.inventory?.level
  const verifyLevel = level && !settings.given.verify && !levelCovers(level, settings.verifyLevel) ? level : settings.verifyLevel
  if (level && !levelCovers(level, verifyLevel)) {
    throw new InputError(
      Input.Verify,
      settings.verifyLevel,
      `a level the receipt can support: it was made at verify: ${level}, so it holds ` +
        `${level === 'schema' ? 'no row counts' : 'no content fingerprints'}. ` +
        `Use verify: ${level}, or make the receipt with verify: ${settings.verifyLevel}`
    )
  }
  // A repository's backup is compared with an earlier run's receipt of its stanza, the same backup or an older one.
  if (!settings.backupFile && !settings.repository && settings.maxShrinkPercent === undefined) {
    throw new InputError(
      Input.Receipt,
      settings.receipt.given,
      'a receipt used with backup-file (an existing backup is compared with the receipt written when it was ' +
        'made), with method pgbackrest or barman (an earlier run of the same stanza or server), or with max-shrink (a newer backup is compared with the older one the receipt describes, table by table)'
    )
  }
  return { receipt, verifyLevel }
}

export interface ReceiptBinding {
  check: ValidationCheck
  /** The receipt was written for this backup: the restore is compared with it exactly. */
  describesThisBackup: boolean
  error?: VerificationError
}

/**
 * A receipt is tied to the backup it describes: only that backup is compared with it exactly. Another
 * backup is compared with it as a newer backup of the same database, and only when the user asks so
 * (max-shrink): table by table once restored. A physical backup is compared with its own receipt only.
 */
export function bindReceipt(
  receipt: Receipt | undefined,
  maxShrinkPercent: number | undefined,
  sha256: string,
  /** Verify level data: the tables whose content differs between the receipt's backup and this one. */
  changed?: string[],
  method: 'logical' | 'physical' = 'logical'
): ReceiptBinding | undefined {
  if (!receipt) return undefined
  const described = receipt.backup?.sha256
  if (described === sha256) {
    return {
      describesThisBackup: true,
      check: {
        name: 'Receipt',
        passed: true,
        detail:
          `describes this backup (SHA-256 ${sha256.slice(0, 12)}…, verified ${receipt.startedAt} at verify ` +
          `level ${receipt.inventory?.level})`
      }
    }
  }
  const other = `the receipt describes another backup (SHA-256 ${described ? `${described.slice(0, 12)}…` : 'unknown'}, verified ${receipt.startedAt}), not this one (SHA-256 ${sha256.slice(0, 12)}…)`
  const content = changed === undefined ? '' : ` ${describeChanges(changed, 'Content differs from it')}`
  if (maxShrinkPercent !== undefined && method === 'logical') {
    return {
      describesThisBackup: false,
      check: {
        name: 'Receipt',
        passed: true,
        detail:
          `${other}: compared as an older backup once restored: every table's rows (within max-shrink, ${maxShrinkPercent}%), ` +
          `content where the receipt holds fingerprints, every definition`
      }
    }
  }
  if (method === 'physical') {
    return {
      describesThisBackup: false,
      check: { name: 'Receipt', passed: false, detail: other },
      error: new VerificationError(
        'receipt-mismatch',
        `The receipt does not describe this backup: ${other}. A physical backup is compared only with the receipt written for it.`,
        'Give the receipt written when this base backup was made (its run wrote it; see report-path), or verify it without a receipt.'
      )
    }
  }
  return {
    describesThisBackup: false,
    check: { name: 'Receipt', passed: false, detail: other },
    error: new VerificationError(
      'receipt-mismatch',
      `The receipt does not describe this backup: ${other}.${content} A receipt is compared exactly only with the backup it was written for.`,
      'Give the receipt written when this backup was made (its run wrote it; see report-path), or add ' +
        'max-shrink to compare this backup with the receipt as with an older backup of the same database.'
    )
  }
}

/** "Content differs from it in 2 tables: a, b." or "... in no table." */
function describeChanges(changed: string[], lead: string): string {
  if (changed.length === 0) return `${lead} in no table.`
  const shown = changed.slice(0, 20).join(', ')
  return `${lead} in ${changed.length} table${changed.length === 1 ? '' : 's'}: ${shown}${changed.length > 20 ? ', …' : ''}.`
}
