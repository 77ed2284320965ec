// Phase 2 as the engine runs it: the backup judged without restoring it, the expected checksum and
// the receipt held against it. A backup that is not valid stops a streamed restore at once.

import type { DetectedFormat } from '../backup/detect.js'
import { restoreJobs } from '../backup/formats.js'
import { describeBackupOnDisk, type CreatedBackup } from '../backup/on-disk.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import { requirePassed, validateBackup } from '../validate/validate.js'
import { Connected } from './connected.js'
import type { Held } from './create-phase.js'
import { bindReceipt, describeChanges } from './references.js'
import { changedSinceReceipt } from '../compare/dump-reference.js'
import type { Inventory } from '../compare/inventory.js'
import { receiptInventory } from '../report/receipt.js'
import type { Verification } from './verification.js'

/** A backup this run made: validated as it was written (plain, tar) or read once (custom, directory). */
export async function validatePhase(v: Verification, held: Held, backup: CreatedBackup): Promise<void> {
  try {
    await v.phases.run('Validate', async (done) => {
      const connected = held.connected as Connected
      const checks = await validateBackup(v.run, backup, {
        tools: connected.tools,
        env: connected.env,
        rehashAfter: held.streamed?.read,
        content: v.settings.verifyLevel === 'data'
      })
      judge(v, backup, checks)
      done(`${checks.length} checks passed; SHA-256 ${backup.sha256.slice(0, 12)}…`)
    })
  } catch (error) {
    // A backup that is not valid is not worth restoring: the streamed restore stops.
    await held.streamed?.abandon(error)
    throw error
  }
}

/** An existing backup: connected to the server that restores it, read once, validated; the receipt's inventory when it describes this backup. */
export async function validateExistingPhase(v: Verification, held: Held, file: string, detected: DetectedFormat): Promise<CreatedBackup> {
  const { run, settings, result } = v
  return v.phases.run('Validate', async (done) => {
    const connected = (held.connected = await Connected.open(
      run,
      settings,
      v.workspace,
      { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry },
      result
    ))
    run.log(`Existing backup: ${file} (${detected.format} format${detected.compression ? ', gzip' : ''}, recognised from its content)`)
    const content = settings.verifyLevel === 'data'
    const backup = await describeBackupOnDisk(file, detected.format, detected.compression, run.signal, { content })
    result.backup = {
      path: file,
      sizeBytes: backup.sizeBytes,
      sha256: backup.sha256,
      format: detected.format,
      compression: detected.compression ? 'gzip' : 'as written',
      jobs: restoreJobs(detected.format, detected.compression, settings.jobs),
      files: backup.manifest?.entries.length,
      streamed: false,
      kept: false,
      existing: true
    }
    const checks = await validateBackup(run, backup, { tools: connected.tools, env: connected.env, content })
    const receipt = v.references.receipt
    // Another backup's receipt, at the data level: which tables' content changed between the two.
    const changed =
      receipt && receipt.backup?.sha256 !== backup.sha256 && backup.content
        ? changedSinceReceipt(receiptInventory(receipt) as Inventory, backup.content)
        : undefined
    const binding = bindReceipt(receipt, settings.maxShrinkPercent, backup.sha256, changed)
    if (changed && !binding?.error) {
      result.changedSinceReceipt = changed
      run.log(describeChanges(changed, 'Content changed since the receipt'))
    }
    judge(v, backup, checks, binding?.check)
    if (binding?.error) throw binding.error
    held.describedByReceipt = binding?.describesThisBackup === true
    done(`${checks.length + (binding ? 1 : 0)} checks passed; SHA-256 ${backup.sha256.slice(0, 12)}…`)
    return backup
  })
}

/** The checks, the expected checksum first, logged and recorded; throws naming every failed one (the receipt's aside). */
function judge(v: Verification, backup: CreatedBackup, checks: ValidationCheck[], receipt?: ValidationCheck): void {
  const expected = v.references.expectedChecksum
  if (expected) {
    const matches = backup.sha256 === expected
    checks.unshift({
      name: 'Expected checksum',
      passed: matches,
      detail: matches
        ? `SHA-256 ${backup.sha256}, as expected`
        : `SHA-256 ${backup.sha256}, but ${expected} was expected: this is not that backup, or it changed`
    })
  }
  const all = receipt ? [...checks, receipt] : checks
  v.result.checks = all
  for (const check of all) v.run.log(`${check.passed ? '✓' : '✗'} ${check.name}: ${check.detail}`)
  requirePassed(checks, backup.format)
}
