// Reads every input once into a typed, validated Settings object, before any connection is made.

import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs'
import path from 'node:path'
import { parseEnv } from 'node:util'
import { availableParallelism } from 'node:os'
import { parseCompression, parseFormat, type BackupFormat, type Compression } from '../backup/formats.js'
import { readReceipt, type Receipt } from '../report/receipt.js'
import { DEFAULT_MIN_SIZE, DEFAULT_VERIFY_LEVEL, Input } from '../run/names.js'
import { levelCovers, VERIFY_LEVELS, type VerifyLevel } from '../compare/inventory.js'
import { InputError } from '../run/errors.js'
import { secretForms } from '../run/secrets.js'
import { chooseConnection, fromUrl, redactUrl, type ConnectionChoice, type ConnectionTarget, type Variables } from './connection.js'
import { parseSize, SIZE_FORMS } from './size.js'
import { DEFAULT_TOOLS_URL, parseChecksumFile, parseVersionRequest, validateToolsUrl, type VersionRequest } from '../tools/source.js'
import type { ToolsSource } from '../tools/provision.js'

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
  timeoutMinutes?: number
  /** A server apart from the source that receives the temporary database. */
  restoreTarget?: ConnectionTarget
  /** An existing backup to verify: the Create phase is skipped. */
  backupFile?: string
  /** The SHA-256 the backup must have; a mismatch fails Validate before anything is restored. */
  expectedChecksum?: string
  /** A receipt made when the backup was created: its inventory is what the restore must match. */
  receipt?: Receipt
  /** With a receipt: the most the backup's size or total rows may have shrunk since, in percent. */
  maxShrinkPercent?: number
}

/** How the caller hands over raw values: the action reads INPUT_*, the CLI its flags. */
export interface RawInputs {
  get(name: string): string
  environment: Variables
  workingDirectory: string
}

const BOOLEAN_TRUE = ['true', 'True', 'TRUE', 'yes', '1']
const BOOLEAN_FALSE = ['false', 'False', 'FALSE', 'no', '0', '']

export function parseBooleanInput(name: string, value: string): boolean {
  const text = value.trim()
  if (BOOLEAN_TRUE.includes(text)) return true
  if (BOOLEAN_FALSE.includes(text)) return false
  throw new InputError(name, value, 'true or false')
}

const TOOLS_SOURCES: ToolsSource[] = ['any', 'tool-cache']

export function parseToolsSource(text: string): ToolsSource {
  const value = text.trim() || 'any'
  if ((TOOLS_SOURCES as string[]).includes(value)) return value as ToolsSource
  throw new InputError(Input.ToolsSource, text, `${TOOLS_SOURCES.join(' or ')}`)
}

export const MAX_JOBS = 64

/** Parallel jobs: a whole number from 1 to 64; empty means one per CPU. */
export function parseJobs(text: string): number {
  const value = text.trim()
  if (value === '') return Math.min(MAX_JOBS, Math.max(1, availableParallelism()))
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_JOBS) {
    throw new InputError(Input.Jobs, text, `a whole number from 1 to ${MAX_JOBS} (empty: one per CPU, here ${availableParallelism()})`)
  }
  return Number(value)
}

/** Reads a .env file in the working directory, if there is one. */
export function readDotenv(workingDirectory: string): Variables | undefined {
  const file = path.join(workingDirectory, '.env')
  if (!existsSync(file)) return undefined
  return parseEnv(readFileSync(file, 'utf8')) as Variables
}

/**
 * Secrets as the user wrote them, known before anything is parsed, so that they can be masked
 * even when parsing fails.
 */
export function rawSecrets(raw: RawInputs): string[] {
  const dotenv = safely(() => readDotenv(raw.workingDirectory))
  const values = [raw.get(Input.DatabaseUrl), raw.get(Input.RestoreDatabaseUrl), raw.environment.DATABASE_URL, dotenv?.DATABASE_URL]
  const passwords = [raw.environment.DB_PASSWORD, raw.environment.PGPASSWORD, dotenv?.DB_PASSWORD]
  return [
    ...values.flatMap((url) => (url?.trim() ? secretForms(undefined, url.trim()) : [])),
    ...passwords.flatMap((password) => secretForms(password))
  ]
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
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
  const compression = parseCompression(Input.Compression, raw.get(Input.Compression), format)
  const jobs = parseJobs(raw.get(Input.Jobs))
  const pipeline = parseBooleanInput(Input.Pipeline, raw.get(Input.Pipeline) || 'true')
  const verifyText = raw.get(Input.Verify).trim().toLowerCase() || DEFAULT_VERIFY_LEVEL
  if (!(VERIFY_LEVELS as string[]).includes(verifyText)) {
    throw new InputError(Input.Verify, raw.get(Input.Verify), 'schema (object counts), rows (and exact row counts) or data (and content fingerprints)')
  }
  const verifyLevel = verifyText as VerifyLevel
  const strict = parseBooleanInput(Input.Strict, raw.get(Input.Strict))
  const timeoutText = raw.get(Input.Timeout).trim()
  const timeoutMinutes = timeoutText === '' || timeoutText === '0' ? undefined : Number(timeoutText)
  if (timeoutMinutes !== undefined && (!/^\d+(\.\d+)?$/.test(timeoutText) || timeoutMinutes > 24 * 60)) {
    throw new InputError(Input.Timeout, timeoutText, 'a number of minutes up to 1440 (0 or empty: no limit), e.g. 30 or 0.5')
  }

  const connectTimeout = raw.get(Input.ConnectTimeout).trim()
  if (connectTimeout !== '' && (!/^\d+$/.test(connectTimeout) || Number(connectTimeout) < 1 || Number(connectTimeout) > 600)) {
    throw new InputError(Input.ConnectTimeout, connectTimeout, 'a whole number of seconds from 1 to 600')
  }
  const restoreUrl = raw.get(Input.RestoreDatabaseUrl).trim()
  let restoreTarget: ConnectionTarget | undefined
  if (restoreUrl !== '') {
    const restore = fromUrl(restoreUrl, `input ${Input.RestoreDatabaseUrl}`, Input.RestoreDatabaseUrl)
    if (restore.kind !== 'postgres') throw new InputError(Input.RestoreDatabaseUrl, redactUrl(restoreUrl), 'a PostgreSQL URL: the restore needs a PostgreSQL server')
    restoreTarget = restore.target
    if (connectTimeout !== '') restoreTarget.connectTimeoutSeconds = Number(connectTimeout)
  }
  const backupFile = readBackupFile(raw)
  const expectedChecksum = readExpectedChecksum(raw, backupFile)
  const receiptText = raw.get(Input.Receipt).trim()
  const receipt = receiptText === '' ? undefined : readReceipt(Input.Receipt, path.resolve(raw.workingDirectory, receiptText))
  const shrinkText = raw.get(Input.MaxShrink).trim().replace(/%$/, '')
  const maxShrinkPercent = shrinkText === '' ? undefined : Number(shrinkText)
  if (maxShrinkPercent !== undefined && (!/^\d+(\.\d+)?$/.test(shrinkText) || maxShrinkPercent > 100)) {
    throw new InputError(Input.MaxShrink, raw.get(Input.MaxShrink), 'a percentage from 0 to 100, e.g. 10 or 10%')
  }
  if (maxShrinkPercent !== undefined && !receipt) {
    throw new InputError(Input.MaxShrink, raw.get(Input.MaxShrink), 'a percentage used together with receipt (it compares with the receipt\'s backup)')
  }
  const receiptLevel = receipt?.inventory?.level
  if (receipt && receiptLevel && !levelCovers(receiptLevel, verifyLevel)) {
    throw new InputError(
      Input.Verify,
      verifyText,
      `a level the receipt can support: it was made at verify: ${receiptLevel}, so it holds ${receiptLevel === 'schema' ? 'no row counts' : 'no content fingerprints'}. ` +
        `Use verify: ${receiptLevel}, or make the receipt with verify: ${verifyLevel}`
    )
  }
  if (receipt && !backupFile && maxShrinkPercent === undefined) {
    throw new InputError(
      Input.Receipt,
      receiptText,
      'a receipt used with backup-file (an existing backup is compared with the receipt written when it was made), or with max-shrink (a new backup is compared with an older one by thresholds only)'
    )
  }

  const dotenv = readDotenv(raw.workingDirectory)
  let choice = chooseConnection(raw.get(Input.DatabaseUrl), raw.environment, dotenv)
  if (!choice && backupFile && restoreTarget) {
    // An existing backup needs no source: the restore server is the only one.
    choice = { kind: 'postgres', target: restoreTarget, origin: `input ${Input.RestoreDatabaseUrl}`, rawUrl: restoreUrl }
    restoreTarget = undefined
  }
  if (!choice) {
    if (backupFile) {
      throw new InputError(Input.RestoreDatabaseUrl, '', 'a PostgreSQL URL of the server to restore into: with backup-file and no database-url the restore needs one')
    }
    throw new InputError(
      Input.DatabaseUrl,
      '',
      'a PostgreSQL URL; none was given, and neither DATABASE_URL nor DB_NAME is set in the environment or in a .env file'
    )
  }
  if (choice.kind === 'postgres') {
    if (connectTimeout !== '') choice.target.connectTimeoutSeconds = Number(connectTimeout)
    if (choice.target.password === undefined && raw.environment.PGPASSWORD) choice.target.password = raw.environment.PGPASSWORD
  }
  const secrets = [
    ...(choice.kind === 'postgres' ? secretForms(choice.target.password, choice.rawUrl) : []),
    ...(restoreTarget ? secretForms(restoreTarget.password, restoreUrl) : [])
  ]
  return {
    connection: choice,
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
    timeoutMinutes,
    restoreTarget,
    backupFile,
    expectedChecksum,
    receipt,
    maxShrinkPercent
  }
}

/** backup-file: an existing backup (a file, or a directory-format folder) to verify instead of dumping. */
function readBackupFile(raw: RawInputs): string | undefined {
  const text = raw.get(Input.BackupFile).trim()
  if (text === '') return undefined
  const file = path.resolve(raw.workingDirectory, text)
  const problem = backupPathProblem(file)
  if (problem) throw new InputError(Input.BackupFile, text, `the path of a backup file, or of a directory-format folder of files; ${problem}`)
  return file
}

const FILE_KINDS: Array<[keyof Stats, string]> = [
  ['isFIFO', 'a FIFO (named pipe)'],
  ['isSocket', 'a socket'],
  ['isCharacterDevice', 'a character device'],
  ['isBlockDevice', 'a block device']
]

/**
 * Why a path cannot be a backup, or undefined when it can: a backup is a regular file, or a folder
 * of regular files. A device or a pipe would be read forever, and files under /proc or /sys are
 * made up as they are read.
 */
export function backupPathProblem(file: string): string | undefined {
  let info: Stats
  try {
    info = statSync(file)
  } catch {
    return 'nothing is there'
  }
  let real = file
  try {
    real = realpathSync(file)
  } catch {
    // Checked by its kind alone.
  }
  const kind = FILE_KINDS.find(([test]) => (info[test] as () => boolean).call(info))
  if (kind) return `${file} is ${kind[1]}, which would be read forever`
  if (/^\/(proc|sys)(\/|$)|^\/dev\/(?!shm\/)/.test(real) || /^\\\\[.?]\\/.test(file)) return `${real} is a file the system makes up as it is read, not a backup`
  if (info.isDirectory()) {
    const odd = readdirSync(file, { withFileTypes: true }).find((entry) => !entry.isFile() && !(entry.isSymbolicLink() && statSync(path.join(file, entry.name), { throwIfNoEntry: false })?.isFile()))
    if (odd) return `the folder holds ${odd.name}, which is not a regular file (a directory-format backup holds only files)`
    return undefined
  }
  return info.isFile() ? undefined : `${file} is not a regular file`
}

/** expected-checksum: a SHA-256 in hex, or the path of a sha256sum-style file (the line naming the backup, else the first). */
function readExpectedChecksum(raw: RawInputs, backupFile: string | undefined): string | undefined {
  const text = raw.get(Input.ExpectedChecksum).trim()
  if (text === '') return undefined
  if (/^[0-9a-f]{64}$/i.test(text)) return text.toLowerCase()
  const file = path.resolve(raw.workingDirectory, text)
  const accepted = 'a SHA-256 of 64 hex digits, or the path of a sha256sum-style file'
  let content: string
  try {
    content = readFileSync(file, 'utf8')
  } catch {
    throw new InputError(Input.ExpectedChecksum, text, accepted)
  }
  const lines = content.split(/\r?\n/).filter((line) => line.trim() !== '')
  const named = backupFile ? lines.find((line) => line.trim().endsWith(path.basename(backupFile))) : undefined
  const checksum = parseChecksumFile(named ?? lines[0] ?? '')
  if (!checksum) throw new InputError(Input.ExpectedChecksum, text, `${accepted}; that file holds no SHA-256`)
  return checksum
}
