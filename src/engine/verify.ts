// The engine: Create, Validate and Restore for one backup, returning what they found. One function
// per mode: a new backup of the source, or an existing backup verified where it is. The engine never
// touches @actions/core; whoever calls it supplies a Reporter.

import os from 'node:os'
import path from 'node:path'
import { detectBackupFormat } from '../backup/detect.js'
import { describeTarget } from '../connection/target.js'
import { buildReceipt, receiptInventory, writeReceipt } from '../records/receipt.js'
import type { PhaseName, VerificationResult } from '../report/result.js'
import { noLedger, runContext, type RunContext } from '../run/context.js'
import { Redactor } from '../run/secrets.js'
import { Input } from '../run/names.js'
import { runSignal } from '../run/interruption.js'
import { createPhase, type Held } from './create-phase.js'
import { describeFailure, describeInterruption } from './failure.js'
import { PHASE_NAMES, Phases } from './phases.js'
import { readReferences } from './references.js'
import { restorePhase, startRestore } from './restore-phase.js'
import { validateExistingPhase, validatePhase } from './validate-phase.js'
import type { ContentReference, EngineOptions, Verification } from './verification.js'
import { Deferred } from '../run/deferred.js'
import { Workspace } from './workspace.js'
import type { HistoryRecord } from '../records/history.js'
import { concludeAcrossRuns } from './across-runs.js'
import { verifyPhysical } from './physical-phases.js'
import { createPhysical } from './physical-create.js'
import { verifyRepository } from './repository-phases.js'
import { noteNewestData } from './evidence.js'
import { readMadeBy } from '../backup/made-by.js'
import type { Settings } from '../inputs/inputs.js'

export type { EngineOptions } from './verification.js'

export async function verifyBackup(options: EngineOptions): Promise<VerificationResult> {
  let { settings } = options
  const started = new Date()
  const result: VerificationResult = {
    status: 'passed',
    phases: PHASE_NAMES.map((name: PhaseName) => ({ name, status: 'not run', durationMs: 0, detail: '' })),
    startedAt: started.toISOString(),
    durationMs: 0
  }
  const run = runContext({
    reporter: options.reporter,
    redactor: new Redactor(settings.secrets),
    ledger: options.ledger ?? noLedger,
    signal: runSignal(options.signal, settings.timeoutMs),
    verbose: settings.verbose,
    heartbeatMs: options.heartbeatMs
  })
  result.name = labelOf(settings)
  result.method = settings.method
  if (settings.connection.kind === 'unsupported') {
    run.notice(`Backup tests require PostgreSQL, found: ${settings.connection.engine} (from ${settings.connection.origin}); skipping.`)
    result.status = 'skipped'
    result.skippedEngine = settings.connection.engine
    return finish(run, result, settings, started, undefined)
  }
  // An existing backup has no source database: the server named is only where it is restored.
  if (!settings.backupFile && settings.connection.kind === 'postgres') result.target = describeTarget(settings.connection.target)
  const phases = new Phases(run, result)
  let workspace: Workspace | undefined
  // The history as it was before this run; undefined when there is none, or it could not be read (then it is left alone).
  let previous: HistoryRecord[] | undefined
  try {
    const references = await readReferences(settings)
    previous = references.history
    if (references.verifyLevel !== settings.verifyLevel) {
      run.log(
        `Verify level: ${references.verifyLevel}, the level the receipt was made at (without a verify input, ` +
          `the default ${settings.verifyLevel} is lowered to what the receipt can support)`
      )
      settings = { ...settings, verifyLevel: references.verifyLevel }
    }
    workspace = await Workspace.create(run, settings.tempRoot)
    const v: Verification = {
      settings,
      run,
      result,
      phases,
      workspace,
      references,
      options,
      env: options.env ?? process.env,
      started,
      contentReference: new Deferred<ContentReference>()
    }
    if (settings.repository) await verifyRepository(v)
    else if (settings.method === 'physical') await (settings.backupFile ? verifyPhysical(v, settings.backupFile) : verifyPhysicalNew(v))
    else await (settings.backupFile ? verifyExisting(v, settings.backupFile) : verifyNew(v))
  } catch (error) {
    result.status = 'failed'
    result.error = run.signal.aborted
      ? describeInterruption(run.signal.reason, settings.timeoutMs, phases.running)
      : describeFailure(error, phases.running, run.redactor)
  } finally {
    const keep = settings.keepBackup && result.backup !== undefined && !settings.backupFile
    // An existing backup is never in the temporary folder: the folder goes whole.
    await workspace?.cleanUp(run, keep ? result.backup?.path : undefined)
    if (result.backup && !settings.backupFile) result.backup.kept = settings.keepBackup
  }
  return finish(run, result, settings, started, previous)
}

/** A new backup of the source: dumped, validated, restored and compared with the dumped snapshot. */
async function verifyNew(v: Verification): Promise<void> {
  const held: Held = {}
  try {
    const created = await createPhase(v, held)
    // A plain dump's rows were fingerprinted as pg_dump wrote them; an archive's, as Validate reads it whole.
    const known = () => v.contentReference.resolve({ dump: created.backup.content, reference: created.inventory })
    if (created.backup.format === 'plain') known()
    await v.options.hooks?.afterCreate?.(created.backup.path)
    await validatePhase(v, held, created.backup)
    known()
    await v.options.hooks?.beforeRestore?.(created.backup.path)
    const { path, format, compression } = created.backup
    await restorePhase(
      v,
      () => held.streamed?.restoring ?? startRestore(v, held.connected!, { path, format, compression }, { untrusted: false }),
      created.backup,
      'new'
    )
  } catch (error) {
    v.contentReference.reject(error)
    throw error
  } finally {
    // A streamed restore ends (and drops its database) before the sessions close.
    await held.streamed?.settled()
    await held.connected?.close()
  }
}

/** A new base backup of the source's cluster: created, then verified as an existing one is, and held to the source around it. */
async function verifyPhysicalNew(v: Verification): Promise<void> {
  const { folder, source } = await createPhysical(v)
  await verifyPhysical(v, folder, source)
}

/** An existing backup: validated where it is, restored, and compared with its receipt when the receipt describes it. */
async function verifyExisting(v: Verification, file: string): Promise<void> {
  const held: Held = {}
  try {
    const detected = await detectBackupFormat(file)
    v.phases.skip('Create', `skipped: verifying the existing backup ${file}`)
    const madeBy = await readMadeBy(file, detected).catch(() => undefined)
    noteNewestData(
      v,
      madeBy?.startedOn,
      detected.format === 'plain'
        ? 'the dump\'s "-- Started on" line'
        : "the archive header's time (the dumping host's clock, read in the runner's time zone)"
    )
    const backup = await validateExistingPhase(v, held, file, detected)
    // A backup alone, or one nothing vouches for: restored on a throwaway server of the run's own.
    if (restoresOnThrowaway(v.settings, held.trustedBy === undefined)) {
      const options = { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry }
      const { roles = [], extensions = [] } = backup.gate ?? {}
      const trusted = held.trustedBy !== undefined
      await held.connected!.restoreOnThrowaway(v.run, v.settings, v.workspace, options, v.result, { roles, extensions, trusted })
    }
    const reference = held.describedByReceipt && v.references.receipt ? receiptInventory(v.references.receipt) : undefined
    v.contentReference.resolve({ dump: backup.content, reference })
    await v.options.hooks?.beforeRestore?.(file)
    // Nothing vouches for it: its code for the server's host was refused in Validate, and would be again.
    const safety = {
      untrusted: held.trustedBy === undefined,
      archiveThroughPsql: held.trustedBy === undefined && detected.format !== 'plain'
    }
    await restorePhase(v, () => startRestore(v, held.connected!, { path: file, ...detected }, safety), backup, 'existing')
  } catch (error) {
    v.contentReference.reject(error)
    throw error
  } finally {
    await held.connected?.close()
  }
}

/**
 * Whether an existing backup is restored on a throwaway server: always when no server is named;
 * with restore-server: throwaway; with auto, when nothing vouches for it, unless restore-database-url
 * names the server (which wins over restore-server).
 */
function restoresOnThrowaway(settings: Settings, untrusted: boolean): boolean {
  if (settings.connection.kind === 'none') return true
  if (settings.connection.kind !== 'postgres' || settings.restoreServer === 'source') return false
  if (settings.connection.origin === `input ${Input.RestoreDatabaseUrl}`) return false
  return settings.restoreServer === 'throwaway' || untrusted
}

/** The result, timed, judged against the alerts and the history, with its receipt written beside the run's other files. */
async function finish(
  run: RunContext,
  result: VerificationResult,
  settings: Settings,
  started: Date,
  previous: HistoryRecord[] | undefined
): Promise<VerificationResult> {
  result.durationMs = Date.now() - started.getTime()
  // A skipped run (not PostgreSQL) verified nothing: it raises no alert and adds no record.
  if (result.status !== 'skipped') await concludeAcrossRuns(run, settings, result, previous)
  try {
    result.receiptPath = await writeReceipt(settings.receiptFolder ?? settings.tempRoot ?? os.tmpdir(), buildReceipt(result))
  } catch (error) {
    run.warn(`Could not write the receipt: ${run.redactor.redactError(error)}`)
  }
  return result
}

/** What reports call this database: the name input, else the database's own name, the backup file's, the repository's. */
function labelOf(settings: Settings): string | undefined {
  if (settings.name) return settings.name
  const repository = settings.repository
  if (repository) return 'stanza' in repository ? repository.stanza : repository.server
  if (settings.backupFile) return path.basename(settings.backupFile)
  return settings.connection.kind === 'postgres' ? settings.connection.target.database : undefined
}
