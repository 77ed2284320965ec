// Phase 1: pg_dump writes the backup. Formats written to a stream (plain, tar) are hashed and
// checked on their way to disk; custom and directory archives need a seekable file or a folder, so
// they are read once after pg_dump is done.

import { readdirSync, statSync } from 'node:fs'
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { startHeartbeat } from '../run/heartbeat.js'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { compressionArgument, plainIsGzipped, type BackupFormat, type Compression } from '../backup/formats.js'
import { discard, InspectingStream, plainObserver, tarObserver, type PlainObservation } from '../backup/inspect.js'
import { describeBackupOnDisk, type CreatedBackup } from '../backup/on-disk.js'
import { followFile, type ChunkRelay } from '../backup/followed-file.js'
import type { TarReport } from '../backup/archive/tar-check.js'
import type { ScanOptions } from '../backup/plain-scanner.js'
import { describeBytes } from '../run/bytes.js'
import { classifyToolError, VerificationError } from '../run/errors.js'
import { errorLines, runTool } from '../tools/process.js'
import type { RunContext } from '../run/context.js'
import type { ClientTools } from '../tools/locate.js'

export interface DumpRequest {
  tools: ClientTools
  /** Environment for the client tools (connection via PG* variables and PGPASSFILE). */
  env: NodeJS.ProcessEnv
  backupPath: string
  format: BackupFormat
  compression?: Compression
  jobs: number
  minSizeBytes: number
  /** An exported snapshot: pg_dump dumps exactly the data the inventory counted. */
  snapshot?: string
  /** About how large the dump will be (the table data, for an uncompressed one): its progress's whole. */
  expectedBytes?: number
  /** Plain and tar: a second reader of the chunks as they are hashed (a restore planning while pg_dump writes). */
  relay?: ChunkRelay
  /** Plain: fingerprint the rows as they pass (verify level data). */
  scan?: ScanOptions
}

/** "shop-20261124T020316Z.sql": the database name made safe for any file system, and when. */
export function backupFileName(database: string, when: Date, extension = '.sql'): string {
  const stamp = when
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `${database.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_')}-${stamp}${extension}`
}

/** The pg_dump command line: never a secret in it, only the format, its options and where to write. */
function dumpArguments(
  options: Pick<DumpRequest, 'format' | 'compression' | 'jobs' | 'backupPath' | 'snapshot'> & { verbose: boolean },
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

export async function createBackup(run: RunContext, options: DumpRequest): Promise<CreatedBackup> {
  const { format, tools } = options
  const args = dumpArguments({ ...options, verbose: run.verbose }, tools.version.major)
  const streamed =
    format === 'plain'
      ? new InspectingStream<unknown>(plainObserver(plainIsGzipped(options.compression), options.scan))
      : format === 'tar'
        ? new InspectingStream<unknown>(tarObserver())
        : undefined
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
  // Started once the file exists: a folder or file that cannot be made leaves no heartbeat behind.
  const stopHeartbeat = startHeartbeat(run, 'pg_dump', {
    done: () => (streamed ? streamed.bytesSoFar : sizeOnDisk(options.backupPath)),
    total: () => options.expectedBytes
  })
  if (streamed) {
    const end = options.relay?.writable() ?? discard()
    inspected = pipeline(
      Readable.from(followFile({ path: options.backupPath, size: written }, run.signal, options.relay?.pool)),
      streamed,
      end
    )
    inspected.catch((error: unknown) => options.relay?.fail(error))
    inspected.catch(() => {})
  }
  const dumped = await runTool(tools.pgDump, args, {
    env: options.env,
    signal: run.signal,
    onLine: run.verbose ? (line) => run.log(run.redactor.redact(line)) : undefined
  }).finally(stopHeartbeat)
  if (dumped.exitCode === 0) exited.resolve((await stat(options.backupPath)).size)
  else exited.reject(new Error(`pg_dump exited with code ${dumped.exitCode}`))
  if (dumped.exitCode !== 0) {
    const lines = errorLines(run.redactor.redact(dumped.stderr))
    const known = classifyToolError(dumped.stderr)
    const how = dumped.signal ? `was stopped by ${dumped.signal}` : `exited with code ${dumped.exitCode}`
    const what = known?.problem === 'connection-lost' ? 'lost its connection to the server and' : ''
    throw new VerificationError(
      known?.problem ?? 'dump-failed',
      `pg_dump ${what ? `${what} ` : ''}${how}: ${lines.join(' | ') || 'no error message'}`,
      known?.hint
    )
  }
  await inspected
  if (format === 'directory') await makePrivate(options.backupPath)
  const created = await describeCreated(run, options, streamed)
  if (created.sizeBytes < options.minSizeBytes) throw backupTooSmall('Backup file', created.sizeBytes, options.minSizeBytes)
  const what = format === 'directory' ? `${created.manifest?.entries.length} files, ` : ''
  run.log(
    `Backup written: ${what}${describeBytes(created.sizeBytes)}, SHA-256 ` +
      `${created.sha256}${format === 'directory' ? ' (of the manifest)' : ''}`
  )
  return created
}

/** min-size's failure: the size, the threshold and by how much. */
export function backupTooSmall(what: string, sizeBytes: number, minSizeBytes: number): VerificationError {
  return new VerificationError(
    'backup-too-small',
    `${what} is suspiciously small: ${describeBytes(sizeBytes)}, under min-size (${describeBytes(minSizeBytes)}) by ${describeBytes(minSizeBytes - sizeBytes)}`,
    'Is the database empty, or have the migrations not run yet? Lower min-size if a small database is expected.'
  )
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

async function describeCreated(
  run: RunContext,
  options: DumpRequest,
  streamed: InspectingStream<unknown> | undefined
): Promise<CreatedBackup> {
  const base = { format: options.format, compression: options.compression, path: options.backupPath }
  if (options.format === 'plain') {
    const { sizeBytes, sha256, observed } = (streamed as InspectingStream<PlainObservation>).result()
    return { ...base, sizeBytes, sha256, plain: observed, sequences: observed.sequences, content: observed.content, gate: observed.gate }
  }
  if (options.format === 'tar') {
    const { sizeBytes, sha256, observed } = (streamed as InspectingStream<TarReport>).result()
    return { ...base, sizeBytes, sha256, tar: observed }
  }
  return describeBackupOnDisk(options.backupPath, options.format, options.compression, run.signal)
}
