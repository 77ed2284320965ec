// The history across runs: a JSON Lines file, one record per verification, that a run reads before
// it connects and appends to when it ends. A record holds figures only: never a password, a URL, a
// host or a message. Appends from concurrent runs are serialised by a lock file and land by rename,
// so a reader never sees half a record; a file that is not a history is never written over.

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { InputError } from '../run/errors.js'
import { Input } from '../run/names.js'
import type { PhaseName, VerificationResult } from './result.js'

const HISTORY_SCHEMA_VERSION = 1
export const DEFAULT_HISTORY_LIMIT = 100

export interface HistoryRecord {
  tool: 'backup-verify'
  schema: typeof HISTORY_SCHEMA_VERSION
  /** When the run started (ISO 8601). */
  time: string
  result: VerificationResult['status']
  /** The phase that failed, when one did. */
  failedPhase?: PhaseName
  /** The kind of failure (e.g. backup-too-small, alert), never its message. */
  problem?: string
  /** The alerts that this run raised, by input name. */
  alerts?: string[]
  durationMs: number
  phases: Partial<Record<PhaseName, number>>
  sizeBytes?: number
  format?: string
  tables?: number
  rows?: number
  serverVersion?: string
  clientVersion?: string
  checksum?: string
  verifyLevel?: string
}

/** A history file the run was told about: where it is and how the user named it. */
export interface HistoryFile {
  path: string
  given: string
}

const ACCEPTED =
  'the path of a history file that backup-verify writes (JSON Lines, one record per run), or of a file that does not exist yet'

/** The history's records, oldest first; none when the file does not exist yet. */
export async function readHistory(file: HistoryFile): Promise<HistoryRecord[]> {
  let text: string
  try {
    const info = await stat(file.path)
    if (!info.isFile()) throw new InputError(Input.History, file.given, `${ACCEPTED}; that path is not a regular file`)
    text = await readFile(file.path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    if (error instanceof InputError) throw error
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new InputError(Input.History, file.given, `${ACCEPTED}; it cannot be read (${code})`)
  }
  return parseHistory(text, file)
}

/** Parses a whole history, refusing anything that is not one (with the line that is not). */
export function parseHistory(text: string, file: HistoryFile): HistoryRecord[] {
  const records: HistoryRecord[] = []
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue
    const problem = recordProblem(line)
    if (problem) {
      throw new InputError(
        Input.History,
        file.given,
        `${ACCEPTED}; line ${index + 1} ${problem}. The file was left as it is: move it away or name another file`
      )
    }
    records.push(JSON.parse(line) as HistoryRecord)
  }
  return records
}

function recordProblem(line: string): string | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return 'is not JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object'
  const record = value as Partial<HistoryRecord>
  if (record.tool !== 'backup-verify') return 'is not a backup-verify record (no "tool": "backup-verify")'
  if (typeof record.schema !== 'number') return 'has no schema version'
  if (record.schema > HISTORY_SCHEMA_VERSION) return `was written by a newer backup-verify (schema ${record.schema})`
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time))) return 'has no valid time'
  if (!['passed', 'failed', 'skipped'].includes(record.result as string)) return 'has no valid result'
  if (typeof record.durationMs !== 'number' || !(record.durationMs >= 0)) return 'has no valid duration'
  for (const key of ['sizeBytes', 'tables', 'rows'] as const) {
    if (record[key] !== undefined && (typeof record[key] !== 'number' || !((record[key] as number) >= 0))) return `has an invalid ${key}`
  }
  return undefined
}

/** This run's record: figures only. */
export function historyRecord(result: VerificationResult, alerts: string[]): HistoryRecord {
  const phases: HistoryRecord['phases'] = {}
  for (const phase of result.phases) if (phase.status !== 'not run') phases[phase.name] = phase.durationMs
  const failed = result.phases.find((phase) => phase.status === 'failed')
  const tables = result.tables
  // A physical backup's databases, counted on the started copy.
  const physical = result.physical?.databases
  return {
    tool: 'backup-verify',
    schema: HISTORY_SCHEMA_VERSION,
    time: result.startedAt,
    result: result.status,
    ...(failed ? { failedPhase: failed.name } : {}),
    ...(result.error ? { problem: result.error.problem } : {}),
    ...(alerts.length > 0 ? { alerts } : {}),
    durationMs: result.durationMs,
    phases,
    sizeBytes: result.backup?.sizeBytes,
    format: result.backup?.format,
    tables: tables ? tables.source.length : physical?.reduce((sum, entry) => sum + entry.tables, 0),
    rows:
      tables && tables.level !== 'schema'
        ? tables.rows.reduce((sum, entry) => sum + (entry.restored ?? 0), 0)
        : physical?.some((entry) => entry.rows !== undefined)
          ? physical.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
          : undefined,
    serverVersion: result.serverVersion,
    clientVersion: result.client?.version,
    checksum: result.backup?.sha256,
    verifyLevel: tables?.level
  }
}

const LOCK_WAIT_MS = 60_000
/** A lock older than this was left by a run that died: it is taken over. */
const STALE_LOCK_MS = 120_000

/**
 * Appends one record and keeps the last `limit`. Under a lock file beside the history: the file is
 * read again (and refused, untouched, if it is no longer a history), then replaced by rename.
 */
export async function appendHistory(file: HistoryFile, record: HistoryRecord, limit: number): Promise<HistoryRecord[]> {
  await mkdir(path.dirname(file.path), { recursive: true })
  const release = await lock(`${file.path}.lock`)
  try {
    const records = [...(await readHistory(file)), record].slice(-limit)
    const temporary = `${file.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const handle = await open(temporary, 'wx', 0o644)
      try {
        await handle.writeFile(records.map((entry) => `${JSON.stringify(entry)}\n`).join(''))
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, file.path)
    } finally {
      await rm(temporary, { force: true })
    }
    return records
  } finally {
    await release()
  }
}

async function lock(lockPath: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return () => rm(lockPath, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const age = await stat(lockPath).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0
    )
    if (age > STALE_LOCK_MS) {
      await rm(lockPath, { force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new Error(`another run has held the lock ${lockPath} for over ${LOCK_WAIT_MS / 1000} s; remove it if no run is writing`)
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 + attempt * 10) + Math.random() * 20))
  }
}
