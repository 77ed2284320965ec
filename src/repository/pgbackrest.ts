// pgBackRest as a run uses it: the stanza's info, its own verify, the chosen backup's manifest, and
// the restore into the run's private folder with archiving off, so the copy never writes to the
// repository. Options go on the command line; the repository's secrets stay in the environment.

import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PGBACKREST_VARIABLE } from '../connection/environment.js'
import { commandWord } from '../server/process.js'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import { parseStanzaInfo, type StanzaInfo } from './pgbackrest-info.js'
import { walGaps } from './wal-continuity.js'
import type { RepositoryAccess } from './access.js'
import type { RepositoryBackup } from './repository-backup.js'
import { runRepositoryTool, toolComplaint, type RepositoryTool } from './repository-tool.js'

export interface StanzaOptions {
  stanza: string
  /** pgbackrest.conf, when named; else pgBackRest's own search. */
  config?: string
  /** A folder of the run's own for pgBackRest's lock files (its default, /tmp/pgbackrest, may belong to another user). */
  lockFolder: string
}

/** The options every command takes: the stanza, the configuration, no log file. */
function common(options: StanzaOptions): string[] {
  return [
    `--stanza=${options.stanza}`,
    ...(options.config ? [`--config=${options.config}`] : []),
    '--log-level-file=off',
    '--log-level-stderr=off',
    '--log-level-console=warn'
  ]
}

/** Where the messages say the stanza is. */
function describeStanza(options: StanzaOptions): string {
  return `stanza ${options.stanza}${options.config ? ` of ${options.config}` : ''}`
}

function repositoryFailure(
  run: RunContext,
  command: string,
  done: { exitCode: number | null; stderr: string; stdout: string },
  options: StanzaOptions
): VerificationError {
  const said = toolComplaint(run, { ...done, signal: null })
  const config = options.config ? `the configuration ${options.config}` : "pgBackRest's configuration"
  let hint = `Check ${config}: the repository it names, and that the runner may read it (object-store credentials and the passphrase go in PGBACKREST_* environment variables).`
  if (/requires option: repo\d+-cipher-pass/.test(said))
    hint = 'The repository is encrypted: give its passphrase in the PGBACKREST_REPO1_CIPHER_PASS environment variable (from a secret).'
  else if (/\.conf'? for read|missing file '[^']*\.conf'/i.test(said)) hint = `Check that ${config} exists and that the runner may read it.`
  else if (/\[055\]|unable to load info file/i.test(said))
    hint = `Check pgbackrest-stanza (${options.stanza}): ${config} names no repository that holds it, or the runner cannot read that repository.`
  return new VerificationError(
    'repository-unreadable',
    `pgbackrest ${command} failed for ${describeStanza(options)} (exit ${done.exitCode}): ${said}`,
    hint
  )
}

async function readStanzaInfo(run: RunContext, tool: RepositoryTool, options: StanzaOptions): Promise<StanzaInfo> {
  const done = await runRepositoryTool(run, tool, [...common(options), '--output=json', 'info'], 10 * 60_000)
  if (done.exitCode !== 0) throw repositoryFailure(run, 'info', done, options)
  return parseStanzaInfo(done.stdout, options.stanza, describeStanza(options))
}

/**
 * pgbackrest verify: every file of every backup and every archived segment against its checksum.
 * It exits 0 whatever it finds and says it only in its text report ("status: error", a backup's
 * "status: invalid" with its counts); it does not notice a segment missing from the archive (see
 * walGaps).
 */
async function verifyStanza(run: RunContext, tool: RepositoryTool, options: StanzaOptions): Promise<{ passed: boolean; detail: string }> {
  const done = await runRepositoryTool(run, tool, [...common(options), '--output=text', '--verbose', 'verify'])
  const lines = `${done.stdout}\n${done.stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  const status = lines.map((line) => /^status: (\w+)/.exec(line)?.[1]).find(Boolean)
  const said = (text: string) => run.redactor.redact(text)
  if (done.exitCode !== 0 || status === undefined) {
    return { passed: false, detail: said(`pgbackrest verify did not report (exit ${done.exitCode}): ${toolComplaint(run, done)}`) }
  }
  // A backup or archive line, with the counts on the line after it that are not zero.
  const findings: string[] = []
  lines.forEach((line, index) => {
    if (!/^(backup|archiveId):/.test(line)) return
    const counts = (lines[index + 1] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => /^[a-z ]+: [1-9]\d*$/.test(part))
    if (/status: invalid/.test(line) || counts.length > 0) findings.push(`${line}${counts.length ? ` (${counts.join(', ')})` : ''}`)
  })
  const problems = lines.filter((line) => /^(No usable|ERROR|WARN)/.test(line))
  if (status !== 'ok' || findings.length > 0) {
    return {
      passed: false,
      detail: said(
        `pgbackrest verify: status ${status}; ${[...findings, ...problems].slice(0, 8).join('; ') || lines.join(' | ').slice(0, 600)}`
      )
    }
  }
  const backups = lines.filter((line) => /^backup:/.test(line)).length
  const wal = lines
    .map((line) => /total valid WAL: (\d+)/.exec(line)?.[1])
    .filter(Boolean)
    .map(Number)
    .reduce((sum, count) => sum + count, 0)
  return { passed: true, detail: `pgbackrest verify: ${backups} backup(s) and ${wal} WAL segment(s) match their checksums` }
}

/** The segments an archive of the stanza holds (repo-ls: the names, whatever compression or cipher the repository uses). */
async function archivedSegments(run: RunContext, tool: RepositoryTool, options: StanzaOptions, archiveId: string): Promise<string[]> {
  const done = await runRepositoryTool(
    run,
    tool,
    [...common(options), '--recurse', '--output=json', 'repo-ls', `archive/${options.stanza}/${archiveId}`],
    10 * 60_000
  )
  if (done.exitCode !== 0) throw repositoryFailure(run, 'repo-ls', done, options)
  let listed: Record<string, { type?: string }>
  try {
    listed = JSON.parse(done.stdout) as Record<string, { type?: string }>
  } catch {
    throw repositoryFailure(run, 'repo-ls', { ...done, stderr: `not JSON: ${done.stdout.slice(0, 200)}` }, options)
  }
  return Object.entries(listed)
    .filter(([, entry]) => entry.type === 'file')
    .map(([name]) => /^([0-9A-F]{24})(-[0-9a-f]{40})?(\.[a-z0-9]+)?$/.exec(path.basename(name))?.[1])
    .filter((name): name is string => name !== undefined)
}

/**
 * The stanza's own verify (when asked for), then what it does not check: that the archive holds
 * every segment from the backup's start on. A hole fails, named.
 */
async function checkStanza(
  run: RunContext,
  tool: RepositoryTool,
  options: StanzaOptions,
  verify: boolean,
  backup: RepositoryBackup
): Promise<{ passed: boolean; detail: string }> {
  const verified = verify ? await verifyStanza(run, tool, options) : undefined
  if (verified && !verified.passed) return verified
  const continuity =
    backup.archiveId && backup.wal.start ? walGaps(await archivedSegments(run, tool, options, backup.archiveId), backup.wal.start) : []
  const said = verified ? `${verified.detail}; ` : 'pgbackrest verify not run (pgbackrest-verify: false); '
  if (continuity.length > 0) {
    return {
      passed: false,
      detail:
        `${said}the WAL archive ${backup.archiveId} lacks ${continuity.length} segment(s) after the backup's start ${backup.wal.start}: ` +
        `${continuity.slice(0, 10).join(', ')}${continuity.length > 10 ? ', ...' : ''} (recovery would stop at the first, as if the archive ended there)`
    }
  }
  return { passed: true, detail: `${said}the WAL archive holds every segment from ${backup.wal.start ?? "the backup's start"} on` }
}

/** The SHA-256 of the backup's manifest (each file's size and checksum): the backup's identity in the receipt and the checksum output. */
async function manifestChecksum(run: RunContext, tool: RepositoryTool, options: StanzaOptions, backup: RepositoryBackup): Promise<string> {
  const file = `backup/${options.stanza}/${backup.label}/backup.manifest`
  const hash = createHash('sha256')
  const done = await runRepositoryTool(run, tool, [...common(options), 'repo-get', file], 10 * 60_000)
  if (done.exitCode !== 0 || done.stdout === '') throw repositoryFailure(run, `repo-get ${file}`, done, options)
  hash.update(done.stdout)
  return hash.digest('hex')
}

/**
 * pgbackrest restore of the backup into an empty folder of the run's, archiving off in what it
 * writes, the recovery left to the run's server (its target, its restore_command).
 */
async function restoreBackup(
  run: RunContext,
  tool: RepositoryTool,
  options: StanzaOptions,
  backup: RepositoryBackup,
  dataDirectory: string
): Promise<void> {
  // type none: no recovery settings of pgBackRest's; the run's server recovers with its own (restore_command, target).
  const args = [
    ...common(options),
    `--lock-path=${options.lockFolder}`,
    `--pg1-path=${dataDirectory}`,
    `--set=${backup.label}`,
    '--archive-mode=off',
    '--type=none',
    'restore'
  ]
  await mkdir(options.lockFolder, { recursive: true, mode: 0o700 })
  await mkdir(dataDirectory, { recursive: true, mode: 0o700 })
  run.log(`Running pgbackrest restore --set=${backup.label} --archive-mode=off into ${path.basename(dataDirectory)}`)
  const done = await runRepositoryTool(run, tool, args)
  if (done.exitCode !== 0) throw repositoryFailure(run, 'restore', done, options)
}

/** Options only a command line (or the environment) can give: never written into a configuration file. */
const COMMAND_LINE_ONLY = /^(config|config-path|config-include-path|stanza)$/

/**
 * The options the environment gives pgBackRest (PGBACKREST_REPO1_CIPHER_PASS → repo1-cipher-pass),
 * as the lines of a configuration file's [global] section.
 */
export function environmentOptions(env: NodeJS.ProcessEnv): string[] {
  const lines: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (!PGBACKREST_VARIABLE.test(name) || !value) continue
    const option = name.replace(PGBACKREST_VARIABLE, '').toLowerCase().replace(/_/g, '-')
    // A value on several lines would write lines of its own into the file: left to the environment's readers.
    if (COMMAND_LINE_ONLY.test(option) || !/^[a-z0-9-]+$/.test(option) || /[\r\n]/.test(value)) continue
    lines.push(`${option}=${value}`)
  }
  return lines
}

/**
 * The copy's restore_command: pgbackrest archive-get as the server's account runs it. What the
 * environment gives pgBackRest (the passphrase, object-store keys) goes into a file of the run's
 * own, readable by that account alone, and never into the server's environment or an argv.
 */
async function archiveGetCommand(
  tool: RepositoryTool,
  options: StanzaOptions,
  dataDirectory: string,
  privateFolder: string
): Promise<string> {
  const includes = path.join(privateFolder, 'conf.d')
  const locks = path.join(privateFolder, 'lock')
  await mkdir(includes, { recursive: true, mode: 0o700 })
  await mkdir(locks, { recursive: true, mode: 0o700 })
  const lines = environmentOptions(tool.env)
  if (lines.length > 0) await writeFile(path.join(includes, 'environment.conf'), `[global]\n${lines.join('\n')}\n`, { mode: 0o600 })
  return [
    commandWord(tool.executable),
    `--stanza=${options.stanza}`,
    ...(options.config ? [`--config=${commandWord(options.config)}`] : []),
    ...(lines.length > 0 ? [`--config-include-path=${commandWord(includes)}`] : []),
    `--pg1-path=${commandWord(dataDirectory)}`,
    `--lock-path=${commandWord(locks)}`,
    '--no-archive-async',
    '--log-level-file=off',
    '--log-level-console=off',
    '--log-level-stderr=warn',
    'archive-get',
    '%f',
    '"%p"'
  ].join(' ')
}

/** A pgBackRest stanza as a run reads it (see access.ts). */
export function pgBackRestAccess(run: RunContext, tool: RepositoryTool, options: StanzaOptions, verify: boolean): RepositoryAccess {
  return {
    tool,
    name: options.stanza,
    where: `pgBackRest ${describeStanza(options)}`,
    backups: async () => (await readStanzaInfo(run, tool, options)).backups,
    check: (backup) => checkStanza(run, tool, options, verify, backup),
    identity: (backup) => manifestChecksum(run, tool, options, backup),
    async restore(backup, dataDirectory, privateFolder) {
      await restoreBackup(run, tool, options, backup, dataDirectory)
      return { restoreCommand: await archiveGetCommand(tool, options, dataDirectory, privateFolder) }
    }
  }
}
