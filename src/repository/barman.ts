// Barman as a run uses it: the server's backups (list-backups, show-backup), its own checks of one
// (check-backup: the WAL it needs; verify-backup: every file against the backup's manifest), and
// barman recover into the run's private folder. Recovery settings are the run's server's own: with
// a target, Barman copies the WAL into barman_wal and the server reads it from there.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import type { RepositoryAccess } from './access.js'
import type { RepositoryBackup } from './repository-backup.js'
import { runRepositoryTool, toolComplaint, type RepositoryTool } from './repository-tool.js'

export interface BarmanOptions {
  server: string
  /** barman.conf, when named; else Barman's own search. */
  config?: string
  /** The recovery target the run's server is given: Barman copies the WAL it needs beside the copy. */
  target?: { time?: string; lsn?: string }
}

interface ListedBackup {
  backup_id?: string
  status?: string
  end_time_timestamp?: string
  size_bytes?: number
}

interface ShownBackup {
  backup_id?: string
  status?: string
  postgresql_version?: number
  base_backup_information?: {
    begin_lsn?: string
    end_lsn?: string
    begin_time_timestamp?: string
    end_time_timestamp?: string
    begin_wal?: string
    end_wal?: string
    disk_usage_bytes?: number
    disk_usage_with_wals_bytes?: number
    timeline?: number
  }
}

const where = (options: BarmanOptions) => `Barman server ${options.server}${options.config ? ` of ${options.config}` : ''}`

function common(options: BarmanOptions): string[] {
  return options.config ? ['-c', options.config] : []
}

function barmanFailure(
  run: RunContext,
  command: string,
  done: { exitCode: number | null; stderr: string; stdout: string },
  options: BarmanOptions
): VerificationError {
  const said = toolComplaint(run, { ...done, signal: null }).replace(/\{"_ERROR": \[(.*)\]\}/, '$1')
  const config = options.config ? `the configuration ${options.config}` : "Barman's configuration"
  if (/Unknown backup/i.test(said)) {
    return new VerificationError(
      'backup-missing',
      `${where(options)} has no such backup: ${said}`,
      'Set backup-set to an id barman list-backups shows, or leave it empty for the newest.'
    )
  }
  let hint = `Check ${config} and that the runner runs as its barman_user and may read barman_home.`
  if (/Unknown server/i.test(said)) hint = `Check barman-server (${options.server}) against the [sections] of ${config}.`
  else if (/Configuration file .* does not exist|No section: 'barman'/i.test(said))
    hint = `Check that ${config} exists, is readable by the runner and has a [barman] section.`
  return new VerificationError(
    'repository-unreadable',
    `barman ${command} failed for ${where(options)} (exit ${done.exitCode}): ${said}`,
    hint
  )
}

/** Barman's JSON for this server, or its own error. */
async function barmanJson<T>(run: RunContext, tool: RepositoryTool, options: BarmanOptions, args: string[]): Promise<T> {
  const done = await runRepositoryTool(run, tool, [...common(options), '-f', 'json', ...args], 10 * 60_000)
  let parsed: Record<string, unknown> | undefined
  try {
    parsed = JSON.parse(done.stdout) as Record<string, unknown>
  } catch {
    parsed = undefined
  }
  if (done.exitCode !== 0 || !parsed || '_ERROR' in parsed || !(options.server in parsed)) throw barmanFailure(run, args[0], done, options)
  return parsed[options.server] as T
}

const fromSeconds = (text: string | undefined) => new Date(Number(text ?? Number.NaN) * 1000)

async function listBackups(run: RunContext, tool: RepositoryTool, options: BarmanOptions): Promise<RepositoryBackup[]> {
  const listed = await barmanJson<ListedBackup[]>(run, tool, options, ['list-backups', options.server])
  // Only finished backups restore: a running or failed one is not a candidate.
  const done = listed.filter((backup) => backup.backup_id && backup.status === 'DONE')
  return Promise.all(done.map((backup) => showBackup(run, tool, options, backup.backup_id!)))
}

async function showBackup(run: RunContext, tool: RepositoryTool, options: BarmanOptions, id: string): Promise<RepositoryBackup> {
  const shown = await barmanJson<ShownBackup>(run, tool, options, ['show-backup', options.server, id])
  const base = shown.base_backup_information ?? {}
  return {
    label: shown.backup_id ?? id,
    type: 'full',
    startedAt: fromSeconds(base.begin_time_timestamp),
    stoppedAt: fromSeconds(base.end_time_timestamp),
    sizeBytes: base.disk_usage_bytes,
    repositoryBytes: base.disk_usage_with_wals_bytes,
    wal: { start: base.begin_wal, stop: base.end_wal },
    lsn: { start: base.begin_lsn, stop: base.end_lsn },
    major: shown.postgresql_version ? Math.floor(shown.postgresql_version / 10000) : Number.NaN
  }
}

/** Where Barman keeps the server's base backups (show-server's basebackups_directory). */
async function backupsDirectory(run: RunContext, tool: RepositoryTool, options: BarmanOptions): Promise<string | undefined> {
  const shown = await barmanJson<{ basebackups_directory?: string }>(run, tool, options, ['show-server', options.server]).catch(
    () => undefined
  )
  return shown?.basebackups_directory
}

/**
 * check-backup (the WAL from the backup's start to its end is in the archive) and verify-backup
 * (pg_verifybackup: every file against the backup's manifest, when it has one).
 */
async function checkBackup(
  run: RunContext,
  tool: RepositoryTool,
  options: BarmanOptions,
  backup: RepositoryBackup,
  /** pg_verifybackup of the backup's major, when Barman's path_prefix lacks it. */
  binaries: string
): Promise<{ passed: boolean; detail: string }> {
  const wal = await runRepositoryTool(run, tool, [...common(options), 'check-backup', options.server, backup.label], 10 * 60_000)
  if (wal.exitCode !== 0) return { passed: false, detail: `barman check-backup: ${toolComplaint(run, wal)}` }
  const env = { ...tool.env, PATH: `${tool.env.PATH ?? ''}${path.delimiter}${binaries}` }
  const files = await runRepositoryTool(run, { ...tool, env }, [...common(options), 'verify-backup', options.server, backup.label])
  const said = toolComplaint(run, files)
  if (files.exitCode !== 0) {
    // A backup without a manifest (taken with rsync, or from PostgreSQL 12 and older) cannot be verified file by file.
    if (
      /backup_manifest|manifest.*not found|No such file/i.test(said) &&
      !/present in the manifest|checksum mismatch|not on disk/i.test(said)
    ) {
      return { passed: true, detail: `barman check-backup: the WAL it needs is in the archive; verify-backup did not run (${said})` }
    }
    return { passed: false, detail: `barman verify-backup: ${said}` }
  }
  return { passed: true, detail: 'barman check-backup: the WAL it needs is in the archive; verify-backup: every file as its manifest says' }
}

/** The SHA-256 of the backup's manifest (backup_manifest), else of its backup.info. */
async function identity(run: RunContext, tool: RepositoryTool, options: BarmanOptions, backup: RepositoryBackup): Promise<string> {
  const directory = await backupsDirectory(run, tool, options)
  const candidates = directory
    ? [path.join(directory, backup.label, 'data', 'backup_manifest'), path.join(directory, backup.label, 'backup.info')]
    : []
  for (const file of candidates) {
    if (!existsSync(file)) continue
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex')
  }
  // No file to read (a remote barman_home): the backup's own coordinates name it.
  return createHash('sha256').update(`barman:${options.server}:${backup.label}:${backup.lsn.start}:${backup.lsn.stop}`).digest('hex')
}

/** barman recover into an empty folder: with a target, the WAL it needs goes to barman_wal beside the files. */
async function recover(
  run: RunContext,
  tool: RepositoryTool,
  options: BarmanOptions,
  backup: RepositoryBackup,
  dataDirectory: string
): Promise<string | undefined> {
  const target = options.target?.time
    ? [`--target-time=${options.target.time}`]
    : options.target?.lsn
      ? [`--target-lsn=${options.target.lsn}`]
      : []
  run.log(`Running barman recover ${options.server} ${backup.label}${target.length ? ` ${target.join(' ')}` : ''}`)
  const done = await runRepositoryTool(run, tool, [...common(options), 'recover', ...target, options.server, backup.label, dataDirectory])
  if (done.exitCode !== 0) throw barmanFailure(run, 'recover', done, options)
  const walFolder = path.join(dataDirectory, 'barman_wal')
  return existsSync(walFolder) ? walFolder : undefined
}

export function barmanAccess(run: RunContext, tool: RepositoryTool, options: BarmanOptions): RepositoryAccess {
  return {
    tool,
    name: options.server,
    where: where(options),
    backups: () => listBackups(run, tool, options),
    check: (backup, binaries) => checkBackup(run, tool, options, backup, binaries),
    identity: (backup) => identity(run, tool, options, backup),
    async restore(backup, dataDirectory) {
      const walArchive = await recover(run, tool, options, backup, dataDirectory)
      // Without a target, the WAL is in pg_wal and the copy recovers to its end as after a crash.
      return { walArchive }
    }
  }
}
