// A backup of a pgBackRest or Barman repository (method: pgbackrest, barman): Validate lists the
// repository's backups with the tool, chooses one, runs the tool's own check and reads the backup's
// identity; Restore has the tool restore it into the run's private folder (archiving off: the copy
// never writes to the repository), then starts, recovers, proves and counts it as a base backup.

import { chooseBackup, type RepositoryBackup } from '../repository/repository-backup.js'
import { findRepositoryTool } from '../repository/repository-tool.js'
import { pgBackRestAccess } from '../repository/pgbackrest.js'
import { barmanAccess } from '../repository/barman.js'
import type { RepositoryAccess } from '../repository/access.js'
import type { RepositorySettings } from '../inputs/repository-inputs.js'
import { scrubbedEnvironment, PGBACKREST_VARIABLE } from '../connection/environment.js'
import { compareSinceReceipt } from '../records/since-receipt.js'
import { receiptInventory } from '../records/receipt.js'
import { describeSinceReceipt } from '../report/since-receipt.js'
import type { PhysicalFacts, RepositoryFacts } from '../report/result.js'
import type { PhysicalDatabase } from '../physical/prove.js'
import { describeBytes } from '../run/bytes.js'
import { formatDuration } from '../run/duration.js'
import { VerificationError } from '../run/errors.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import { inServerRoom, mainDatabase, restorePhysical, serverBinariesFor, type PreparedCopy } from './physical-phases.js'
import type { Verification } from './verification.js'
import { ageAtReady, noteCopyReady, noteNewestData } from './evidence.js'
import type { ServerRoom } from '../server/room.js'

export async function verifyRepository(v: Verification): Promise<void> {
  const repository = v.settings.repository!
  await inServerRoom(v, async (room) => {
    const access = await openRepository(v, repository, room)
    v.phases.skip('Create', `skipped: verifying a backup of ${access.where}`)
    const chosen = await v.phases.run(
      'Validate',
      async (done) => {
        const ready = await validateRepositoryBackup(v, access, repository)
        done(
          `${ready.facts.repository!.type} backup ${ready.backup.label} of ${access.where}, PostgreSQL ${ready.backup.major}` +
            `${ready.backup.sizeBytes !== undefined ? `, ${describeBytes(ready.backup.sizeBytes)}` : ''}; ` +
            `${ready.facts.repository!.toolCheck?.ran ? ready.facts.repository!.toolCheck.detail : 'the tool was not asked to check it'}`
        )
        return ready
      },
      `Validate: the repository's backups (${repository.tool}), the tool's own check, server binaries`
    )
    await v.phases.run(
      'Restore',
      async (done) => done(await restoreRepositoryBackup(v, access, chosen, room)),
      `Restore: ${repository.tool} restores the backup; a throwaway server recovers it; amcheck, checksums, every database counted`
    )
  })
}

/** The repository through its tool; the tool's own environment keeps the repository's secrets (PGBACKREST_*). */
async function openRepository(v: Verification, repository: RepositorySettings, room: ServerRoom): Promise<RepositoryAccess> {
  const env = {
    ...scrubbedEnvironment(v.env),
    ...Object.fromEntries(Object.entries(v.env).filter(([name]) => repository.tool === 'pgbackrest' && PGBACKREST_VARIABLE.test(name)))
  }
  const tool = await findRepositoryTool(repository.tool, repository.toolPath, env)
  v.run.log(`${repository.tool} ${tool.version} (${tool.executable})`)
  if (repository.tool === 'pgbackrest') {
    return pgBackRestAccess(
      v.run,
      tool,
      { stanza: repository.stanza, config: repository.config?.path, lockFolder: `${room.folder}/pgbackrest-lock` },
      repository.verify
    )
  }
  return barmanAccess(v.run, tool, { server: repository.server, config: repository.config?.path, target: v.settings.recoveryTarget })
}

interface ChosenBackup extends PreparedCopy {
  backup: RepositoryBackup
  facts: PhysicalFacts & { repository: RepositoryFacts }
}

async function validateRepositoryBackup(v: Verification, access: RepositoryAccess, repository: RepositorySettings): Promise<ChosenBackup> {
  const { run, result, settings } = v
  const backups = await access.backups()
  const targetTime = settings.recoveryTarget?.time ? new Date(settings.recoveryTarget.time) : undefined
  const backup = chooseBackup(backups, repository.set, access.where, targetTime)
  run.log(
    `${access.where}: ${backups.length} backup(s); verifying ${backup.type} backup ${backup.label} ` +
      `(${backup.startedAt.toISOString()} to ${backup.stoppedAt.toISOString()}${backup.prior ? `, on top of ${backup.prior}` : ''}` +
      `${backup.wal.start ? `, WAL ${backup.wal.start} to ${backup.wal.stop ?? '?'}` : ''})`
  )
  const checks: ValidationCheck[] = []
  result.checks = checks
  const facts: ChosenBackup['facts'] = {
    layout: 'repository',
    major: backup.major,
    manifest: { verified: false, detail: 'checked by the repository tool' },
    repository: {
      tool: repository.tool,
      toolVersion: access.tool.version,
      name: access.name,
      label: backup.label,
      type: backup.type,
      startedAt: backup.startedAt.toISOString(),
      stoppedAt: backup.stoppedAt.toISOString(),
      sizeBytes: backup.sizeBytes,
      repositoryBytes: backup.repositoryBytes,
      prior: backup.prior,
      recoveryTarget: settings.recoveryTarget?.time
        ? `time ${settings.recoveryTarget.time}`
        : settings.recoveryTarget?.lsn
          ? `LSN ${settings.recoveryTarget.lsn}`
          : 'the end of the WAL archive'
    }
  }
  result.physical = facts
  result.target = `${repository.tool}:${access.name}`
  if (!Number.isFinite(backup.major)) {
    throw new VerificationError('repository-unreadable', `${access.where} does not say which PostgreSQL backup ${backup.label} is of.`)
  }
  if (backup.error) {
    checks.push({ name: `${repository.tool} backup`, passed: false, detail: backup.error })
    throw new VerificationError('backup-invalid', `Backup ${backup.label} of ${access.where} is marked faulty: ${backup.error}.`)
  }
  const binaries = await serverBinariesFor(v, backup.major)
  facts.server = { version: binaries.version.text, directory: binaries.directory, origin: binaries.origin }
  if (access.check) {
    const checked = await access.check(backup, binaries.directory)
    facts.repository.toolCheck = { ran: true, ...checked }
    facts.manifest = { verified: checked.passed, detail: checked.detail }
    checks.push({
      name: repository.tool === 'pgbackrest' ? 'pgbackrest verify' : 'barman check-backup',
      passed: checked.passed,
      detail: checked.detail
    })
    if (!checked.passed) {
      throw new VerificationError(
        'backup-invalid',
        `${access.where}: ${checked.detail}`,
        'The repository holds damaged or missing files: take a new backup, and find what changed the repository.'
      )
    }
  }
  const sha256 = await access.identity(backup)
  result.backup = {
    path: `${repository.tool}:${access.name}/${backup.label}`,
    sizeBytes: backup.sizeBytes ?? 0,
    sha256,
    format: 'physical',
    compression: 'as the repository keeps it',
    jobs: 1,
    streamed: false,
    kept: false,
    existing: true
  }
  const receipt = v.references.receipt
  const chosen: ChosenBackup = { backup, facts, binaries, dataDirectory: '' }
  if (receipt) {
    const same = receipt.backup?.sha256 === sha256
    const recorded = same ? receiptInventory(receipt) : undefined
    const database = receipt.database?.slice(receipt.database.lastIndexOf('/') + 1)
    if (recorded && database) chosen.receipt = { database, inventory: recorded }
    checks.push({
      name: 'Receipt',
      passed: true,
      detail: same
        ? `describes this backup (manifest SHA-256 ${sha256.slice(0, 12)}…): compared exactly once restored`
        : `describes an earlier backup (verified ${receipt.startedAt}): compared as an older backup once restored (tables, definitions, rows within max-shrink)`
    })
  }
  return chosen
}

async function restoreRepositoryBackup(v: Verification, access: RepositoryAccess, chosen: ChosenBackup, room: ServerRoom): Promise<string> {
  const { run, result, settings } = v
  const started = Date.now()
  const wal = await access.restore(chosen.backup, room.dataDirectory, room.serverFolder)
  const filesMs = Date.now() - started
  run.log(`${access.tool.name} restored backup ${chosen.backup.label} in ${(filesMs / 1000).toFixed(1)} s`)
  const repository = chosen.facts.repository
  const prepared: PreparedCopy = {
    ...chosen,
    dataDirectory: room.dataDirectory,
    recovery: wal,
    filesMs,
    compare: (databases) => compareWithReceipt(v, databases)
  }
  try {
    return await restorePhysical(v, prepared, room)
  } finally {
    const recovery = chosen.facts.recovery
    if (recovery?.millisecondsToConsistent) {
      repository.restoreMs = {
        files: filesMs,
        recovery: recovery.millisecondsToConsistent,
        total: filesMs + recovery.millisecondsToConsistent
      }
      repository.restoredPoint = recovery.lastReplayedCommit ?? repository.stoppedAt
      if (!recovery.lastReplayedCommit) noteNewestData(v, repository.stoppedAt, "the backup's end")
      noteCopyReady(v, repository.restoreMs.total)
      // The repository's own point (freshness-query may have given the copy's newest data otherwise).
      repository.backupAgeSeconds = ageAtReady(v, repository.restoredPoint)
      run.log(
        `Recovery point: ${repository.restoredPoint} (the backup ended ${formatDuration((repository.backupAgeSeconds ?? 0) * 1000)} ago); ` +
          `time to restore: ${(repository.restoreMs.total / 1000).toFixed(1)} s (${access.tool.name} ${(filesMs / 1000).toFixed(1)} s, recovery ${(recovery.millisecondsToConsistent / 1000).toFixed(1)} s)`
      )
    }
    result.physical = chosen.facts
    if (settings.verbose) run.log(`Restored into ${room.dataDirectory}`)
  }
}

/**
 * The copy's main database against the receipt: exactly, when the receipt was written for this
 * very backup; as an older backup of the same database otherwise (tables and definitions kept,
 * rows within max-shrink). Without a receipt, the database that holds the most tables is recorded
 * in the receipt for the next run.
 */
function compareWithReceipt(v: Verification, databases: PhysicalDatabase[]): string | undefined {
  const { result, settings, run } = v
  const receipt = v.references.receipt
  const named = receipt?.database?.slice(receipt.database.lastIndexOf('/') + 1)
  const main = mainDatabase(databases, named)
  if (!main) return undefined
  result.inventory = main.inventory
  result.target = `${result.target}/${main.name}`
  if (!receipt) return `recorded ${main.name} for the next run's receipt`
  if (named !== main.name)
    throw new VerificationError('restore-mismatch', `The receipt describes database ${named}, which is not in the copy.`)
  const backup = result.backup!
  // The receipt of this very backup: held to it exactly (restorePhysical's holdToReceipt).
  if (receipt.backup?.sha256 === backup.sha256) return `${main.name} held to the receipt written for this backup`
  const since = compareSinceReceipt(
    receipt,
    {
      sizeBytes: backup.sizeBytes,
      sha256: backup.sha256,
      format: backup.format,
      compression: backup.compression,
      restored: main.inventory
    },
    settings.maxShrinkPercent ?? 100
  )
  result.sinceReceipt = since
  for (const [label, text] of describeSinceReceipt(since)) run.log(`${label}: ${text}`)
  if (since.problems.length > 0) {
    throw new VerificationError(
      'receipt-mismatch',
      `Since the receipt's backup (${receipt.startedAt}): ${since.problems.join('; ')}`,
      'A table or object gone, or rows lost beyond max-shrink: find what removed them on the source, or raise max-shrink if it was meant.'
    )
  }
  return `${main.name} compared with the receipt of ${receipt.startedAt}`
}
