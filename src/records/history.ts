// The history across runs: a JSON Lines file, one record per verification, that a run reads before
// it connects and appends to when it ends. A record holds figures only: never a password, a URL, a
// host, a database's name or a message; only the label the user gave (input name). Appends from concurrent runs are serialised by a lock file and land by rename,
// so a reader never sees half a record; a file that is not a history is never written over.

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { lstat, mkdir, open, readFile, readlink, realpath, rename, rm, stat, statfs } from 'node:fs/promises'
import path from 'node:path'
import { InputError } from '../run/errors.js'
import { Input } from '../run/names.js'
import type { PhaseName, VerificationResult } from '../report/result.js'

const HISTORY_SCHEMA_VERSION = 1

export interface HistoryRecord {
  tool: 'backup-verify'
  schema: typeof HISTORY_SCHEMA_VERSION
  /** The label the user gave this database (input name); never the database's own name. */
  name?: string
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
  /** The backup's compression as the summary names it: a size compares with another of the same format and compression only. */
  compression?: string
  tables?: number
  rows?: number
  serverVersion?: string
  clientVersion?: string
  checksum?: string
  verifyLevel?: string
  /** The restore's time to a usable copy (the recovery time). */
  restoreMs?: number
  /** How old the copy's newest data was once it was ready (the recovery point). */
  backupAgeSeconds?: number
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
    // A kernel's file (/proc/kmsg) may be a "regular file" whose read never returns.
    const refused = pseudoPathProblem(await historyTarget(file.path))
    if (refused) throw new InputError(Input.History, file.given, `${ACCEPTED}; ${refused}`)
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
  for (const key of ['sizeBytes', 'tables', 'rows', 'restoreMs', 'backupAgeSeconds'] as const) {
    if (record[key] !== undefined && (typeof record[key] !== 'number' || !((record[key] as number) >= 0))) return `has an invalid ${key}`
  }
  return undefined
}

/** This run's record: figures only. */
export function historyRecord(result: VerificationResult, alerts: string[], label?: string): HistoryRecord {
  const phases: HistoryRecord['phases'] = {}
  for (const phase of result.phases) if (phase.status !== 'not run') phases[phase.name] = phase.durationMs
  const failed = result.phases.find((phase) => phase.status === 'failed')
  return {
    tool: 'backup-verify',
    schema: HISTORY_SCHEMA_VERSION,
    ...(label ? { name: label } : {}),
    time: result.startedAt,
    result: result.status,
    ...(failed ? { failedPhase: failed.name } : {}),
    ...(result.error ? { problem: result.error.problem } : {}),
    ...(alerts.length > 0 ? { alerts } : {}),
    durationMs: result.durationMs,
    phases,
    sizeBytes: result.backup?.sizeBytes,
    format: result.backup?.format,
    compression: result.backup?.compression,
    ...countsOf(result),
    serverVersion: result.serverVersion,
    clientVersion: result.client?.version,
    checksum: result.backup?.sha256,
    verifyLevel: result.tables?.level,
    restoreMs: result.evidence?.restoreMs,
    backupAgeSeconds: result.evidence?.ageSeconds
  }
}

/** The tables and rows the restored copy holds: the comparison's, else a base backup's databases counted on the started copy. */
export function countsOf(result: VerificationResult): { tables?: number; rows?: number } {
  const tables = result.tables
  const physical = result.physical?.databases
  return {
    tables: tables ? tables.source.length : physical?.reduce((sum, entry) => sum + entry.tables, 0),
    rows:
      tables && tables.level !== 'schema'
        ? tables.rows.reduce((sum, entry) => sum + (entry.restored ?? 0), 0)
        : physical?.some((entry) => entry.rows !== undefined)
          ? physical.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
          : undefined
  }
}

/** How long the check of a history's path may take before the path is refused (a hung network mount). */
const PATH_CHECK_MS = 10_000
/** Symbolic links followed to the history's target before it is refused as a loop. */
const MAX_LINKS = 40

/**
 * Refuses, before anything connects, a history this run could not add its record to: a path of the
 * kernel's pseudo file systems, a folder that cannot be created, one where no file can be created.
 * Missing folders are created one at a time (a recursive mkdir never returns under /proc). Bounded in time.
 */
export async function checkHistoryWritable(file: HistoryFile): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`its folder did not answer within ${PATH_CHECK_MS / 1000} s`), PATH_CHECK_MS)
  })
  try {
    const problem = await Promise.race([writableProblem(file.path), late])
    if (problem) throw new InputError(Input.History, file.given, `${ACCEPTED}, in a folder this run can write to; ${problem}`)
  } finally {
    clearTimeout(timer)
  }
}

async function writableProblem(given: string): Promise<string | undefined> {
  let target: string
  try {
    target = await historyTarget(given)
  } catch (error) {
    return `its symbolic link cannot be followed (${(error as NodeJS.ErrnoException).code ?? String(error)})`
  }
  const refused = pseudoPathProblem(target) ?? (await pseudoFileSystemProblem(target))
  if (refused) return refused
  const folder = path.dirname(target)
  const created = await createFolders(folder)
  if (created) return created
  const existing = await stat(target).catch(() => undefined)
  if (existing && !existing.isFile()) return 'that path is not a regular file'
  // The record lands by rename of a file made beside the history: that is what must be possible.
  const probe = path.join(folder, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.probe`)
  try {
    const handle = await open(probe, 'wx', 0o644)
    await handle.close()
  } catch (error) {
    return `no file can be created in its folder ${folder} (${(error as NodeJS.ErrnoException).code ?? 'unwritable'})`
  } finally {
    await rm(probe, { force: true }).catch(() => undefined)
  }
  return undefined
}

/** The file the history's records go to: the path itself, or where its symbolic links lead, a dangling one included. */
async function historyTarget(given: string): Promise<string> {
  let current = path.resolve(given)
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
      throw error
    })
    if (!info?.isSymbolicLink()) return await realFolders(current)
    current = path.resolve(path.dirname(current), await readlink(current))
  }
  throw Object.assign(new Error(`more than ${MAX_LINKS} symbolic links`), { code: 'ELOOP' })
}

/** The folders on the way may be links too: the path as the kernel sees it, from its nearest existing folder. */
async function realFolders(file: string): Promise<string> {
  const rest: string[] = [path.basename(file)]
  let folder = path.dirname(file)
  for (;;) {
    const real = await realpath(folder).catch(() => undefined)
    if (real !== undefined) return path.join(real, ...rest)
    const parent = path.dirname(folder)
    if (parent === folder) return file
    rest.unshift(path.basename(folder))
    folder = parent
  }
}

/** The kernel's pseudo file systems by where they are mounted: nothing there is a file a history could be. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev']

function pseudoPathProblem(target: string): string | undefined {
  if (process.platform === 'win32') return undefined
  const root = PSEUDO_ROOTS.find((prefix) => target === prefix || target.startsWith(`${prefix}/`))
  return root ? `${target} is under ${root}, the kernel's, where no history can be kept` : undefined
}

/** Linux's magic numbers (statfs f_type) of pseudo file systems mounted elsewhere than their usual place. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x42494e4d, 'binfmt_misc']
])

/** The file system of the history's nearest existing folder, when it is one of the kernel's. */
async function pseudoFileSystemProblem(target: string): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined
  let folder = path.dirname(target)
  while (!(await stat(folder).catch(() => undefined))) {
    const parent = path.dirname(folder)
    if (parent === folder) return undefined
    folder = parent
  }
  const type = await statfs(folder).then(
    (info) => PSEUDO_FILE_SYSTEMS.get(Number(info.type)),
    () => undefined
  )
  return type ? `${folder} is on the kernel's ${type} file system, where no history can be kept` : undefined
}

/**
 * The folder and the ones above it that are missing, created from the top one level at a time: an
 * error names the folder that could not be made, and nothing loops (as a recursive mkdir does under /proc).
 */
async function createFolders(folder: string): Promise<string | undefined> {
  const missing: string[] = []
  let current = folder
  for (;;) {
    let code: string | undefined
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      code = error.code ?? 'error'
      return undefined
    })
    if (info) {
      if (!info.isDirectory()) return `${current} is not a folder`
      break
    }
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return `its folder ${current} cannot be reached (${code})`
    missing.unshift(current)
    const parent = path.dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const each of missing) {
    try {
      await mkdir(each)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'EEXIST') return `its folder ${each} cannot be created (${code ?? 'error'})`
    }
  }
  return undefined
}

const LOCK_WAIT_MS = 60_000
/** A lock older than this was left by a run that died: it is taken over. */
const STALE_LOCK_MS = 120_000

/**
 * Appends one record and keeps the last `limit`. Under a lock file beside the history: the file is
 * read again (and refused, untouched, if it is no longer a history), then replaced by rename.
 */
export async function appendHistory(file: HistoryFile, record: HistoryRecord, limit: number): Promise<HistoryRecord[]> {
  // A history that is a symbolic link is written through to its target: the link stays a link.
  const target = await historyTarget(file.path)
  const problem = pseudoPathProblem(target) ?? (await createFolders(path.dirname(target)))
  if (problem) throw new Error(problem)
  const release = await lock(`${target}.lock`)
  try {
    const records = [...(await readHistory(file)), record].slice(-limit)
    const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      const handle = await open(temporary, 'wx', 0o644)
      try {
        await handle.writeFile(records.map((entry) => `${JSON.stringify(entry)}\n`).join(''))
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, target)
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
