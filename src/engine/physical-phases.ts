// An existing physical backup (method: physical): Validate checks it against its manifest
// (pg_verifybackup: every file's size and checksum, the WAL from start to end) and refuses one
// without backup_label; Restore boots it on a throwaway server of its major, lets it recover to a
// consistent state (to the end of its WAL, or to a target) and be promoted, then proves it: amcheck
// over every database, page checksum failures, the inventory of every database.

import { describeBytes } from '../run/bytes.js'
import { VerificationError } from '../run/errors.js'
import { defaultCacheRoot, FolderToolCache } from '../tools/cache.js'
import { DEFAULT_RETRY } from '../tools/download.js'
import { materialise, pointTablespaces, readBackupLabel, readMajor, recognisePhysical, type PhysicalBackup } from '../physical/layout.js'
import { baseBackupChecksum, verifyManifest } from '../physical/backup-manifest.js'
import { provideServerBinaries, type ServerBinaries } from '../physical/server-binaries.js'
import { chooseServerRoom, clearServerRoom, type ServerRoom } from '../server/room.js'
import { startThrowawayServer, type ThrowawayServer } from '../physical/throwaway-server.js'
import { proveCopy, type PhysicalDatabase } from '../physical/prove.js'
import { bindReceipt } from '../records/receipt-binding.js'
import { receiptInventory } from '../records/receipt.js'
import type { Inventory } from '../compare/inventory.js'
import { compareInventories, describeComparison, requireSameInventory } from '../compare/compare.js'
import type { PhysicalFacts } from '../report/result.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import type { Verification } from './verification.js'
import { judgeTeamChecks, runTeamChecks } from './team-checks.js'
import { noteCopyReady, noteNewestData } from './evidence.js'
import { compareWithSource, type SourceAround } from '../physical/source-comparison.js'

/** A copy ready to start: its data directory, the binaries of its major, and what is known of it so far. */
export interface PreparedCopy {
  dataDirectory: string
  binaries: ServerBinaries
  facts: PhysicalFacts
  /** The receipt written for this very backup: the database it names is compared with it exactly. */
  receipt?: { database: string; inventory: Inventory }
  /** Where recovery finds the WAL the copy does not hold; undefined: wal-archive, if given. */
  recovery?: { walArchive?: string; restoreCommand?: string }
  /** How long putting the copy's files in place took (unpacking, or the tool's restore): part of the time to restore. */
  filesMs?: number
  /** After the proof, before the server stops: a comparison of the copy's own (a repository's receipt), its sentence for the phase's detail. */
  compare?: (databases: PhysicalDatabase[]) => string | undefined
}

interface Prepared extends PreparedCopy {
  backup: PhysicalBackup
}

/** An existing base backup, or (with `created`) the one the Create phase just made, held to the source around it. */
export async function verifyPhysical(v: Verification, file: string, created?: SourceAround): Promise<void> {
  if (!created) v.phases.skip('Create', `skipped: verifying the existing base backup ${file}`)
  await inServerRoom(v, (room) => verifyIn(v, file, room, created))
}

/** A folder the copy's server can reach (the run's, or one of its own when the server's account cannot), removed whatever happens. */
export async function inServerRoom(v: Verification, work: (room: ServerRoom) => Promise<void>): Promise<void> {
  const room = await chooseServerRoom(v.workspace.folder)
  if (room.ownFolderFor !== undefined) {
    v.run.ledger.created('folder', room.folder)
    v.run.log(`The server's account (${room.ownFolderFor}) cannot reach ${v.workspace.folder}: the copy goes to ${room.folder}`)
  }
  try {
    await work(room)
  } finally {
    // The copy goes whatever happens; a kept backup (keep-backup) stays, alone.
    await clearServerRoom(room).catch((error: unknown) =>
      v.run.warn(`Could not remove ${room.folder}: ${v.run.redactor.redactError(error)}`)
    )
    if (room.ownFolderFor !== undefined) v.run.ledger.removed('folder', room.folder)
  }
}

async function verifyIn(v: Verification, file: string, room: ServerRoom, created?: SourceAround): Promise<void> {
  const prepared = await v.phases.run(
    'Validate',
    async (done) => {
      const ready = await validatePhysical(v, file, room, created !== undefined)
      done(
        `base backup (${ready.backup.layout} format) of PostgreSQL ${ready.facts.major}, ${describeBytes(ready.backup.sizeBytes)}; ` +
          `${ready.facts.manifest.verified ? 'pg_verifybackup: every file and the WAL as the manifest says' : 'no manifest'}`
      )
      return ready
    },
    'Validate: the manifest (pg_verifybackup), backup_label, server binaries'
  )
  await v.phases.run(
    'Restore',
    async (done) => done(await restorePhysical(v, prepared, room, created)),
    'Restore: a throwaway server recovers the copy; amcheck, checksums, every database counted'
  )
}

async function validatePhysical(v: Verification, file: string, room: ServerRoom, created: boolean): Promise<Prepared> {
  const { run, result, settings } = v
  const backup = await recognisePhysical(file)
  if (!backup) {
    throw new VerificationError(
      'backup-invalid',
      `${file} is not a base backup: a physical backup is the folder pg_basebackup wrote, with base.tar (tar format) or PG_VERSION and global/ (plain format).`,
      'For a pg_dump backup, leave method at logical.'
    )
  }
  const dataDirectory = room.dataDirectory
  run.log(`Base backup, ${backup.layout} format: ${backup.files.length} file(s), ${describeBytes(backup.sizeBytes)}`)
  const unpacking = Date.now()
  await materialise(backup, dataDirectory, run.signal)
  const filesMs = Date.now() - unpacking
  const label = await readBackupLabel(dataDirectory)
  const major = await readMajor(dataDirectory)
  run.log(`backup_label: WAL from ${label.startLsn} (segment ${label.startSegment}, timeline ${label.timeline}); PostgreSQL ${major}`)
  const binaries = await serverBinariesFor(v, major)
  const manifest = await verifyManifest({
    backup,
    dataDirectory,
    binaries,
    walArchive: settings.walArchive?.path,
    env: v.env,
    signal: run.signal,
    onLine: settings.verbose ? run.log : undefined,
    warn: run.warn
  })
  await pointTablespaces(backup, dataDirectory)
  const facts: PhysicalFacts = {
    layout: backup.layout,
    major,
    server: { version: binaries.version.text, directory: binaries.directory, origin: binaries.origin },
    manifest,
    label
  }
  result.physical = facts
  result.backup = {
    path: file,
    sizeBytes: backup.sizeBytes,
    sha256: await baseBackupChecksum(backup),
    format: 'physical',
    compression: backup.base?.compression ?? 'none',
    jobs: 1,
    files: backup.files.length,
    streamed: false,
    kept: false,
    existing: !created
  }
  const checks: ValidationCheck[] = [
    { name: 'backup_label', passed: true, detail: `WAL from ${label.startLsn} on timeline ${label.timeline}` },
    { name: 'Manifest (pg_verifybackup)', passed: manifest.verified, detail: manifest.detail }
  ]
  result.checks = checks
  const sha256 = result.backup.sha256
  const expected = v.references.expectedChecksum
  if (expected) {
    checks.unshift({
      name: 'Expected checksum',
      passed: expected === sha256,
      detail: `SHA-256 ${sha256}${expected === sha256 ? ', as expected' : `, but ${expected} was expected`}`
    })
    if (expected !== sha256) {
      throw new VerificationError(
        'backup-invalid',
        `The backup's SHA-256 (of its manifest) is ${sha256}, but ${expected} was expected: this is not that backup, or it changed.`
      )
    }
  }
  const receipt = v.references.receipt
  const binding = bindReceipt(receipt, settings.maxShrinkPercent, sha256, undefined, 'physical')
  if (binding) checks.push(binding.check)
  if (binding?.error) throw binding.error
  const recorded = binding?.describesThisBackup && receipt ? receiptInventory(receipt) : undefined
  const database = receipt?.database?.slice(receipt.database.lastIndexOf('/') + 1)
  return { backup, dataDirectory, binaries, facts, filesMs, receipt: recorded && database ? { database, inventory: recorded } : undefined }
}

/** The database a copy is known by: the one named, else the one with the most tables (the application's, as a rule). */
export function mainDatabase(databases: PhysicalDatabase[], named?: string): PhysicalDatabase | undefined {
  return (
    databases.find((entry) => entry.name === named) ??
    [...databases]
      .filter((entry) => !['postgres', 'template0', 'template1'].includes(entry.name))
      .sort((a, b) => b.inventory.tables.length - a.inventory.tables.length)[0] ??
    databases.find((entry) => entry.name === 'postgres')
  )
}

/** Server binaries of the copy's major: installed, cached, or downloaded as the client tools are. */
export async function serverBinariesFor(v: Verification, major: number): Promise<ServerBinaries> {
  const { settings, run } = v
  const binaries = await provideServerBinaries(major, {
    request: { kind: 'major', major },
    source: settings.toolsSource,
    toolsUrl: settings.toolsUrl,
    cache: v.options.toolCache ?? new FolderToolCache(defaultCacheRoot(v.env)),
    workFolder: v.workspace.path('tools'),
    retry: v.options.retry ?? DEFAULT_RETRY,
    env: v.env,
    platform: process.platform,
    arch: process.arch,
    log: run.log
  })
  run.log(`Server binaries: PostgreSQL ${binaries.version.text} in ${binaries.directory} (${binaries.origin})`)
  return binaries
}

/** The receipt's database in the copy, compared with the receipt exactly: definitions, tables, rows (and content). */
function holdToReceipt(v: Verification, receipt: NonNullable<Prepared['receipt']>, databases: PhysicalDatabase[]): void {
  const copy = databases.find((entry) => entry.name === receipt.database)?.inventory
  if (!copy) {
    throw new VerificationError('restore-mismatch', `The receipt describes database ${receipt.database}, which is not in the copy.`)
  }
  const comparison = compareInventories(receipt.inventory, copy, [], 'receipt', v.settings.verifyLevel)
  v.run.log(describeComparison(comparison, receipt.inventory, copy))
  v.result.tables = comparison
  v.result.inventory = copy
  requireSameInventory(comparison)
}

/** Starts the copy on a throwaway server, lets it recover and be promoted, proves it (amcheck, checksums, every database counted) and compares it. */
export async function restorePhysical(v: Verification, prepared: PreparedCopy, room: ServerRoom, created?: SourceAround): Promise<string> {
  const { run, settings, result } = v
  let server: ThrowawayServer | undefined
  let recorded: string | undefined
  let unloggedNote = ''
  try {
    server = await startThrowawayServer({
      postgres: prepared.binaries.postgres,
      dataDirectory: prepared.dataDirectory,
      folder: room.serverFolder,
      walArchive: prepared.recovery ? prepared.recovery.walArchive : settings.walArchive?.path,
      restoreCommand: prepared.recovery?.restoreCommand,
      target: settings.recoveryTarget,
      signal: run.signal,
      // The run's own timeout (timeout) stops it sooner through the signal.
      timeoutMs: 6 * 60 * 60 * 1000,
      onLine: settings.verbose ? (line) => run.log(`postgres: ${line}`) : undefined,
      log: run.log,
      startSegment: prepared.facts.label?.startSegment,
      onStarted: (pid) => {
        recorded = `${pid}:${prepared.dataDirectory}`
        run.ledger.created('server', recorded)
        v.options.hooks?.serverStarted?.(pid)
      }
    })
    const facts = server.facts
    prepared.facts.recovery = facts
    noteNewestData(
      v,
      facts.lastReplayedCommit ?? prepared.facts.label?.startTime,
      facts.lastReplayedCommit ? 'the last commit recovery replayed' : "the backup's start (backup_label)"
    )
    noteCopyReady(v, (prepared.filesMs ?? 0) + facts.millisecondsToConsistent)
    run.log(
      `The copy is consistent${facts.consistentAt ? ` at ${facts.consistentAt}` : ''} and promoted on timeline ${facts.timeline} ` +
        `after ${(facts.millisecondsToConsistent / 1000).toFixed(1)} s (redo ${facts.redoStart ?? '?'} to ${facts.redoDone ?? '?'}` +
        `${facts.segmentsRestored ? `, ${facts.segmentsRestored} segment(s) from the WAL archive` : ''})`
    )
    const proof = await proveCopy(server, prepared.binaries.pgAmcheck, settings.verifyLevel, settings.jobs, run.signal)
    prepared.facts.amcheck = proof.amcheck
    if (!proof.amcheck.ran) run.warn(`amcheck ${proof.amcheck.detail}: pages and indexes were not checked.`)
    const notChecked = proof.amcheck.notChecked ?? []
    if (notChecked.length > 0)
      run.warn(`Not every database of the copy was read by amcheck and the checksum count; not checked: ${notChecked.join('; ')}`)
    prepared.facts.checksums = proof.checksums
    prepared.facts.level = settings.verifyLevel
    prepared.facts.databases = proof.databases.map(({ name, inventory }) => ({
      name,
      tables: inventory.tables.length,
      rows: inventory.level === 'schema' ? undefined : inventory.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    }))
    result.physical = prepared.facts
    if (!proof.amcheck.passed) {
      throw new VerificationError('backup-invalid', `amcheck found corruption in the restored copy: ${proof.amcheck.detail}`)
    }
    if (proof.checksums.failures > 0) {
      throw new VerificationError('backup-invalid', `${proof.checksums.failures} page checksum failure(s) in the restored copy.`)
    }
    if (prepared.receipt) holdToReceipt(v, prepared.receipt, proof.databases)
    const compared = prepared.compare?.(proof.databases)
    if (created) {
      const copy = proof.databases.find((entry) => entry.name === created.database)?.inventory
      // What a later run of this backup compares with: the copy's own inventory of the source database.
      result.inventory = copy
      const { unlogged, ...comparison } = compareWithSource(created, copy)
      prepared.facts.comparison = comparison
      unloggedNote = unlogged.length ? `unlogged: empty in a base backup by design: ${unlogged.join(', ')}` : ''
      run.log(
        `Compared with ${created.database} around the backup: ${comparison.compared} quiet table(s) exactly` +
          `${comparison.written.length ? `; written during the backup, not held to one figure: ${comparison.written.join(', ')}` : ''}` +
          `${unloggedNote ? `; there, their rows not compared (${unloggedNote})` : ''}`
      )
      if (comparison.mismatches.length > 0) {
        throw new VerificationError(
          'restore-mismatch',
          `The copy differs from the source on tables that were quiet during the backup: ${comparison.mismatches.slice(0, 20).join('; ')}`
        )
      }
    }
    // The team's checks run on the source's database, the receipt's, or the one with the most tables.
    const checked = mainDatabase(proof.databases, created?.database ?? prepared.receipt?.database)
    if (checked) await runTeamChecks(v, checked.name, () => server!.connect(checked.name, server!.superuser))
    judgeTeamChecks(v)
    const databases = prepared.facts.databases
    const tables = databases.reduce((sum, entry) => sum + entry.tables, 0)
    const rows = databases.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
    return (
      `started on PostgreSQL ${prepared.binaries.version.text}, consistent after ${(facts.millisecondsToConsistent / 1000).toFixed(1)} s; ` +
      `amcheck: ${proof.amcheck.ran ? 'no corruption' : 'not run'}${notChecked.length ? `; not checked: ${notChecked.join('; ')}` : ''}; ` +
      `${databases.length} database(s), ${tables} tables` +
      `${settings.verifyLevel === 'schema' ? '' : `, ${rows} rows`}${unloggedNote ? `; ${unloggedNote}` : ''}${compared ? `; ${compared}` : ''}`
    )
  } finally {
    await server?.stop()
    if (recorded) run.ledger.removed('server', recorded)
  }
}
