// Phase 2: judges the backup from what the Create phase saw in its bytes, and checks the file on disk still matches.

import { stat } from 'node:fs/promises'
import type { Inspection } from '../backup/inspect.js'
import { plainDumpChecks, type ValidationCheck } from '../backup/plain-scanner.js'
import { VerificationError } from '../errors.js'

export async function validateBackup(backupFile: string, inspection: Inspection): Promise<ValidationCheck[]> {
  const onDisk = (await stat(backupFile)).size
  return [
    ...plainDumpChecks(inspection.scan),
    {
      name: 'Size on disk',
      passed: onDisk === inspection.sizeBytes,
      detail:
        onDisk === inspection.sizeBytes
          ? `${onDisk} bytes, as written`
          : `${onDisk} bytes on disk, but ${inspection.sizeBytes} were written: the file changed after the dump`
    }
  ]
}

/** Throws when any check failed, naming every failed check. */
export function requirePassed(checks: ValidationCheck[]): void {
  const failed = checks.filter((check) => !check.passed)
  if (failed.length === 0) return
  throw new VerificationError(
    'backup-invalid',
    `Backup failed validation: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`,
    'A truncated or corrupted dump usually means pg_dump was interrupted or the disk filled up; run with verbose: true to see its output.'
  )
}
