// Reads every input once into a typed, validated Settings object, before any connection is made.
// Parsing reads no file: the files inputs name (the backup, its checksum file, a receipt) are read
// by the engine, first of all.

import path from 'node:path'
import { availableParallelism } from 'node:os'
import { parseCompression, parseFormat, type BackupFormat, type Compression } from '../backup/formats.js'
import { DEFAULT_MIN_SIZE, DEFAULT_PHYSICAL_VERIFY_LEVEL, DEFAULT_VERIFY_LEVEL, Input } from '../run/names.js'
import { VERIFY_LEVELS, type VerifyLevel } from '../compare/inventory.js'
import { refuseControlCharacters } from '../compare/checks.js'
import { InputError, VerificationError } from '../run/errors.js'
import { isRepositoryMethod, parseRepository, type GivenPath, type RepositoryMethod, type RepositorySettings } from './repository-inputs.js'
import type { ConnectionChoice } from './connection.js'
import { djangoInputs, readConnectionInputs, type RawInputs } from './connection-inputs.js'

export { rawSecrets, type RawInputs } from './connection-inputs.js'
import { type ConnectionTarget } from '../connection/target.js'
import { parseSize, SIZE_FORMS } from './size.js'
import { DEFAULT_TOOLS_URL, parseVersionRequest, validateToolsUrl, type VersionRequest } from '../tools/source.js'
import type { ToolsSource } from '../tools/provision.js'
import { durationForms, parseDuration } from '../run/duration.js'

/** What an alert does: fail the run, or only warn. */
type AlertMode = 'fail' | 'warn'

export interface AlertThresholds {
  mode: AlertMode
  maxDurationMs?: number
  /** Checked here only when alerts warn: otherwise the Create phase fails on it. */
  minSizeBytes: number
  maxShrinkPercent?: number
  maxGrowthPercent?: number
  maxConsecutiveFailures?: number
  /** The recovery point objective: the copy's newest data may be at most this old. */
  maxAgeMs?: number
  /** The recovery time objective: the restore may take at most this long. */
  maxRestoreMs?: number
}

/** How many records the history keeps when history-limit is not given. */
const DEFAULT_HISTORY_LIMIT = 100

export interface Settings {
  connection: ConnectionChoice
  verbose: boolean
  minSizeBytes: number
  keepBackup: boolean
  /** Every spelling of every secret in the settings, to mask and redact. */
  secrets: string[]
  /** Where temporary folders go (RUNNER_TEMP on a runner). */
  tempRoot?: string
  postgresVersion: VersionRequest
  toolsUrl: string
  toolsSource: ToolsSource
  format: BackupFormat
  /** Undefined: each format's pg_dump default. */
  compression?: Compression
  /** Parallel jobs for pg_dump (directory) and pg_restore (custom, directory). */
  jobs: number
  /** Plain format: restore while pg_dump writes, in one stream. */
  pipeline: boolean
  verifyLevel: VerifyLevel
  /** Every restore error fails, the known harmless ones too. */
  strict: boolean
  /** The whole run stops (and cleans up) after this long; undefined: no limit. */
  timeoutMs?: number
  /** A server apart from the source that receives the temporary database. */
  restoreTarget?: ConnectionTarget
  /**
   * Where the restore runs when no restoreTarget names a server: a throwaway server of the run's own,
   * the source's server, or (auto) the throwaway one when it can have the binaries and extensions.
   */
  restoreServer: RestoreServerChoice
  /** An existing backup to verify: the Create phase is skipped. Checked by the engine before it connects. */
  backupFile?: string
  /** The SHA-256 the backup must have (a mismatch fails Validate), or the sha256sum file that holds it. */
  expectedChecksum?: { sha256: string } | GivenPath
  /** A receipt made when the backup was created: read by the engine before it connects. */
  receipt?: GivenPath
  /** The inputs as given, for messages about files the engine reads. */
  given: { backupFile?: string; verify?: VerifyLevel }
  /** With a receipt or a history: the most the backup's size or total rows may have shrunk since, in percent. */
  maxShrinkPercent?: number
  /** The history file across runs: read before connecting, appended to at the end. */
  history?: GivenPath
  /** How many records the history keeps. */
  historyLimit: number
  /** The monitoring's thresholds, and whether crossing one fails the run or warns. */
  alerts: AlertThresholds
  /**
   * logical: pg_dump and a temporary database; physical: a base backup started on a throwaway
   * server; pgbackrest, barman: a backup in the tool's repository, restored by it, then as physical.
   */
  method: 'logical' | 'physical' | RepositoryMethod
  /** Physical: a folder of archived WAL segments, to reach consistency or roll forward. */
  walArchive?: GivenPath
  /** Physical and the repositories: point-in-time recovery to this target, then verify. */
  recoveryTarget?: { time?: string; lsn?: string }
  /** pgbackrest, barman: the repository and the backup in it. */
  repository?: RepositorySettings
  /** The team's own SQL assertions on the restored copy: the input's text, or a .sql file (read before connecting). */
  checks?: { text: string } | GivenPath
  /** How long each check may run. */
  checksTimeoutMs: number
  /** Where the receipt is written: the terminal's --receipt-dir or working folder; else tempRoot. */
  receiptFolder?: string
  /** The application's own query for the time of the copy's newest data (freshness-query). */
  freshnessQuery?: string
  /** This database's label in receipts, histories and fleet reports (input name); undefined: its own name. */
  name?: string
}

const BOOLEAN_TRUE = ['true', 'True', 'TRUE', 'yes', '1']
const BOOLEAN_FALSE = ['false', 'False', 'FALSE', 'no', '0', '']

function parseBooleanInput(name: string, value: string): boolean {
  const text = value.trim()
  if (BOOLEAN_TRUE.includes(text)) return true
  if (BOOLEAN_FALSE.includes(text)) return false
  throw new InputError(name, value, 'true or false')
}

const TOOLS_SOURCES: ToolsSource[] = ['any', 'tool-cache']

function parseToolsSource(text: string): ToolsSource {
  const value = text.trim() || 'any'
  if ((TOOLS_SOURCES as string[]).includes(value)) return value as ToolsSource
  throw new InputError(Input.ToolsSource, text, `${TOOLS_SOURCES.join(' or ')}`)
}

type RestoreServerChoice = 'auto' | 'throwaway' | 'source'

function parseRestoreServer(text: string): RestoreServerChoice {
  const value = text.trim().toLowerCase() || 'auto'
  if (value === 'auto' || value === 'throwaway' || value === 'source') return value
  throw new InputError(
    Input.RestoreServer,
    text,
    "auto (a throwaway server of the run's own when it can be had, else the source's), throwaway, or source"
  )
}

const MAX_JOBS = 64

/** Parallel jobs: a whole number from 1 to 64; empty means one per CPU. */
function parseJobs(text: string): number {
  const value = text.trim()
  if (value === '') return Math.min(MAX_JOBS, Math.max(1, availableParallelism()))
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_JOBS) {
    throw new InputError(Input.Jobs, text, `a whole number from 1 to ${MAX_JOBS} (empty: one per CPU, here ${availableParallelism()})`)
  }
  return Number(value)
}

/** A database's label (input name; the names a fleet report expects by): at most 100 characters, one line, no control or format character. */
export function isLabel(text: string): boolean {
  return [...text].length <= 100 && !/[\p{Cc}\p{Cf}]/u.test(text)
}

export function loadSettings(raw: RawInputs): Settings {
  const minSizeText = raw.get(Input.MinSize).trim() || DEFAULT_MIN_SIZE
  const minSizeBytes = parseSize(minSizeText)
  if (minSizeBytes === undefined) throw new InputError(Input.MinSize, minSizeText, SIZE_FORMS)
  const verbose = parseBooleanInput(Input.Verbose, raw.get(Input.Verbose))
  const keepBackup = parseBooleanInput(Input.KeepBackup, raw.get(Input.KeepBackup))
  const postgresVersion = parseVersionRequest(Input.PostgresVersion, raw.get(Input.PostgresVersion))
  const toolsUrl = validateToolsUrl(Input.ToolsUrl, raw.get(Input.ToolsUrl).trim() || DEFAULT_TOOLS_URL)
  const toolsSource = parseToolsSource(raw.get(Input.ToolsSource))
  const format = parseFormat(Input.Format, raw.get(Input.Format))
  const physical = parsePhysical(raw, raw.get(Input.BackupFile).trim() !== '')
  // pg_basebackup compresses its tars with any method: checked as for a format that allows them all.
  const compression = parseCompression(Input.Compression, raw.get(Input.Compression), physical.method === 'logical' ? format : 'custom')
  const jobs = parseJobs(raw.get(Input.Jobs))
  const pipeline = parseBooleanInput(Input.Pipeline, raw.get(Input.Pipeline) || 'true')
  const verifyText =
    raw.get(Input.Verify).trim().toLowerCase() || (physical.method === 'logical' ? DEFAULT_VERIFY_LEVEL : DEFAULT_PHYSICAL_VERIFY_LEVEL)
  if (!(VERIFY_LEVELS as string[]).includes(verifyText)) {
    throw new InputError(
      Input.Verify,
      raw.get(Input.Verify),
      'schema (object counts), rows (and exact row counts) or data (and content fingerprints)'
    )
  }
  const verifyLevel = verifyText as VerifyLevel
  const strict = parseBooleanInput(Input.Strict, raw.get(Input.Strict))
  const timeoutText = raw.get(Input.Timeout).trim()
  const timeoutMs = timeoutText === '' ? undefined : parseDuration(timeoutText, 60_000)
  if (timeoutText !== '' && (timeoutMs === undefined || timeoutMs > 86_400_000)) {
    throw new InputError(Input.Timeout, timeoutText, `${durationForms('minutes')}, up to 24h; 0 or empty: no limit`)
  }

  const backupText = raw.get(Input.BackupFile).trim()
  const backupFile = backupText === '' ? undefined : path.resolve(raw.workingDirectory, backupText)
  const expectedChecksum = parseExpectedChecksum(raw)
  const receiptText = raw.get(Input.Receipt).trim()
  const receipt = receiptText === '' ? undefined : { path: path.resolve(raw.workingDirectory, receiptText), given: receiptText }
  const shrinkText = raw.get(Input.MaxShrink).trim().replace(/%$/, '')
  const maxShrinkPercent = shrinkText === '' ? undefined : Number(shrinkText)
  if (maxShrinkPercent !== undefined && (!/^\d+(\.\d+)?$/.test(shrinkText) || maxShrinkPercent > 100)) {
    throw new InputError(Input.MaxShrink, raw.get(Input.MaxShrink), 'a percentage from 0 to 100, e.g. 10 or 10%')
  }
  const historyText = raw.get(Input.History).trim()
  const history = historyText === '' ? undefined : { path: path.resolve(raw.workingDirectory, historyText), given: historyText }
  if (maxShrinkPercent !== undefined && !receipt && !history) {
    throw new InputError(
      Input.MaxShrink,
      raw.get(Input.MaxShrink),
      "a percentage used together with receipt (it compares with the receipt's backup) or history (with the last passing run)"
    )
  }
  const historyLimit = parseWholeNumber(raw, Input.HistoryLimit, DEFAULT_HISTORY_LIMIT, 1, 100_000)
  const alerts = parseAlerts(raw, minSizeBytes, maxShrinkPercent, history !== undefined)
  djangoInputs(raw)
  const { connection, restoreTarget, secrets } = readConnectionInputs(raw)
  const restoreServer = parseRestoreServer(raw.get(Input.RestoreServer))
  const checksText = raw.get(Input.Checks).trim()
  // One line naming a .sql file is a file of checks; anything else is the checks themselves.
  const checks =
    checksText === ''
      ? undefined
      : /^[^\n]+\.sql$/i.test(checksText)
        ? { path: path.resolve(raw.workingDirectory, checksText), given: checksText }
        : { text: checksText }
  const checksTimeoutText = raw.get(Input.ChecksTimeout).trim() || '30s'
  const checksTimeoutMs = parseDuration(checksTimeoutText)
  // statement_timeout holds at most 2^31-1 ms; a check is not meant to run for a day.
  if (checksTimeoutMs === undefined || checksTimeoutMs <= 0 || checksTimeoutMs > 86_400_000)
    throw new InputError(Input.ChecksTimeout, checksTimeoutText, `${durationForms()}, up to 24h`)
  const freshnessQuery = raw.get(Input.FreshnessQuery).trim() || undefined
  if (freshnessQuery) refuseControlCharacters(Input.FreshnessQuery, freshnessQuery, freshnessQuery)
  const name = raw.get(Input.Name).trim() || undefined
  if (name !== undefined && !isLabel(name)) {
    throw new InputError(Input.Name, name, 'a label of at most 100 characters, on one line, without control characters, e.g. orders-eu')
  }
  return {
    checks,
    checksTimeoutMs,
    freshnessQuery,
    name,
    connection,
    verbose,
    minSizeBytes,
    keepBackup,
    secrets,
    tempRoot: raw.environment.RUNNER_TEMP || undefined,
    postgresVersion,
    toolsUrl,
    toolsSource,
    format,
    compression,
    jobs,
    pipeline,
    verifyLevel,
    strict,
    timeoutMs: timeoutMs || undefined,
    restoreTarget,
    restoreServer,
    backupFile,
    expectedChecksum,
    receipt,
    given: { backupFile: backupText || undefined, verify: raw.get(Input.Verify).trim() === '' ? undefined : verifyLevel },
    maxShrinkPercent,
    history,
    historyLimit,
    alerts,
    ...physical
  }
}

/** method, and the physical path's own inputs (refused with method: logical, where they mean nothing). */
function parsePhysical(raw: RawInputs, existing: boolean): Pick<Settings, 'method' | 'walArchive' | 'recoveryTarget' | 'repository'> {
  const methodText = raw.get(Input.Method).trim().toLowerCase() || 'logical'
  if (methodText !== 'logical' && methodText !== 'physical' && !isRepositoryMethod(methodText)) {
    throw new InputError(
      Input.Method,
      raw.get(Input.Method),
      'logical (pg_dump, the default), physical (a pg_basebackup base backup), pgbackrest or barman (a backup in their repository)'
    )
  }
  const repository = parseRepository(raw, methodText)
  const walText = raw.get(Input.WalArchive).trim()
  const time = raw.get(Input.RecoveryTargetTime).trim()
  const lsn = raw.get(Input.RecoveryTargetLsn).trim()
  if (methodText === 'logical') {
    for (const [name, value] of [
      [Input.WalArchive, walText],
      [Input.RecoveryTargetTime, time],
      [Input.RecoveryTargetLsn, lsn]
    ] as const) {
      if (value !== '')
        throw new InputError(name, raw.get(name), 'empty with method: logical (it applies to physical backups: set method: physical)')
    }
    return { method: 'logical' }
  }
  if (!existing && !repository) {
    for (const [name, value] of [
      [Input.WalArchive, walText],
      [Input.RecoveryTargetTime, time],
      [Input.RecoveryTargetLsn, lsn]
    ] as const) {
      if (value !== '') {
        throw new InputError(
          name,
          raw.get(name),
          'empty without backup-file: a new base backup carries its WAL (-X stream) and is recovered to its end'
        )
      }
    }
  }
  if (time !== '' && (Number.isNaN(Date.parse(time)) || !/\d{4}-\d{2}-\d{2}/.test(time))) {
    throw new InputError(Input.RecoveryTargetTime, time, 'a timestamp with its time zone, e.g. 2026-12-01 10:30:00+00')
  }
  if (lsn !== '' && !/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(lsn)) {
    throw new InputError(Input.RecoveryTargetLsn, lsn, 'a WAL location such as 0/3000060')
  }
  if (time !== '' && lsn !== '') {
    throw new InputError(Input.RecoveryTargetLsn, lsn, 'empty when recovery-target-time is given: recovery stops at one target')
  }
  if ((time !== '' || lsn !== '') && walText === '' && !repository) {
    // A target lies past the backup's end, in WAL only an archive holds: without one the copy cannot start.
    throw new VerificationError(
      'bad-input',
      `Input "${time !== '' ? Input.RecoveryTargetTime : Input.RecoveryTargetLsn}" needs input "${Input.WalArchive}": ` +
        'recovery to a target replays the WAL archived after the backup, and wal-archive names the folder that holds it.',
      `Give ${Input.WalArchive} (the folder archive_command copies segments to), or leave the recovery target empty to recover to the backup's end.`
    )
  }
  if (repository)
    return {
      method: repository.tool,
      repository,
      recoveryTarget: time || lsn ? { ...(time ? { time } : {}), ...(lsn ? { lsn } : {}) } : undefined
    }
  return {
    method: 'physical',
    walArchive: walText === '' ? undefined : { path: path.resolve(raw.workingDirectory, walText), given: walText },
    recoveryTarget: time || lsn ? { ...(time ? { time } : {}), ...(lsn ? { lsn } : {}) } : undefined
  }
}

function parseWholeNumber(raw: RawInputs, name: string, empty: number, least: number, most: number): number {
  const text = raw.get(name).trim()
  if (text === '') return empty
  if (!/^\d+$/.test(text) || Number(text) < least || Number(text) > most) {
    throw new InputError(name, raw.get(name), `a whole number from ${least} to ${most.toLocaleString('en-US')}`)
  }
  return Number(text)
}

function parsePercent(raw: RawInputs, name: string): number | undefined {
  const text = raw.get(name).trim().replace(/%$/, '')
  if (text === '') return undefined
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InputError(name, raw.get(name), 'a percentage, e.g. 50 or 50%')
  return Number(text)
}

const ALERT_MODES: AlertMode[] = ['fail', 'warn']

/** The monitoring's thresholds. Those that compare with earlier runs need a history. */
function parseAlerts(raw: RawInputs, minSizeBytes: number, maxShrinkPercent: number | undefined, hasHistory: boolean): AlertThresholds {
  const modeText = raw.get(Input.AlertMode).trim().toLowerCase() || 'fail'
  if (!(ALERT_MODES as string[]).includes(modeText)) {
    throw new InputError(Input.AlertMode, raw.get(Input.AlertMode), 'fail (an alert fails the run) or warn (it only warns)')
  }
  const durationText = raw.get(Input.MaxDuration).trim()
  const maxDurationMs = durationText === '' ? undefined : parseDuration(durationText)
  if (durationText !== '' && (maxDurationMs === undefined || maxDurationMs <= 0)) {
    throw new InputError(Input.MaxDuration, durationText, durationForms())
  }
  const maxGrowthPercent = parsePercent(raw, Input.MaxGrowth)
  const failuresText = raw.get(Input.MaxConsecutiveFailures).trim()
  const maxConsecutiveFailures = failuresText === '' ? undefined : parseWholeNumber(raw, Input.MaxConsecutiveFailures, 0, 1, 10_000)
  for (const [name, value] of [
    [Input.MaxGrowth, maxGrowthPercent],
    [Input.MaxConsecutiveFailures, maxConsecutiveFailures]
  ] as const) {
    if (value !== undefined && !hasHistory) {
      throw new InputError(name, raw.get(name), `a threshold used together with history (it compares with earlier runs)`)
    }
  }
  const objective = (name: string): number | undefined => {
    const text = raw.get(name).trim()
    if (text === '') return undefined
    const ms = parseDuration(text)
    if (ms === undefined || ms <= 0) throw new InputError(name, text, durationForms())
    return ms
  }
  return {
    mode: modeText as AlertMode,
    maxDurationMs,
    minSizeBytes,
    maxShrinkPercent,
    maxGrowthPercent,
    maxConsecutiveFailures,
    maxAgeMs: objective(Input.MaxAge),
    maxRestoreMs: objective(Input.MaxRestoreTime)
  }
}

/** expected-checksum: a SHA-256 in hex, or the path of a sha256sum-style file (read by the engine). */
function parseExpectedChecksum(raw: RawInputs): Settings['expectedChecksum'] {
  const text = raw.get(Input.ExpectedChecksum).trim()
  if (text === '') return undefined
  if (/^[0-9a-f]{64}$/i.test(text)) return { sha256: text.toLowerCase() }
  return { path: path.resolve(raw.workingDirectory, text), given: text }
}
