// The engine: Create, Validate and Restore against one database, returning what it found.
// It never touches @actions/core; whoever calls it supplies a Reporter.

import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type pg from 'pg'
import { backupExtension, describeCompression, restoreJobs } from '../backup/formats.js'
import { ChunkRelay } from '../backup/followed-file.js'
import type { Settings } from '../inputs/inputs.js'
import { describeTarget } from '../inputs/connection.js'
import { describeLostConnection, describeReadError, VerificationError } from '../run/errors.js'
import { clientEnvironment, writePasswordFile } from '../connection/environment.js'
import { openSession, readServerVersion } from '../connection/session.js'
import { missingExtensions, SourceSnapshot, type Inventory } from '../compare/inventory.js'
import { describeHarmless } from '../restore/errors.js'
import { backupFileName, checkRoomForBackup, createBackup, describeBackupOnDisk } from '../create/dump.js'
import { detectBackupFormat } from '../backup/detect.js'
import { changedAfterValidation, restoreBackup, temporaryDatabaseName, type Restored, type RestoreOptions } from '../restore/restore.js'
import { requireSameInventory } from '../compare/compare.js'
import type { CreatedBackup } from '../create/dump.js'
import { requirePassed, validateBackup, type ValidateOptions } from '../validate/validate.js'
import type { ValidationCheck } from '../backup/plain-scanner.js'
import { noLedger, type Reporter, type ResourceLedger } from '../run/context.js'
import type { PhaseName, PhaseResult, VerificationResult } from '../report/result.js'
import { Redactor } from '../run/secrets.js'
import { buildReceipt, receiptInventory, shrinkageProblems, writeReceipt } from '../report/receipt.js'
import { defaultCacheRoot, FolderToolCache, type ToolCache } from '../tools/cache.js'
import { DEFAULT_RETRY, type RetryPolicy } from '../tools/download.js'
import { provideClientTools } from '../tools/provision.js'

export interface EngineOptions {
  settings: Settings
  reporter: Reporter
  ledger?: ResourceLedger
  /** The environment the client tools are looked up in and inherit; process.env by default. */
  env?: NodeJS.ProcessEnv
  /** Where downloaded client tools are kept; a folder in the user's cache directory by default. */
  toolCache?: ToolCache
  retry?: RetryPolicy
  /** How often long phases say they are alive; 30 s by default. */
  heartbeatMs?: number
  /** How long nothing may move before a restore whose sessions wait on one another is stopped; 2 minutes by default. */
  stallMs?: number
  /** Aborted when the run is interrupted (SIGINT, SIGTERM): the tools stop, everything is cleaned up. */
  signal?: AbortSignal
  /** Test seams: run between phases, to change the world the way a real fault would. */
  hooks?: {
    afterCreate?: (backupPath: string) => Promise<void>
    beforeRestore?: (backupFile: string) => Promise<void>
    afterRestore?: (databaseName: string) => Promise<void>
  }
}

const PHASE_TITLES: Record<PhaseName, string> = {
  Create: 'Create: pg_dump writes the backup',
  Validate: 'Validate: signature, checksum, readability, completeness',
  Restore: 'Restore: into a temporary database, then compare'
}

export async function verifyBackup(options: EngineOptions): Promise<VerificationResult> {
  const { settings, reporter } = options
  const ledger = options.ledger ?? noLedger
  const env = options.env ?? process.env
  const redactor = new Redactor(settings.secrets)
  const started = new Date()
  const result: VerificationResult = {
    status: 'passed',
    phases: (['Create', 'Validate', 'Restore'] as PhaseName[]).map((name) => ({ name, status: 'not run', durationMs: 0, detail: '' })),
    startedAt: started.toISOString(),
    durationMs: 0
  }
  const finish = async () => {
    result.durationMs = Date.now() - started.getTime()
    try {
      result.receiptPath = await writeReceipt(settings.tempRoot ?? os.tmpdir(), buildReceipt(result))
    } catch (error) {
      reporter.warning(`Could not write the receipt: ${redactor.redactError(error)}`)
    }
    return result
  }

  if (settings.connection.kind === 'unsupported') {
    reporter.info(`Backup tests require PostgreSQL, found: ${settings.connection.engine} (from ${settings.connection.origin}); skipping.`)
    result.status = 'skipped'
    result.skippedEngine = settings.connection.engine
    return finish()
  }
  const { target, origin } = settings.connection
  // An existing backup has no source database: the server named is only where it is restored.
  if (!settings.backupFile) result.target = describeTarget(target)
  const log = (line: string) => reporter.info(line)

  // Interrupted by a signal, or out of time: the tools stop and everything is cleaned up either way.
  const limits = [options.signal, settings.timeoutMinutes ? AbortSignal.timeout(settings.timeoutMinutes * 60_000) : undefined].filter(
    (signal): signal is AbortSignal => signal !== undefined
  )
  const interrupt = limits.length > 0 ? AbortSignal.any(limits) : new AbortController().signal
  let running: PhaseName | undefined
  const phase = async <T>(name: PhaseName, run: (done: (detail: string) => void) => Promise<T>): Promise<T> => {
    interrupt.throwIfAborted()
    running = name
    const entry = result.phases.find((p) => p.name === name) as PhaseResult
    const phaseStart = Date.now()
    return reporter.group(PHASE_TITLES[name], async () => {
      try {
        const value = await run((detail) => (entry.detail = detail))
        entry.status = 'passed'
        return value
      } catch (error) {
        entry.status = 'failed'
        entry.detail = interrupt.aborted ? redactor.redactError(error) : described(error, name, redactor).message
        throw error
      } finally {
        entry.durationMs = Date.now() - phaseStart
      }
    })
  }

  const folder = await mkdtemp(path.join(settings.tempRoot ?? os.tmpdir(), 'backup-verify-'))
  ledger.created('folder', folder)
  const backupFile = path.join(folder, backupFileName(target.database, started, backupExtension(settings.format, settings.compression)))
  let session: pg.Client | undefined
  let passwordFile: string | undefined
  // The server that receives the temporary database: the source's, or one apart (restore-database-url).
  const restoreTarget = settings.restoreTarget ?? target
  let restoreSession: pg.Client | undefined
  let restorePasswordFile: string | undefined
  let validateWith: ValidateOptions | undefined
  // A streamed restore runs beside the phases; whatever happens, it ends (and drops its database) before the session closes.
  let streamedRestore: Promise<Restored> | undefined
  // A streamed restore reads the file while pg_dump writes it; once it has read it all, Validate reads it again.
  let backupRead: () => void = () => {}
  const readByRestore = new Promise<void>((resolve) => (backupRead = resolve))
  let snapshot: SourceSnapshot | undefined
  // The sequence values the dump sets are known once the backup has been read whole (after Validate).
  let sequencesRead: (sequences: Array<{ sequence: string; value: string }>) => void = () => {}
  const sequencesKnown = new Promise<Array<{ sequence: string; value: string }>>((resolve) => (sequencesRead = resolve))
  try {
    const streamed = settings.pipeline && settings.format === 'plain' && !settings.backupFile
    // The restore's settings; in streamed mode it starts while pg_dump is still writing.
    // What the restore compares with (the dumped snapshot's inventory; none for an existing backup) and reads.
    let sourceInventory: Promise<Inventory | undefined> = Promise.resolve(undefined)
    let backupToRestore: RestoreOptions['backup'] = { path: backupFile, format: settings.format, compression: settings.compression }
    let clientEnv: NodeJS.ProcessEnv = env
    let restoreWith: (databaseName: string, extra?: Partial<RestoreOptions>) => Promise<Restored> = () => {
      throw new Error('the restore cannot start before the client tools are known')
    }
    const startRestore = (extra?: Partial<RestoreOptions>) => {
      const databaseName = temporaryDatabaseName(new Date())
      result.restoreDatabase = { name: databaseName, dropped: false }
      return restoreWith(databaseName, extra)
    }

    // Connects, reads the versions, chooses the client tools and sets up the restore; the first
    // phase that needs the server runs it (Create, or Validate for an existing backup).
    const prepare = async () => {
      log(`Connecting to ${result.target} (from ${origin})`)
      session = await openSession(target)
      const server = await readServerVersion(session)
      result.serverVersion = server.text
      log(`Server: PostgreSQL ${server.text}`)
      let restoreServer = server
      if (settings.restoreTarget) {
        log(`Restoring into ${describeTarget(restoreTarget)}, a server apart from the source`)
        restoreSession = await openSession(restoreTarget)
        restoreServer = await readServerVersion(restoreSession)
        result.restoreTarget = describeTarget(restoreTarget)
      } else {
        restoreSession = session
        if (settings.backupFile) result.restoreTarget = describeTarget(target)
      }
      // Every extension the source uses must be available where the restore happens (an existing
      // backup's restore reports its own).
      const missing = settings.backupFile ? [] : await missingExtensions(session, restoreSession)
      if (missing.length > 0) {
        throw new VerificationError(
          'extensions-missing',
          `The restore server lacks extension(s) the source uses: ${missing.join(', ')}.`,
          'Install them on the server that receives the restore (its packages, or a postgres image that has them).'
        )
      }
      // Dumping needs a client at least as new as the source; an existing backup only needs restoring.
      const provided = await provideClientTools(settings.backupFile ? restoreServer : server, {
        request: settings.postgresVersion,
        source: settings.toolsSource,
        toolsUrl: settings.toolsUrl,
        cache: options.toolCache ?? new FolderToolCache(defaultCacheRoot(env)),
        workFolder: path.join(folder, 'tools'),
        retry: options.retry ?? DEFAULT_RETRY,
        env,
        platform: process.platform,
        arch: process.arch,
        log
      })
      const { tools } = provided
      result.client = { version: tools.version.text, directory: tools.directory, origin: provided.origin, reason: provided.reason }
      log(`Client tools: ${tools.version.text} in ${tools.directory} (${provided.origin === 'found' ? `found: ${tools.origin}` : provided.origin}; ${provided.reason})`)
      passwordFile = await writePasswordFile(folder, target.password)
      restorePasswordFile = settings.restoreTarget ? await writePasswordFile(folder, restoreTarget.password, '.pgpass-restore') : passwordFile
      clientEnv = clientEnvironment(target, target.database, passwordFile, env)
      validateWith = { tools, env: clientEnv, redactor, log, heartbeatMs: options.heartbeatMs, rehashAfter: streamed ? readByRestore : undefined, signal: interrupt }
      restoreWith = (databaseName, extra) =>
        restoreBackup({
          target: restoreTarget,
          session: restoreSession as pg.Client,
          serverMajor: restoreServer.major,
          sourceInventory,
          dumpedSequences: sequencesKnown,
          tools,
          passwordFile: restorePasswordFile,
          backup: backupToRestore,
          jobs: settings.jobs,
          databaseName,
          verbose: settings.verbose,
          log,
          warn: (line) => reporter.warning(line),
          onDropped: () => (result.restoreDatabase = { name: databaseName, dropped: true }),
          afterRestore: options.hooks?.afterRestore,
          redactor,
          ledger,
          heartbeatMs: options.heartbeatMs,
          stallMs: options.stallMs,
          signal: interrupt,
          strict: settings.strict,
          reference: settings.backupFile ? 'receipt' : 'snapshot',
          level: settings.verifyLevel,
          ...extra
        })

      return { server, tools }
    }

    const existing = settings.backupFile
    const detected = existing ? await detectBackupFormat(existing) : undefined
    if (existing && detected) {
      const entry = result.phases.find((p) => p.name === 'Create') as PhaseResult
      entry.detail = `skipped: verifying the existing backup ${existing}`
      backupToRestore = { path: existing, ...detected }
    }
    const { created, restoring, stopRestore } = existing
      ? { created: undefined, restoring: undefined, stopRestore: new AbortController() }
      : await phase('Create', async (done) => {
      const { server, tools } = await prepare()
      await checkRoomForBackup(session as pg.Client, folder, settings.format, settings.compression, log)
      const compression = describeCompression(settings.compression, settings.format)
      const jobs = settings.format === 'directory' ? settings.jobs : 1
      log(`Backup: ${backupFile} (${settings.format} format, compression ${compression}${jobs > 1 ? `, ${jobs} parallel jobs` : ''})`)

      // The inventory is read in the snapshot pg_dump dumps, so writes during the dump change neither;
      // the snapshot is opened only now, to hold the source's horizon back no longer than needed.
      snapshot = await SourceSnapshot.open(await openSession(target))
      const inventory = snapshot.inventory(settings.verifyLevel)
      inventory.catch(() => {})
      sourceInventory = inventory
      // Streamed: the restore follows the file while pg_dump writes it, each at its own pace.
      let written: { resolve: (size: number) => void; reject: (error: unknown) => void } = { resolve: () => {}, reject: () => {} }
      const writtenSize = new Promise<number>((resolve, reject) => (written = { resolve, reject }))
      writtenSize.catch(() => {})
      const stopRestore = new AbortController()
      // Planned over several sessions, the restore takes the Create phase's chunks: one read of the file.
      const relay = streamed && restoreJobs(settings.format, settings.compression, settings.jobs) > 1 ? new ChunkRelay() : undefined
      const restoring = streamed
        ? startRestore({ written: writtenSize, relay, signal: AbortSignal.any([stopRestore.signal, interrupt]), onBackupRead: backupRead })
        : undefined
      // A restore that ends early (no permission to create its database) has read all it will.
      const ended = () => {
        relay?.abandon()
        backupRead()
      }
      restoring?.then(ended, ended)
      streamedRestore = restoring
      if (restoring) log(`Streaming: psql restores into ${result.restoreDatabase?.name} while pg_dump writes`)
      let created: CreatedBackup
      try {
        created = await createBackup({
          tools,
          env: clientEnv,
          backupPath: backupFile,
          format: settings.format,
          compression: settings.compression,
          jobs: settings.jobs,
          minSizeBytes: settings.minSizeBytes,
          verbose: settings.verbose,
          log,
          redactor,
          heartbeatMs: options.heartbeatMs,
          snapshot: snapshot?.id,
          signal: interrupt,
          relay
        })
        written.resolve(created.sizeBytes)
        await inventory
        // Only as long as needed: pg_dump has finished with the snapshot, and its locks would block writers.
        await snapshot?.close()
        snapshot = undefined
      } catch (error) {
        written.reject(error)
        relay?.fail(error)
        stopRestore.abort()
        await restoring?.catch(() => {})
        // A count that failed ends the snapshot's transaction, and pg_dump then fails to import the
        // snapshot: the count's error is the cause to report.
        const countFailure = await inventory.then(() => undefined, (failure: unknown) => failure)
        const described = countFailure === undefined ? undefined : describeReadError(countFailure)
        throw described instanceof VerificationError ? described : error
      }
      result.backup = {
        path: backupFile,
        sizeBytes: created.sizeBytes,
        sha256: created.sha256,
        format: settings.format,
        compression,
        jobs: restoreJobs(settings.format, settings.compression, settings.jobs),
        files: created.manifest?.entries.length,
        streamed,
        kept: false
      }
      done(`pg_dump ${tools.version.text}, ${settings.format} format, ${created.sizeBytes} bytes${streamed ? ', streamed into psql' : ''}`)
      return { created, restoring, stopRestore }
    })

    await options.hooks?.afterCreate?.(backupFile)
    let validated: CreatedBackup | undefined = created
    try {
      await phase('Validate', async (done) => {
        if (existing && detected) {
          await prepare()
          log(`Existing backup: ${existing} (${detected.format} format${detected.compression ? ', gzip' : ''}, recognised from its content)`)
          validated = await describeBackupOnDisk(existing, detected.format, detected.compression, interrupt)
          result.backup = {
            path: existing,
            sizeBytes: validated.sizeBytes,
            sha256: validated.sha256,
            format: detected.format,
            compression: detected.compression ? 'gzip' : 'as written',
            jobs: restoreJobs(detected.format, detected.compression, settings.jobs),
            files: validated.manifest?.entries.length,
            streamed: false,
            kept: false,
            existing: true
          }
        }
        const backup = validated as CreatedBackup
        const checks = await validateBackup(backup, validateWith as ValidateOptions)
        if (settings.expectedChecksum) {
          const matches = backup.sha256 === settings.expectedChecksum
          checks.unshift({
            name: 'Expected checksum',
            passed: matches,
            detail: matches ? `SHA-256 ${backup.sha256}, as expected` : `SHA-256 ${backup.sha256}, but ${settings.expectedChecksum} was expected: this is not that backup, or it changed`
          })
        }
        const receipt = existing ? receiptCheck(settings, backup.sha256) : undefined
        if (receipt) checks.push(receipt.check)
        result.checks = checks
        for (const check of checks) log(`${check.passed ? '✓' : '✗'} ${check.name}: ${check.detail}`)
        requirePassed(checks.filter((check) => check !== receipt?.check), backup.format)
        if (receipt?.error) throw receipt.error
        // A receipt made when this backup was created holds the inventory to compare the restore with.
        if (receipt?.describesThisBackup && settings.receipt) sourceInventory = Promise.resolve(receiptInventory(settings.receipt))
        sequencesRead(backup.sequences ?? [])
        done(`${checks.length} checks passed; SHA-256 ${backup.sha256.slice(0, 12)}…`)
      })
    } catch (error) {
      sequencesRead([])
      // A backup that is not valid is not worth restoring: stop the streamed restore.
      stopRestore.abort()
      await restoring?.catch(() => {})
      throw error
    }

    await options.hooks?.beforeRestore?.(backupFile)
    await phase('Restore', async (done) => {
      const restored = await (restoring ?? startRestore())
      const expected = (validated as CreatedBackup).sha256
      // A streamed restore that planned from the Create phase's own read has no second checksum: the
      // file was read again once the restore had read it (Validate), and every range it re-read was checked.
      if (restored.restoredChecksum !== undefined && restored.restoredChecksum !== expected) throw changedAfterValidation(restored.restoredChecksum, expected)
      result.tables = restored.comparison
      result.inventory = (await sourceInventory) ?? restored.restoredInventory
      if (restored.ignoredErrors.total > 0) {
        result.ignoredRestoreErrors = { total: restored.ignoredErrors.total, detail: describeHarmless(restored.ignoredErrors) }
      }
      if (settings.receipt && settings.maxShrinkPercent !== undefined) {
        const rows = restored.restoredInventory.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
        const shrunk = shrinkageProblems(settings.receipt, (validated as CreatedBackup).sizeBytes, rows, settings.maxShrinkPercent)
        if (shrunk.length > 0) {
          throw new VerificationError('restore-mismatch', `More than max-shrink (${settings.maxShrinkPercent}%) since the receipt: ${shrunk.join('; ')}`)
        }
      }
      requireSameInventory(restored.comparison)
      const { comparison } = restored
      done(`restored into ${result.restoreDatabase?.name}${streamed ? ' while pg_dump wrote' : ''}; ${comparison.restored.length} of ${comparison.source.length} tables`)
    })
  } catch (error) {
    result.status = 'failed'
    result.error = interrupt.aborted
      ? {
          problem: 'interrupted',
          message:
            typeof interrupt.reason === 'string'
              ? `Interrupted by ${interrupt.reason}: the verification was stopped before it finished.`
              : `Timed out: the verification did not finish within timeout (${describeMinutes(settings.timeoutMinutes ?? 0)}) and was stopped${running ? ` during ${running}` : ''}.`,
          hint:
            typeof interrupt.reason === 'string'
              ? undefined
              : `If the log shows ${running ?? 'the run'} still making progress (its "still running" lines), raise timeout, or verify a smaller database or a faster format. ` +
                'A restore whose sessions wait on each other is reported as a stall, not as a time-out.'
        }
      : described(error, running, redactor)
  } finally {
    sequencesRead([])
    await snapshot?.close()
    await streamedRestore?.catch(() => {})
    if (restoreSession !== session) await restoreSession?.end().catch(() => {})
    await (session as pg.Client | undefined)?.end().catch(() => {})
    const passwordFiles = [passwordFile, restorePasswordFile].filter((file): file is string => file !== undefined)
    // An existing backup is never in the temporary folder: the folder goes whole.
    await cleanUpFolder(folder, backupFile, settings.keepBackup && result.backup !== undefined && !settings.backupFile, passwordFiles, ledger, reporter, redactor)
    if (result.backup && !settings.backupFile) result.backup.kept = settings.keepBackup
  }
  return finish()
}

/** Any failure as the result shows it: a VerificationError as it is, a server that went away by name, anything else as unexpected. */
function described(error: unknown, phase: PhaseName | undefined, redactor: Redactor): NonNullable<VerificationResult['error']> {
  const known = error instanceof VerificationError ? error : describeLostConnection(error, phase)
  if (known) return { problem: known.problem, message: redactor.redact(known.message), hint: known.hint && redactor.redact(known.hint) }
  return { problem: 'unexpected', message: redactor.redactError(error) }
}

/**
 * A receipt is tied to the backup it describes: only that backup is compared with it exactly. Another
 * backup is compared with it by max-shrink's thresholds only, and only when the user asks so.
 */
function receiptCheck(settings: Settings, sha256: string): { check: ValidationCheck; describesThisBackup: boolean; error?: VerificationError } | undefined {
  const receipt = settings.receipt
  if (!receipt) return undefined
  const described = receipt.backup?.sha256
  if (described === sha256) {
    return {
      describesThisBackup: true,
      check: { name: 'Receipt', passed: true, detail: `describes this backup (SHA-256 ${sha256.slice(0, 12)}…, verified ${receipt.startedAt} at verify level ${receipt.inventory?.level})` }
    }
  }
  const other = `the receipt describes another backup (SHA-256 ${described ? `${described.slice(0, 12)}…` : 'unknown'}, verified ${receipt.startedAt}), not this one (SHA-256 ${sha256.slice(0, 12)}…)`
  if (settings.maxShrinkPercent !== undefined) {
    return { describesThisBackup: false, check: { name: 'Receipt', passed: true, detail: `${other}: compared by max-shrink (${settings.maxShrinkPercent}%) only` } }
  }
  return {
    describesThisBackup: false,
    check: { name: 'Receipt', passed: false, detail: other },
    error: new VerificationError(
      'receipt-mismatch',
      `The receipt does not describe this backup: ${other}. A receipt is compared exactly only with the backup it was written for.`,
      'Give the receipt written when this backup was made (its run wrote it; see report-path), or add max-shrink to compare another backup with this receipt by thresholds only.'
    )
  }
}

/** "1 minute", "30 minutes", "30 seconds" for 0.5. */
export function describeMinutes(minutes: number): string {
  if (minutes < 1) {
    const seconds = Math.round(minutes * 60)
    return `${seconds} second${seconds === 1 ? '' : 's'}`
  }
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

/** Removes the folder, or with keep-backup only everything in it but the backup (the password file first of all). */
async function cleanUpFolder(
  folder: string,
  backupFile: string,
  keep: boolean,
  passwordFiles: string[],
  ledger: ResourceLedger,
  reporter: Reporter,
  redactor: Redactor
): Promise<void> {
  try {
    if (keep) {
      for (const file of passwordFiles) await rm(file, { force: true })
      reporter.info(`Kept the backup at ${backupFile}`)
    } else {
      await rm(folder, { recursive: true, force: true })
    }
    ledger.removed('folder', folder)
  } catch (error) {
    reporter.warning(`Could not remove temporary files in ${folder}: ${redactor.redactError(error)}`)
  }
}
