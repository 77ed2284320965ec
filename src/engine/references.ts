// The files the inputs name, read first of all, before anything connects: the backup must be one,
// the checksum file must hold a SHA-256, the receipt must be one this run can compare with
// (records/receipt-binding.ts, which also says whether it describes this very backup).

import { backupPathProblem, isFolder } from '../backup/backup-path.js'
import type { Settings } from '../inputs/inputs.js'
import type { VerifyLevel } from '../compare/inventory.js'
import type { Receipt } from '../records/receipt.js'
import { readUsableReceipt } from '../records/receipt-binding.js'
import { freshnessCheck, readChecks, type Check } from '../compare/checks.js'
import { checkHistoryWritable, readHistory, type HistoryRecord } from '../records/history.js'
import { InputError } from '../run/errors.js'
import { Input } from '../run/names.js'
import { readChecksumFile } from '../validate/expected-checksum.js'

export interface References {
  /** The SHA-256 the backup must have. */
  expectedChecksum?: string
  receipt?: Receipt
  /**
   * The level this run verifies at: the one asked for; or, when none was asked for, the receipt's
   * own where it holds less than the default level needs.
   */
  verifyLevel: VerifyLevel
  /** The history's records before this run (with the history input; none when the file is new). */
  history?: HistoryRecord[]
  /** The team's own checks on the restored copy (input checks), and freshness-query last, asked the same way. */
  checks: Check[]
}

export async function readReferences(settings: Settings): Promise<References> {
  // First: a history that cannot be read is left alone (and not appended to) whatever else fails;
  // one that could not be written is refused now, not after the whole verification.
  if (settings.history) await checkHistoryWritable(settings.history)
  const history = settings.history ? await readHistory(settings.history) : undefined
  // A physical backup is a folder of folders: recognised, or refused, by the physical path itself.
  if (settings.backupFile && settings.method === 'physical') {
    if (!(await isFolder(settings.backupFile))) {
      throw new InputError(
        Input.BackupFile,
        settings.given.backupFile ?? settings.backupFile,
        'with method: physical, the folder pg_basebackup wrote (tar or plain format)'
      )
    }
  } else if (settings.backupFile) {
    const problem = backupPathProblem(settings.backupFile)
    if (problem)
      throw new InputError(
        Input.BackupFile,
        settings.given.backupFile ?? settings.backupFile,
        `the path of a backup file, or of a directory-format folder of files; ${problem}`
      )
  }
  const expectedChecksum = await readExpectedChecksum(settings)
  const checks = [
    ...(settings.checks ? await readChecks(settings.checks) : []),
    ...(settings.freshnessQuery ? [freshnessCheck(settings.freshnessQuery)] : [])
  ]
  return { history, expectedChecksum, checks, ...readUsableReceipt(settings) }
}

/** expected-checksum: a SHA-256 as given, or the line of a sha256sum-style file that names the backup (else its first). */
async function readExpectedChecksum(settings: Settings): Promise<string | undefined> {
  const expected = settings.expectedChecksum
  if (!expected || 'sha256' in expected) return expected?.sha256
  const accepted = 'a SHA-256 of 64 hex digits, or the path of a sha256sum-style file'
  const checksum = await readChecksumFile(expected.path, settings.backupFile).catch(() => {
    throw new InputError(Input.ExpectedChecksum, expected.given, accepted)
  })
  if (!checksum) throw new InputError(Input.ExpectedChecksum, expected.given, `${accepted}; that file holds no SHA-256`)
  return checksum
}
