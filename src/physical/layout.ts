// A physical backup as pg_basebackup writes it, recognised from its content: a tar-format folder
// (base.tar, compressed or not, pg_wal.tar, tablespace tars, backup_manifest) or a plain-format
// data directory (PG_VERSION, backup_label, backup_manifest). Then made into a data directory the
// run owns (extracted, or copied: recovery writes into it, and the user's backup is never touched).

import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { VerificationError } from '../run/errors.js'
import { scrubbedEnvironment } from '../connection/environment.js'
import { runTool } from '../tools/process.js'

type TarCompression = 'none' | 'gzip' | 'lz4' | 'zstd'

interface TarFile {
  file: string
  compression: TarCompression
}

export interface PhysicalBackup {
  path: string
  layout: 'tar' | 'plain'
  /** tar: the base archive. */
  base?: TarFile
  /** tar: the WAL streamed during the backup (-X stream). */
  wal?: TarFile
  /** tar: one archive per tablespace, named by its OID. */
  tablespaces: Array<TarFile & { oid: string }>
  manifest?: string
  /** Every file of the backup, for its size and its checksum. */
  files: string[]
  sizeBytes: number
}

const TAR = /^(base|pg_wal|\d+)\.tar(?:\.(gz|lz4|zst))?$/
const COMPRESSION: Record<string, TarCompression> = { '': 'none', gz: 'gzip', lz4: 'lz4', zst: 'zstd' }

/** The backup at `where`, or undefined when it is not a physical backup (a logical one, say). */
export async function recognisePhysical(where: string): Promise<PhysicalBackup | undefined> {
  const info = await stat(where).catch(() => undefined)
  if (!info?.isDirectory()) return undefined
  const names = await readdir(where)
  const manifest = names.includes('backup_manifest') ? path.join(where, 'backup_manifest') : undefined
  const tars = names.map((name) => ({ name, match: TAR.exec(name) })).filter((entry) => entry.match)
  const base = tars.find((entry) => entry.match?.[1] === 'base')
  if (base) {
    const tarFile = (name: string, match: RegExpExecArray): TarFile => ({
      file: path.join(where, name),
      compression: COMPRESSION[match[2] ?? '']
    })
    const wal = tars.find((entry) => entry.match?.[1] === 'pg_wal')
    const files = [...tars.map((entry) => path.join(where, entry.name)), ...(manifest ? [manifest] : [])]
    return {
      path: where,
      layout: 'tar',
      base: tarFile(base.name, base.match!),
      wal: wal && tarFile(wal.name, wal.match!),
      tablespaces: tars
        .filter((entry) => /^\d+$/.test(entry.match![1]))
        .map((entry) => ({ oid: entry.match![1], ...tarFile(entry.name, entry.match!) })),
      manifest,
      files,
      sizeBytes: await totalSize(files)
    }
  }
  if (names.includes('PG_VERSION') && names.includes('global')) {
    const files = await listFiles(where)
    return { path: where, layout: 'plain', tablespaces: [], manifest, files, sizeBytes: await totalSize(files) }
  }
  return undefined
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()
}

async function totalSize(files: string[]): Promise<number> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((info) => info.size)))
  return sizes.reduce((sum, size) => sum + size, 0)
}

function decompressFlag(compression: TarCompression): string[] {
  switch (compression) {
    case 'gzip':
      return ['-z']
    case 'zstd':
      return ['--zstd']
    case 'lz4':
      return ['--use-compress-program=lz4']
    default:
      return []
  }
}

/** Extracts one tar of the backup into `into`; a truncated or damaged archive fails with tar's own words. */
async function extractTar(tar: TarFile, into: string, signal: AbortSignal): Promise<void> {
  await mkdir(into, { recursive: true, mode: 0o700 })
  const run = await runTool('tar', ['-x', ...decompressFlag(tar.compression), '-f', tar.file, '-C', into], {
    env: scrubbedEnvironment(process.env),
    signal
  })
  if (run.exitCode !== 0) {
    const said = run.stderr.trim().split('\n').slice(-3).join(' | ')
    throw new VerificationError(
      'backup-invalid',
      `${path.basename(tar.file)} could not be extracted: ${said || `tar exited with code ${run.exitCode}`}`,
      tar.compression === 'lz4' ? 'An lz4 archive needs the lz4 program on the runner.' : 'Is the archive complete? Copy the backup again.'
    )
  }
}

/**
 * The data directory the throwaway server runs on: the tars extracted (pg_wal.tar into pg_wal, each
 * tablespace beside it and linked from pg_tblspc, as the manifest names its files), or the plain
 * directory copied. tablespace_map stays as the backup has it, for pg_verifybackup: pointTablespaces
 * turns it to the copy's tablespaces before the server starts.
 */
export async function materialise(backup: PhysicalBackup, dataDirectory: string, signal: AbortSignal): Promise<void> {
  if (backup.layout === 'plain') {
    await cp(backup.path, dataDirectory, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })
    const links = await readdir(path.join(dataDirectory, 'pg_tblspc')).catch(() => [])
    if (links.length > 0) {
      throw new VerificationError(
        'backup-invalid',
        `The plain-format backup has ${links.length} tablespace(s) (pg_tblspc): their files live outside the data directory and cannot be verified here.`,
        'Take the backup in tar format (pg_basebackup -F t), which carries each tablespace as its own archive.'
      )
    }
    return
  }
  await extractTar(backup.base!, dataDirectory, signal)
  if (backup.wal) await extractTar(backup.wal, path.join(dataDirectory, 'pg_wal'), signal)
  for (const tablespace of backup.tablespaces) {
    const into = tablespaceFolder(dataDirectory, tablespace.oid)
    // Passable (not listable) for the account the server may run as, like the run's folder above it.
    await mkdir(path.dirname(into), { recursive: true, mode: 0o711 })
    await extractTar(tablespace, into, signal)
    // The manifest names a tablespace's files pg_tblspc/<oid>/…: pg_verifybackup reads them through this link.
    await mkdir(path.join(dataDirectory, 'pg_tblspc'), { recursive: true, mode: 0o700 })
    await symlink(into, path.join(dataDirectory, 'pg_tblspc', tablespace.oid))
  }
}

/** Where the copy's tablespace goes: beside the data directory, never where the source had it. */
const tablespaceFolder = (dataDirectory: string, oid: string) => path.join(path.dirname(dataDirectory), 'tablespaces', oid)

/**
 * tablespace_map pointed at the copy's tablespaces: at its start the server links pg_tblspc as the
 * map says, and the backup's map names the source's own folders, which the copy must never write to.
 */
export async function pointTablespaces(backup: PhysicalBackup, dataDirectory: string): Promise<void> {
  if (backup.layout !== 'tar' || backup.tablespaces.length === 0) return
  const lines = backup.tablespaces.map(
    ({ oid }) => `${oid} ${tablespaceFolder(dataDirectory, oid).replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`
  )
  await writeFile(path.join(dataDirectory, 'tablespace_map'), `${lines.join('\n')}\n`)
}

export interface BackupLabel {
  startLsn: string
  startSegment: string
  timeline: number
  startTime?: string
  label?: string
}

/** backup_label: without it the copy would start as a primary and come up silently inconsistent. */
export async function readBackupLabel(dataDirectory: string): Promise<BackupLabel> {
  const text = await readFile(path.join(dataDirectory, 'backup_label'), 'utf8').catch(() => undefined)
  if (text === undefined) {
    throw new VerificationError(
      'backup-invalid',
      'The backup has no backup_label: started as it is, the copy would run crash recovery from its last checkpoint and come up ' +
        'silently inconsistent (the files were copied while the server wrote them).',
      'Use the backup exactly as pg_basebackup wrote it; backup_label must be in the data directory (or in base.tar).'
    )
  }
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)/m.exec(text)
  if (!start) throw new VerificationError('backup-invalid', 'backup_label names no START WAL LOCATION: it is not one pg_basebackup wrote.')
  return {
    startLsn: start[1],
    startSegment: start[2],
    timeline: Number(/^START TIMELINE: (\d+)/m.exec(text)?.[1] ?? Number.parseInt(start[2].slice(0, 8), 16)),
    startTime: /^START TIME: (.+)$/m.exec(text)?.[1],
    label: /^LABEL: (.+)$/m.exec(text)?.[1]
  }
}

/** PG_VERSION: the major of the server that must run the copy. */
export async function readMajor(dataDirectory: string): Promise<number> {
  const text = await readFile(path.join(dataDirectory, 'PG_VERSION'), 'utf8').catch(() => '')
  const major = Number.parseInt(text.trim(), 10)
  if (!Number.isInteger(major) || major < 9) {
    throw new VerificationError('backup-invalid', `The backup's PG_VERSION is missing or unreadable (${JSON.stringify(text.trim())}).`)
  }
  return major
}
