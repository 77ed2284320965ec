// Phase 2 as the engine runs it: the backup judged without restoring it, the expected checksum and
// the receipt held against it. A backup that is not valid stops a streamed restore at once.

import { readMadeBy } from '../backup/made-by.js'
import type { DetectedFormat } from '../backup/detect.js'
import { restoreJobs } from '../backup/formats.js'
import { describeBackupOnDisk, type CreatedBackup } from '../backup/on-disk.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import { GATE_CHECK } from '../validate/plain-checks.js'
import { minSizeCheck, requirePassed, UNTRUSTED_CODE_CHECK, validateBackup } from '../validate/validate.js'
import { describeUntrustedCode } from '../backup/gate/refusal.js'
import type { SafetyFacts } from '../report/result.js'
import { Connected } from './connected.js'
import type { Held } from './create-phase.js'
import { bindReceipt } from '../records/receipt-binding.js'
import { changedSinceReceipt } from '../records/since-receipt.js'
import type { Inventory } from '../compare/inventory.js'
import { receiptInventory } from '../records/receipt.js'
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
      // A backup this run made is vouched for by the run itself.
      held.trustedBy = 'this run'
      judge(v, backup, checks, undefined, held.trustedBy)
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
    const connectOptions = { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry }
    // No server named: the backup's own header chooses the client tools; its server comes after Validate.
    const connected = (held.connected =
      settings.connection.kind === 'none'
        ? await Connected.forBackup(run, settings, v.workspace, connectOptions, result, await readMadeBy(file, detected))
        : await Connected.open(run, settings, v.workspace, connectOptions, result))
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
    // As for a backup this run makes; with alert-mode warn, min-size warns when the run ends instead.
    if (settings.alerts.mode === 'fail' && settings.minSizeBytes > 0) checks.push(minSizeCheck(backup.sizeBytes, settings.minSizeBytes))
    const receipt = v.references.receipt
    // Another backup's receipt refused, at the data level: which tables' content changed between the two.
    const changed =
      receipt && receipt.backup?.sha256 !== backup.sha256 && settings.maxShrinkPercent === undefined && backup.content
        ? changedSinceReceipt(receiptInventory(receipt) as Inventory, backup.content)
        : undefined
    const binding = bindReceipt(receipt, settings.maxShrinkPercent, backup.sha256, changed)
    const expected = v.references.expectedChecksum
    held.trustedBy = expected && expected === backup.sha256 ? 'expected-checksum' : binding?.describesThisBackup ? 'receipt' : undefined
    judge(v, backup, checks, binding?.check, held.trustedBy)
    // An untrusted archive is restored through one psql session, as the gate read its script.
    if (held.trustedBy === undefined && detected.format !== 'plain') result.backup.jobs = 1
    if (binding?.error) throw binding.error
    held.describedByReceipt = binding?.describesThisBackup === true
    done(`${checks.length + (binding ? 1 : 0)} checks passed; SHA-256 ${backup.sha256.slice(0, 12)}…`)
    return backup
  })
}

/**
 * The checks, the expected checksum first, logged and recorded; throws naming every failed one (the
 * receipt's aside). Code for the server's host fails a backup nothing vouches for.
 */
function judge(
  v: Verification,
  backup: CreatedBackup,
  checks: ValidationCheck[],
  receipt: ValidationCheck | undefined,
  trustedBy: SafetyFacts['trustedBy']
): void {
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
  const code = codeCheck(backup, trustedBy)
  if (code) checks.push(code)
  if (backup.gate) v.result.safety = safetyFacts(backup, trustedBy, checks)
  const all = receipt ? [...checks, receipt] : checks
  v.result.checks = all
  for (const check of all) v.run.log(`${check.passed ? '✓' : '✗'} ${check.name}: ${check.detail}`)
  requirePassed(checks, backup.format)
}

/** Functions whose code would run on the server's host: restored when something vouches for the backup, refused otherwise. */
function codeCheck(backup: CreatedBackup, trustedBy: SafetyFacts['trustedBy']): ValidationCheck | undefined {
  const code = backup.gate?.untrustedCode ?? []
  if (code.length === 0) return undefined
  const listed = `${code
    .slice(0, 5)
    .map((routine) => describeUntrustedCode(routine))
    .join('; ')}${code.length > 5 ? `; and ${code.length - 5} more` : ''}`
  if (trustedBy)
    return { name: UNTRUSTED_CODE_CHECK, passed: true, detail: `${listed}: restored, the backup is vouched for by ${trustedBy}` }
  return {
    name: UNTRUSTED_CODE_CHECK,
    passed: false,
    detail: `${listed}: code or files of the database server's host, which the restore would run or read, and nothing vouches for this backup`
  }
}

function safetyFacts(backup: CreatedBackup, trustedBy: SafetyFacts['trustedBy'], checks: ValidationCheck[]): SafetyFacts {
  const gate = backup.gate as NonNullable<CreatedBackup['gate']>
  const refusedCheck = checks.find((check) => !check.passed && (check.name === UNTRUSTED_CODE_CHECK || check.name === GATE_CHECK))
  return {
    trusted: trustedBy !== undefined,
    trustedBy,
    refused: gate.refusedTotal + (trustedBy === undefined ? gate.untrustedCode.length : 0),
    refusedDetail: refusedCheck?.detail,
    standIn: gate.standIn,
    leftOut: gate.leftOutTotal,
    rewritten: gate.rewritten,
    untrustedCode: gate.untrustedCode.map((routine) => `${routine.routine} in ${routine.language}`)
  }
}
