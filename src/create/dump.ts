// Phase 1: pg_dump writes the backup. Formats written to a stream (plain, tar) are hashed and
// checked on their way to disk; custom and directory archives need a seekable file or a folder, so
// they are read once after pg_dump is done.

import { readdirSync, statSync } from 'node:fs'
import { chmod, mkdir, readdir, stat, statfs, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type pg from 'pg'
import { readDatabaseSize } from '../connection/session.js'
import { startHeartbeat } from '../run/heartbeat.js'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { ArchiveHeader } from '../backup/archive-header.js'
import {
  compressionArgument,
  plainIsGzipped,
  type BackupFormat,
  type Compression
} from '../backup/formats.js'
import { discard, headerObserver, inspectFile, InspectingStream, plainObserver, tarObserver, type PlainObservation } from '../backup/inspect.js'
import { buildManifest, type Manifest } from '../backup/manifest.js'
import { followFile, type ChunkRelay } from '../backup/followed-file.js'
import type { TarReport } from '../backup/tar-check.js'
import { describeBytes } from '../inputs/size.js'
import { classifyToolError, VerificationError } from '../run/errors.js'
import { errorLines, runTool } from '../tools/process.js'
import type { Redactor } from '../run/secrets.js'
import type { ClientTools } from '../tools/locate.js'

export interface CreatedBackup {
  format: BackupFormat
  compression?: Compression
  /** The file, or the folder of a directory-format backup. */
  path: string
  sizeBytes: number
  /** SHA-256 of the file; of the manifest for a directory-format backup. */
  sha256: string
  plain?: PlainObservation
  tar?: TarReport
  header?: ArchiveHeader | { problem: string }
  manifest?: Manifest
  /** The sequence values the dump sets: from the scan of a plain dump, or of the script pg_restore reads out of an archive. */
  sequences?: Array<{ sequence: string; value: string }>
}

export interface CreateOptions {
  tools: ClientTools
  /** Environment for the client tools (connection via PG* variables and PGPASSFILE). */
  env: NodeJS.ProcessEnv
  backupPath: string
  format: BackupFormat
  compression?: Compression
  jobs: number
  minSizeBytes: number
  verbose: boolean
  log: (line: string) => void
  redactor: Redactor
  heartbeatMs?: number
  /** An exported snapshot: pg_dump dumps exactly the data the inventory counted. */
  snapshot?: string
  /** Stops pg_dump (the run was interrupted). */
  signal?: AbortSignal
  /** Plain and tar: a second reader of the chunks as they are hashed (a restore planning while pg_dump writes). */
  relay?: ChunkRelay
}

/**
 * The smallest the backup can plausibly be: text dumps are rarely under half the table data, and
 * compression rarely does better than a tenth. Below that much free space it clearly cannot fit.
 */
export function minimumBackupBytes(tableBytes: number, compressed: boolean): number {
  return Math.floor(tableBytes * (compressed ? 0.1 : 0.5))
}

export function checkFreeSpace(tableBytes: number, freeBytes: number, compressed: boolean, folder: string): VerificationError | undefined {
  const needed = minimumBackupBytes(tableBytes, compressed)
  if (freeBytes >= needed) return undefined
  return new VerificationError(
    'no-space',
    `Not enough free space for the backup: the database holds ${describeBytes(tableBytes)} of table data, so the backup needs at least ${describeBytes(needed)}, but ${folder} has ${describeBytes(freeBytes)} free.`,
    'Free some space, point RUNNER_TEMP at a larger disk, or compress the backup (compression: 6, or the custom format).'
  )
}

/** Reads the database's size and the free space where the backup goes, logs both, and fails early when it clearly cannot fit. */
export async function checkRoomForBackup(
  session: pg.Client,
  folder: string,
  format: BackupFormat,
  compression: Compression | undefined,
  log: (line: string) => void
): Promise<void> {
  const size = await readDatabaseSize(session)
  const free = await statfs(folder).then((info) => info.bavail * info.bsize)
  const compressed = format === 'custom' || format === 'directory' ? compression?.method !== 'none' : compression?.method === 'gzip'
  log(`Database: ${describeBytes(size.totalBytes)} (table data ${describeBytes(size.tableBytes)}); free where the backup goes: ${describeBytes(free)}`)
  const tooLittle = checkFreeSpace(size.tableBytes, free, compressed, folder)
  if (tooLittle) throw tooLittle
}

/** "shop-20261124T020316Z.sql": the database name made safe for any file system, and when. */
export function backupFileName(database: string, when: Date, extension = '.sql'): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${database.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_')}-${stamp}${extension}`
}

/** The pg_dump command line: never a secret in it, only the format, its options and where to write. */
export function dumpArguments(
  options: Pick<CreateOptions, 'format' | 'compression' | 'jobs' | 'verbose' | 'backupPath' | 'snapshot'>,
  clientMajor: number
): string[] {
  const args = ['--no-password', `--format=${options.format}`]
  if (options.snapshot) args.push(`--snapshot=${options.snapshot}`)
  if (options.compression) args.push(`--compress=${compressionArgument(options.compression, clientMajor)}`)
  if (options.format === 'directory' && options.jobs > 1) args.push(`--jobs=${options.jobs}`)
  args.push(`--file=${options.backupPath}`)
  if (options.verbose) args.push('--verbose')
  return args
}

export async function createBackup(options: CreateOptions): Promise<CreatedBackup> {
  const { format, tools } = options
  const args = dumpArguments(options, tools.version.major)
  const streamed =
    format === 'plain'
      ? new InspectingStream<unknown>(plainObserver(plainIsGzipped(options.compression)))
      : format === 'tar'
        ? new InspectingStream<unknown>(tarObserver())
        : undefined
  const stopHeartbeat = startHeartbeat('pg_dump', options.log, () => (streamed ? streamed.bytesSoFar : sizeOnDisk(options.backupPath)), options.heartbeatMs)
  // pg_dump writes the file itself (its own buffered writes cost far less than a pipe through this
  // process); a single file is read as it grows, hashed and inspected in the same pass.
  let exited: { resolve: (size: number) => void; reject: (error: unknown) => void } = { resolve: () => {}, reject: () => {} }
  const written = new Promise<number>((resolve, reject) => (exited = { resolve, reject }))
  written.catch(() => {})
  let inspected: Promise<void> = Promise.resolve()
  // Created private before pg_dump opens it: the backup holds every row of the database. (pg_dump
  // keeps a file's mode; a directory-format folder it fills, its files it makes itself.)
  if (format === 'directory') await mkdir(options.backupPath, { mode: 0o700 })
  else await writeFile(options.backupPath, '', { mode: 0o600 })
  if (streamed) {
    const end = options.relay?.writable() ?? discard()
    inspected = pipeline(Readable.from(followFile({ path: options.backupPath, size: written }, options.signal)), streamed, end)
    inspected.catch((error: unknown) => options.relay?.fail(error))
    inspected.catch(() => {})
  }
  const run = await runTool(tools.pgDump, args, {
    env: options.env,
    signal: options.signal,
    onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined
  }).finally(stopHeartbeat)
  if (run.exitCode === 0) exited.resolve((await stat(options.backupPath)).size)
  else exited.reject(new Error(`pg_dump exited with code ${run.exitCode}`))
  if (run.exitCode !== 0) {
    const lines = errorLines(options.redactor.redact(run.stderr))
    const known = classifyToolError(run.stderr)
    const how = run.signal ? `was stopped by ${run.signal}` : `exited with code ${run.exitCode}`
    const what = known?.problem === 'connection-lost' ? 'lost its connection to the server and' : ''
    throw new VerificationError(known?.problem ?? 'dump-failed', `pg_dump ${what ? `${what} ` : ''}${how}: ${lines.join(' | ') || 'no error message'}`, known?.hint)
  }
  await inspected
  if (format === 'directory') await makePrivate(options.backupPath)
  const created = await describeCreated(options, streamed)
  if (created.sizeBytes < options.minSizeBytes) {
    throw new VerificationError(
      'backup-too-small',
      `Backup file is suspiciously small: ${created.sizeBytes} bytes (minimum ${options.minSizeBytes})`,
      'Is the database empty, or have the migrations not run yet? Lower min-size if a small database is expected.'
    )
  }
  const what = format === 'directory' ? `${created.manifest?.entries.length} files, ` : ''
  options.log(`Backup written: ${what}${describeBytes(created.sizeBytes)}, SHA-256 ${created.sha256}${format === 'directory' ? ' (of the manifest)' : ''}`)
  return created
}

/** A directory-format backup's files, private as a single file is. */
async function makePrivate(folder: string): Promise<void> {
  await chmod(folder, 0o700)
  for (const name of await readdir(folder)) await chmod(path.join(folder, name), 0o600)
}

/** Bytes of a file, or of the files in a folder, so far; 0 when there is nothing yet. */
function sizeOnDisk(backupPath: string): number {
  try {
    const info = statSync(backupPath)
    if (!info.isDirectory()) return info.size
    return readdirSync(backupPath).reduce((sum, name) => sum + statSync(path.join(backupPath, name)).size, 0)
  } catch {
    return 0
  }
}

async function describeCreated(options: CreateOptions, streamed: InspectingStream<unknown> | undefined): Promise<CreatedBackup> {
  const base = { format: options.format, compression: options.compression, path: options.backupPath }
  if (options.format === 'plain') {
    const { sizeBytes, sha256, observed } = (streamed as InspectingStream<PlainObservation>).result()
    return { ...base, sizeBytes, sha256, plain: observed, sequences: observed.sequences }
  }
  if (options.format === 'tar') {
    const { sizeBytes, sha256, observed } = (streamed as InspectingStream<TarReport>).result()
    return { ...base, sizeBytes, sha256, tar: observed }
  }
  return describeBackupOnDisk(options.backupPath, options.format, options.compression, options.signal)
}

/**
 * Reads a backup that is on disk once: its checksum (of the manifest, for a folder) and what its
 * format's observer sees. The Validate phase judges the result.
 */
export async function describeBackupOnDisk(backupPath: string, format: BackupFormat, compression?: Compression, signal?: AbortSignal): Promise<CreatedBackup> {
  const base = { format, compression, path: backupPath }
  switch (format) {
    case 'plain': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, plainObserver(plainIsGzipped(compression)), signal)
      return { ...base, sizeBytes, sha256, plain: observed, sequences: observed.sequences }
    }
    case 'tar': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, tarObserver(), signal)
      return { ...base, sizeBytes, sha256, tar: observed }
    }
    case 'custom': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, headerObserver(), signal)
      return { ...base, sizeBytes, sha256, header: observed }
    }
    case 'directory': {
      const manifest = await buildManifest(backupPath, signal)
      const toc = await inspectFile(path.join(backupPath, 'toc.dat'), headerObserver(), signal).catch(() => undefined)
      return {
        ...base,
        sizeBytes: manifest.sizeBytes,
        sha256: manifest.sha256,
        manifest,
        header: toc?.observed ?? { problem: 'toc.dat is missing' }
      }
    }
  }
}
