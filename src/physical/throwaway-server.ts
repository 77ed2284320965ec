// A throwaway PostgreSQL server on a copy of a physical backup: a free loopback port and a socket in
// the run's folder, no TCP listener at all, no archiving, no replication connections, small memory,
// trust only over its own private socket. Recovery to the end of the WAL (or to a target), then
// promoted. Run as an unprivileged account when the runner is root (PostgreSQL refuses root).

import { spawn } from 'node:child_process'
import { chmod, mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import path from 'node:path'
import type pg from 'pg'
import { VerificationError } from '../run/errors.js'
import { lineSplitter } from '../tools/process.js'
import { scrubbedEnvironment } from '../connection/environment.js'
import { chownTree, commandWord, connectSocket, freePort, stopServer, unprivilegedAccount } from '../server/process.js'

interface RecoveryTarget {
  time?: string
  lsn?: string
}

export interface StartOptions {
  postgres: string
  dataDirectory: string
  /** The run's folder for this server: its configuration and socket go here. */
  folder: string
  walArchive?: string
  /** The copy's restore_command, when a tool fetches its WAL (pgbackrest archive-get); wins over walArchive. */
  restoreCommand?: string
  target?: RecoveryTarget
  signal: AbortSignal
  timeoutMs: number
  /** Each line the server logs. */
  onLine?: (line: string) => void
  /** What the run says about the copy's settings. */
  log?: (message: string) => void
  /** Called with the pid as soon as the server runs (for the cleanup ledger). */
  onStarted?: (pid: number) => void
  /** The WAL segment backup_label says the backup starts in: named when recovery cannot find its checkpoint. */
  startSegment?: string
}

export interface RecoveryFacts {
  redoStart?: string
  redoDone?: string
  consistentAt?: string
  /** The timeline the copy ended on (a new one when it was promoted after archive recovery). */
  timeline?: number
  segmentsRestored: number
  /** From the server's start to accepting connections. */
  millisecondsToConsistent: number
  targetReached?: string
  /** The time of the last transaction recovery replayed (pg_last_xact_replay_timestamp): how new the copy's newest data is. */
  lastReplayedCommit?: string
}

export interface ThrowawayServer {
  socketDirectory: string
  port: number
  pid: number
  facts: RecoveryFacts
  connect(database: string, user: string): Promise<pg.Client>
  superuser: string
  stop(): Promise<void>
}

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`

/**
 * Settings a backup's configuration may hold that this runner cannot honour, or that would act
 * outside the copy: each safe to override on a throwaway copy, and why.
 */
const RUNNER_OVERRIDES: Record<string, string> = {
  huge_pages: 'off',
  shared_preload_libraries: '',
  session_preload_libraries: '',
  local_preload_libraries: '',
  lc_messages: 'C',
  unix_socket_group: '',
  external_pid_file: '',
  recovery_end_command: '',
  archive_cleanup_command: '',
  default_transaction_read_only: 'off'
}

const OVERRIDE_REASONS: Record<string, string> = {
  huge_pages: 'the runner may have no huge pages',
  shared_preload_libraries: 'the runner may lack the libraries; none is needed to check the copy',
  session_preload_libraries: 'the runner may lack the libraries',
  local_preload_libraries: 'the runner may lack the libraries',
  unix_socket_group: 'the group may not exist on the runner',
  external_pid_file: 'the path is outside the copy',
  recovery_end_command: "a command for the backup's own host",
  archive_cleanup_command: "a command for the backup's own host",
  default_transaction_read_only: 'amcheck installs its extension in the copy'
}

/** One `name = value` line of a configuration file, comments and quotes as PostgreSQL reads them. */
function readAssignment(line: string): { name: string; value: string } | undefined {
  const match = /^\s*([A-Za-z_][\w.]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#]*)/.exec(line)
  if (!match || match[1] === 'include' || match[1] === 'include_dir' || match[1] === 'include_if_exists') return undefined
  return { name: match[1].toLowerCase(), value: match[2] }
}

const unquoted = (value: string) => (value.startsWith("'") ? value.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1') : value)

/**
 * What the backup's own configuration files set that the copy runs otherwise (see RUNNER_OVERRIDES),
 * the last assignment of each file winning, as in PostgreSQL: one sentence each.
 */
function overriddenSettings(files: Array<{ name: string; text: string }>): string[] {
  const said: string[] = []
  for (const { name: file, text } of files) {
    const last = new Map<string, string>()
    for (const line of text.split('\n')) {
      const assignment = readAssignment(line)
      if (assignment && assignment.name in RUNNER_OVERRIDES) last.set(assignment.name, assignment.value)
    }
    for (const [name, value] of last) {
      const forced = RUNNER_OVERRIDES[name]
      // lc_messages only changes the language of the log, which the run reads: not worth a line.
      if (!OVERRIDE_REASONS[name] || unquoted(value).toLowerCase() === forced.toLowerCase()) continue
      said.push(`The backup's ${file} sets ${name} = ${value}: the copy runs with ${name} = '${forced}' (${OVERRIDE_REASONS[name]}).`)
    }
  }
  return said
}

/** The settings that make the copy harmless, given on the command line so that nothing in the backup overrides them. */
function serverSettings(options: StartOptions, socketDirectory: string, port: number, hba: string, ident: string, config: string) {
  const settings: Record<string, string> = {
    config_file: config,
    hba_file: hba,
    ident_file: ident,
    port: String(port),
    listen_addresses: '',
    unix_socket_directories: socketDirectory,
    unix_socket_permissions: '0700',
    archive_mode: 'off',
    max_wal_senders: '0',
    max_replication_slots: '0',
    hot_standby: 'off',
    ssl: 'off',
    shared_buffers: '32MB',
    max_connections: '20',
    logging_collector: 'off',
    log_destination: 'stderr',
    log_min_messages: 'info',
    log_checkpoints: 'off',
    synchronous_standby_names: '',
    primary_conninfo: '',
    primary_slot_name: '',
    cluster_name: 'backup-verify',
    recovery_target_action: 'promote',
    // A delayed standby's setting would hold the replay back for hours.
    recovery_min_apply_delay: '0',
    ...RUNNER_OVERRIDES
  }
  settings.restore_command = options.restoreCommand ?? (options.walArchive ? restoreCommand(options.walArchive) : '')
  if (options.target?.time) settings.recovery_target_time = options.target.time
  if (options.target?.lsn) settings.recovery_target_lsn = options.target.lsn
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])
}

/** cp from the archive: the folder one word for the shell (commandWord), the segment's name after it. */
export function restoreCommand(archive: string): string {
  return `cp ${commandWord(archive)}/%f "%p"`
}

/** The run's configuration file for the server: it includes the backup's postgresql.conf, nothing more. */
const ownConfigFile = (folder: string) => path.join(folder, 'conf', 'postgresql.conf')

export async function startThrowawayServer(options: StartOptions): Promise<ThrowawayServer> {
  const socketDirectory = path.join(options.folder, 'socket')
  const configuration = path.join(options.folder, 'conf')
  await mkdir(socketDirectory, { recursive: true, mode: 0o700 })
  await mkdir(configuration, { recursive: true, mode: 0o700 })
  const hba = path.join(configuration, 'pg_hba.conf')
  const ident = path.join(configuration, 'pg_ident.conf')
  const config = ownConfigFile(options.folder)
  // Only this private socket, and only local connections: trust is safe there, and no password is needed.
  await writeFile(hba, 'local all all trust\n')
  await writeFile(ident, '')
  await writeFile(config, `include_if_exists ${quote(path.join(options.dataDirectory, 'postgresql.conf'))}\n`)
  // Archive recovery (a WAL archive or a target) needs recovery.signal; otherwise crash recovery
  // from backup_label replays the WAL the backup holds, to the end.
  const archiveRecovery = Boolean(options.walArchive || options.restoreCommand || options.target?.time || options.target?.lsn)
  if (archiveRecovery) await writeFile(path.join(options.dataDirectory, 'recovery.signal'), '')
  // A copy of a running primary's pid file, or a standby's signal, would stop or change the start.
  for (const stale of ['postmaster.pid', 'standby.signal']) await rm(path.join(options.dataDirectory, stale), { force: true })
  const files = await Promise.all(
    ['postgresql.conf', 'postgresql.auto.conf'].map(async (name) => ({
      name,
      text: await readFile(path.join(options.dataDirectory, name), 'utf8').catch(() => '')
    }))
  )
  for (const sentence of overriddenSettings(files)) options.log?.(sentence)
  const account = await unprivilegedAccount()
  if (account) {
    // The account must pass through the run's folder (0700, root's) to reach its own; 0711 lets it
    // through without listing it (password files stay 0600, root's).
    await chmod(path.dirname(options.folder), 0o711)
    await chownTree(options.folder, account.uid, account.gid)
    await chownTree(options.dataDirectory, account.uid, account.gid)
    // A tablespace lives beside the data directory, behind its link in pg_tblspc.
    for (const link of await readdir(path.join(options.dataDirectory, 'pg_tblspc')).catch(() => [])) {
      const target = await realpath(path.join(options.dataDirectory, 'pg_tblspc', link)).catch(() => undefined)
      if (target) await chownTree(target, account.uid, account.gid)
    }
  }
  await chmod(options.dataDirectory, 0o700)
  const port = await freePort()
  const started = Date.now()
  const log: string[] = []
  const facts: RecoveryFacts = { segmentsRestored: 0, millisecondsToConsistent: 0 }
  const child = spawn(
    options.postgres,
    ['-D', options.dataDirectory, ...serverSettings(options, socketDirectory, port, hba, ident, config)],
    {
      env: { ...scrubbedEnvironment(process.env), LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
      windowsHide: true
    }
  )
  const lines = lineSplitter((line) => {
    log.push(line)
    if (log.length > 5000) log.splice(0, log.length - 5000)
    readFact(line, facts)
    options.onLine?.(line)
  })
  child.stdout.setEncoding('utf8').on('data', (text: string) => lines.push(text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => lines.push(text))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.on('error', () => {})
  if (child.pid) options.onStarted?.(child.pid)
  const stop = () => stopServer(child, exited)
  try {
    // The bootstrap superuser is named after whoever ran initdb: postgres, as a rule.
    const users = [...new Set([account?.name, 'postgres', userInfo().username].filter((name): name is string => Boolean(name)))]
    const client = await waitUntilPromoted(options, socketDirectory, port, users, exited, log, facts)
    facts.millisecondsToConsistent = Date.now() - started
    const user = await client.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE oid = 10').then((r) => r.rows[0].name)
    const timeline = await client.query<{ timeline: number }>('SELECT timeline_id AS timeline FROM pg_control_checkpoint()')
    facts.timeline = Number(timeline.rows[0].timeline)
    const replayed = await client.query<{ at: Date | null }>('SELECT pg_last_xact_replay_timestamp() AS at')
    if (replayed.rows[0].at) facts.lastReplayedCommit = new Date(replayed.rows[0].at).toISOString()
    await client.end().catch(() => {})
    return {
      socketDirectory,
      port,
      pid: child.pid ?? 0,
      facts,
      superuser: user,
      connect: (database, as) => connectSocket(socketDirectory, port, database, as),
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}

function readFact(line: string, facts: RecoveryFacts): void {
  let match: RegExpExecArray | null
  if ((match = /redo starts at ([0-9A-F]+\/[0-9A-F]+)/.exec(line))) facts.redoStart = match[1]
  else if ((match = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(line))) facts.redoDone = match[1]
  else if ((match = /consistent recovery state reached at ([0-9A-F]+\/[0-9A-F]+)/.exec(line))) facts.consistentAt = match[1]
  else if (/restored log file "[0-9A-F]{24}" from archive/.test(line)) facts.segmentsRestored++
  else if ((match = /recovery stopping (.+)$/.exec(line))) facts.targetReached = match[1]
}

/** Waits for the copy to accept connections as a primary; a server that exits says why in its log. */
async function waitUntilPromoted(
  options: StartOptions,
  socketDirectory: string,
  port: number,
  users: string[],
  exited: Promise<number | null>,
  log: string[],
  facts: RecoveryFacts
): Promise<pg.Client> {
  const deadline = Date.now() + options.timeoutMs
  let gone: number | null | undefined
  void exited.then((code) => (gone = code))
  while (true) {
    if (options.signal.aborted) throw options.signal.reason
    if (gone !== undefined) throw recoveryFailure(log, facts, gone, options)
    if (Date.now() > deadline) {
      throw new VerificationError(
        'restore-failed',
        `The restored copy did not reach a consistent state within ${Math.round(options.timeoutMs / 1000)} s (last log line: ${log.at(-1) ?? 'none'}).`,
        'A large backup or a long WAL replay needs more time: raise timeout.'
      )
    }
    for (const user of users) {
      // Not up yet, or no such role: try again, or the next name.
      const client = await connectSocket(socketDirectory, port, 'template1', user).catch(() => undefined)
      if (!client) continue
      const recovering = await client
        .query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering')
        .then((r) => r.rows[0].recovering)
        .catch(() => true)
      if (!recovering) return client
      await client.end().catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Why the copy did not come up, from its log: a missing WAL segment named, or the server's own words. */
function recoveryFailure(log: string[], facts: RecoveryFacts, code: number | null, options: StartOptions): VerificationError {
  const startSegment = options.startSegment
  const refused = refusedSetting(log, options.dataDirectory, ownConfigFile(options.folder))
  if (refused) return refused
  const fatal = log.filter((line) => /\b(FATAL|PANIC)\b/.test(line))
  const said = (fatal.length > 0 ? fatal : log.slice(-3)).slice(-3).map((line) => line.replace(/^.*?(FATAL|PANIC|LOG|ERROR):\s*/, '$1: '))
  const missing = log
    .map((line) => /could not open file "(?:[^"]*\/)?([0-9A-F]{24})"|WAL file "?([0-9A-F]{24})"? (?:not found|is missing)/.exec(line))
    .find(Boolean)
  // What the command that fetches WAL said (pgbackrest archive-get prints "ERROR: [037]: ..."), apart from the server's lines.
  const fetching = log.filter((line) => /^(ERROR|WARN): \[\d+\]/.test(line.trim())).slice(-2)
  if (log.some((line) => /recovery ended before configured recovery target was reached/.test(line))) {
    const target = options.target?.time ? `time ${options.target.time}` : `WAL location ${options.target?.lsn}`
    return new VerificationError(
      'restore-failed',
      `Recovery replayed every WAL segment it could fetch${facts.segmentsRestored ? ` (${facts.segmentsRestored} from the archive)` : ''} and ended before the recovery target (${target}): ` +
        `the archive holds nothing written after it${fetching.length ? `. Fetching WAL said: ${fetching.join(' | ')}` : ''}.`,
      'Choose a target the archive has passed (a commit after it must be archived), or leave the recovery target empty to recover to the end of the archive.'
    )
  }
  if (log.some((line) => /WAL ends before (consistent recovery point|end of online backup)/.test(line))) {
    const segment = missing?.[1] ?? missing?.[2]
    return new VerificationError(
      'restore-failed',
      `Recovery could not reach a consistent state: the WAL ends before the end of the backup${segment ? `; segment ${segment} is missing` : ''}` +
        `${facts.redoStart ? ` (redo started at ${facts.redoStart})` : ''}. The server said: ${said.join(' | ')}`,
      'The backup needs all WAL from its start to its end: take it with -X stream (the default), or give wal-archive the folder of archived segments.'
    )
  }
  if (log.some((line) => /could not (locate|find) (required|a valid) checkpoint record/.test(line))) {
    return new VerificationError(
      'restore-failed',
      `Recovery could not start: the checkpoint the backup begins at is not in its WAL` +
        `${startSegment ? `; segment ${startSegment} (backup_label's START WAL LOCATION) is missing` : ''}. The server said: ${said.join(' | ')}`,
      'The backup needs all WAL from its start to its end: take it with -X stream (the default), or give wal-archive the folder of archived segments.'
    )
  }
  return new VerificationError(
    'restore-failed',
    `The restored copy did not start (the server exited with code ${code}): ${[...said, ...fetching].join(' | ') || 'no log'}`,
    "The log above has the server's own account (verbose: true shows every line)."
  )
}

/** A path in the copy as the user knows it: the file of the backup. */
function inBackup(file: string, dataDirectory: string): string {
  const relative = path.relative(dataDirectory, file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : `the backup's ${relative.split(path.sep).join('/')}`
}

/**
 * A setting of the backup's configuration files the server refused. The server checks every value
 * in its files even where the command line overrides it, so such a setting cannot be forced.
 */
function refusedSetting(log: string[], dataDirectory: string, ownConfig: string): VerificationError | undefined {
  const strip = (line: string) => line.replace(/^.*?(LOG|FATAL|ERROR|DETAIL|HINT):\s*/, '')
  const first = (pattern: RegExp) => log.map((line) => pattern.exec(line)?.[1]).find((found): found is string => Boolean(found))
  const containing = first(/configuration file "([^"]+)" contains errors/)
  const missingInclude = first(/could not open configuration (?:file|directory) "([^"]+)"/)
  if (!containing && !missingInclude) return undefined
  // The run's own configuration file only includes the backup's: an error the server puts there is in that one.
  const file = inBackup(
    containing === ownConfig ? path.join(dataDirectory, 'postgresql.conf') : (containing ?? missingInclude!),
    dataDirectory
  )
  const said = log
    .filter((line) =>
      /invalid value for parameter|unrecognized configuration parameter|syntax error in file|could not open configuration|is outside the valid range|parameter ".*" requires/.test(
        line
      )
    )
    .map(strip)
    .map((line) => line.replaceAll(`${dataDirectory}${path.sep}`, "the backup's "))
  const names = [...new Set(said.map((line) => /parameter "([^"]+)"/.exec(line)?.[1]).filter((name): name is string => Boolean(name)))]
  const what =
    names.length > 0
      ? names.join(', ')
      : missingInclude
        ? `the include of ${inBackup(missingInclude, dataDirectory)} (not on this runner)`
        : 'a line'
  return new VerificationError(
    'restore-failed',
    `The restored copy did not start: the server refuses ${what} in ${file} on this runner` +
      `${said.length > 0 ? ` (${said.slice(0, 5).join('; ')})` : ''}. It cannot be overridden: the server checks every line of its ` +
      'configuration files, even a setting the command line replaces.',
    `Install what ${names.length > 0 ? 'the setting needs' : 'it names'} on the runner (a locale: locale-gen; a time zone; the file), or change ` +
      `${names[0] ?? 'the line'} in ${file.replace(/^the backup's /, '')} on the source (ALTER SYSTEM, for postgresql.auto.conf) before the next backup.`
  )
}
