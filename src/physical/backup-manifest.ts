// A base backup against its backup_manifest: pg_verifybackup checks every file's size and checksum on
// the copy (and the WAL from start to end, where it can); and the backup's SHA-256, of that manifest.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { scrubbedEnvironment } from '../connection/environment.js'
import { VerificationError } from '../run/errors.js'
import { runTool } from '../tools/process.js'
import type { PhysicalBackup } from './layout.js'
import type { ServerBinaries } from './server-binaries.js'

export interface ManifestRequest {
  backup: PhysicalBackup
  /** The copy pg_verifybackup reads (the backup's tars extracted, or its folder copied). */
  dataDirectory: string
  binaries: ServerBinaries
  /** wal-archive: the WAL is read from there instead of the backup's own pg_wal. */
  walArchive?: string
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  /** Each line pg_verifybackup writes (verbose). */
  onLine?: (line: string) => void
  warn: (message: string) => void
}

export interface ManifestCheck {
  verified: boolean
  detail: string
}

/** pg_verifybackup over the copy; a backup that differs from its manifest fails with its first lines. */
export async function verifyManifest(request: ManifestRequest): Promise<ManifestCheck> {
  const { backup, dataDirectory, binaries, walArchive, warn } = request
  if (!backup.manifest) {
    warn(
      'The base backup has no backup_manifest: file sizes and checksums cannot be verified; amcheck and page checksums on the started copy are the checks.'
    )
    return { verified: false, detail: 'no backup_manifest: not verified (taken with --no-manifest, or by an older pg_basebackup)' }
  }
  if (!binaries.pgVerifyBackup) {
    warn('pg_verifybackup is not among the server binaries (PostgreSQL 13 and later have it): the manifest was not checked.')
    return { verified: false, detail: 'pg_verifybackup missing: not verified' }
  }
  const walDirectory = path.join(dataDirectory, 'pg_wal')
  const hasWal = (await readdir(walDirectory).catch(() => [])).some((name) => /^[0-9A-F]{24}$/.test(name))
  // A newer pg_verifybackup than the backup checks its files, but reads no WAL of an older major.
  const olderWal = binaries.pgVerifyBackupMajor !== undefined && binaries.pgVerifyBackupMajor !== binaries.version.major
  const wal = olderWal ? ['--no-parse-wal'] : walArchive ? ['--wal-directory', walArchive] : hasWal ? [] : ['--no-parse-wal']
  const verified = await runTool(binaries.pgVerifyBackup, ['--manifest-path', backup.manifest, ...wal, dataDirectory], {
    env: scrubbedEnvironment(request.env),
    signal: request.signal,
    onLine: request.onLine
  })
  if (verified.exitCode !== 0) {
    const lines = verified.stderr
      .split('\n')
      .map((line) => line.replace(/^pg_verifybackup: (error: )?/, '').trim())
      .filter(Boolean)
      .map((line) => line.replaceAll(dataDirectory, '<backup>'))
    throw new VerificationError(
      'backup-invalid',
      `pg_verifybackup found the backup differs from its manifest: ${lines.slice(0, 10).join(' | ')}${lines.length > 10 ? ` (and ${lines.length - 10} more)` : ''}`,
      'The files changed after pg_basebackup wrote them (a damaged copy, or a manifest of another backup): take the backup again, or copy it again.'
    )
  }
  if (olderWal) {
    return {
      verified: true,
      detail:
        `every file's size and checksum match backup_manifest (pg_verifybackup ${binaries.pgVerifyBackupMajor}; the WAL of ` +
        `PostgreSQL ${binaries.version.major} is not its to parse: recovery replays it)`
    }
  }
  if (wal.includes('--no-parse-wal')) {
    warn('The backup holds no WAL (taken with -X none) and no wal-archive was given: recovery cannot reach consistency without one.')
  }
  return {
    verified: true,
    detail: `every file's size and SHA-256 match backup_manifest${wal.length === 0 || walArchive ? ', and the WAL from start to end parses' : ''}`
  }
}

/** SHA-256 of the manifest (which holds every file's checksum), else of every file in order. */
export async function baseBackupChecksum(backup: PhysicalBackup): Promise<string> {
  const hash = createHash('sha256')
  for (const file of backup.manifest ? [backup.manifest] : backup.files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}
