// A Barman lab for the tests: a source server streaming its WAL to Barman (backup_method = postgres,
// streaming_archiver = on, a replication slot, `barman receive-wal` in the background), with the
// whole Barman configuration, home, log and locks in one temporary folder, so that `barman -c
// <config> backup` / `recover` work without ssh and without touching /etc/barman.conf.
//
// Barman runs as whoever runs the tests (barman_user is set to that account; as root, barman
// allows root). The password reaches libpq through a .pgpass file in the lab folder (PGPASSFILE in
// `env`), never through a conninfo or an argument.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startServer, type TestServer } from './server.js'

/** Where the PostgreSQL 15 binaries are (pg_basebackup, pg_receivewal, pg_verifybackup). */
export const BARMAN_PG_BIN = '/usr/lib/postgresql/15/bin'

export interface BarmanResult {
  status: number | null
  stdout: string
  stderr: string
}

export interface BarmanLab {
  /** The source server the lab backs up. */
  server: TestServer
  /** The Barman server name (the section in the configuration). */
  name: string
  /** The barman.conf of the lab, for `barman -c`. */
  config: string
  /** The lab folder: configuration, barman_home (`home/`), log, locks, .pgpass. */
  folder: string
  /** barman_home: backups are in <home>/<name>/base/<id>/data, WAL in <home>/<name>/wals. */
  home: string
  /** The environment to run barman in (PGPASSFILE set). */
  env: NodeJS.ProcessEnv
  /** Runs `barman -c <config> <args>` and gives back its exit status and output; never throws on a status. */
  barman(args: string[]): Promise<BarmanResult>
  /** Takes a backup (`barman backup --wait`) and gives back its id. */
  backup(): Promise<string>
  /** Folder of a backup's data (PGDATA copy) in barman_home. */
  backupData(id: string): string
  /** Stops receive-wal, the source server, and removes every folder. */
  stop(): Promise<void>
}

export interface BarmanLabOptions {
  /** The Barman server name; `lab` unless told. */
  name?: string
  /** More settings of the source server, as name=value. */
  settings?: string[]
}

/** Escapes a .pgpass field: backslash and colon. */
function pgpassField(value: string): string {
  return value.replace(/[\\:]/g, (character) => `\\${character}`)
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<BarmanResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** Whether a process group still has a member (a zombie counts until it is reaped). */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0)
    return true
  } catch {
    return false
  }
}

async function stopReceiver(child: ChildProcess): Promise<void> {
  const group = child.pid
  if (!group) return
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit')
    // Barman forwards SIGTERM to the pg_receivewal it runs and waits for it.
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  // Anything left in the group (receive-wal was started as its leader, detached).
  for (let tries = 0; groupAlive(group) && tries < 50; tries++) {
    try {
      process.kill(-group, 'SIGKILL')
    } catch {
      // Gone meanwhile.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export async function startBarmanLab(options: BarmanLabOptions = {}): Promise<BarmanLab> {
  const name = options.name ?? 'lab'
  const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-test-barman-'))
  // Readable by others: tests may recover into it and start the copy as the postgres account.
  await chmod(folder, 0o755)
  const home = path.join(folder, 'home')
  const locks = path.join(folder, 'lock')
  const config = path.join(folder, 'barman.conf')
  const passfile = path.join(folder, 'pgpass')
  let server: TestServer | undefined
  let receiver: ChildProcess | undefined
  const stop = async () => {
    if (receiver) await stopReceiver(receiver)
    await server?.stop().catch(() => {})
    await rm(folder, { recursive: true, force: true })
  }
  try {
    await mkdir(home, { mode: 0o755 })
    // Barman does not make the lock directory itself (receive-wal fails with ENOENT on its lock file).
    await mkdir(locks)
    await mkdir(path.join(folder, 'conf.d'))
    server = await startServer({
      settings: ['wal_level=replica', 'max_wal_senders=10', 'max_replication_slots=10', ...(options.settings ?? [])]
    })
    await writeFile(passfile, `127.0.0.1:${server.port}:*:${pgpassField(server.user)}:${pgpassField(server.password)}\n`, { mode: 0o600 })
    const slotName = `barman_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`
    const connection = `host=127.0.0.1 port=${server.port} user=${server.user}`
    await writeFile(
      config,
      [
        '[barman]',
        `barman_user = ${os.userInfo().username}`,
        `barman_home = ${home}`,
        `barman_lock_directory = ${locks}`,
        `log_file = ${path.join(folder, 'barman.log')}`,
        'log_level = INFO',
        // An empty folder, so that the system's /etc/barman.d is not read.
        `configuration_files_directory = ${path.join(folder, 'conf.d')}`,
        '',
        `[${name}]`,
        'description = backup-verify test lab',
        `conninfo = ${connection} dbname=postgres`,
        `streaming_conninfo = ${connection}`,
        'backup_method = postgres',
        'streaming_archiver = on',
        `slot_name = ${slotName}`,
        'archiver = off',
        // Without it a backup waits for a spread checkpoint (over a minute).
        'immediate_checkpoint = true',
        // pg_receivewal, pg_basebackup and pg_verifybackup of the server's major.
        `path_prefix = ${BARMAN_PG_BIN}`,
        ''
      ].join('\n')
    )
    const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: passfile }
    for (const variable of ['PGPASSWORD', 'PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGSERVICE', 'BARMAN_CONFIG_FILE'])
      delete env[variable]
    const barman = (args: string[]) => run('barman', ['-c', config, ...args], env)
    const must = async (args: string[]) => {
      const result = await barman(args)
      if (result.status !== 0) {
        throw new Error(`barman ${args.join(' ')} failed (${result.status}): ${result.stderr.trim() || result.stdout.trim()}`)
      }
      return result
    }

    await must(['receive-wal', '--create-slot', name])
    const log = await open(path.join(folder, 'receive-wal.log'), 'a')
    try {
      receiver = spawn('barman', ['-c', config, 'receive-wal', name], { env, detached: true, stdio: ['ignore', log.fd, log.fd] })
    } finally {
      await log.close()
    }
    receiver.once('error', () => {})
    // pg_receivewal starts at the segment being written when it connects: a switch before that
    // closes a segment it never receives, and switch-wal would wait for it in vain.
    const deadline = Date.now() + 30_000
    for (;;) {
      const [slot] = await server.query<{ streaming: boolean }>(
        `SELECT active AND restart_lsn IS NOT NULL AS streaming FROM pg_replication_slots WHERE slot_name = '${slotName}'`
      )
      if (slot?.streaming) break
      if (receiver.exitCode !== null) throw new Error(`barman receive-wal ended (${receiver.exitCode}): see ${folder}/receive-wal.log`)
      if (Date.now() > deadline) throw new Error('barman receive-wal did not start streaming in 30 seconds')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    // The first WAL file through the slot: `check` then finds receive-wal and the slot working.
    await must(['switch-wal', '--force', '--archive', '--archive-timeout', '60', name])
    await must(['check', name])

    const lab: BarmanLab = {
      server,
      name,
      config,
      folder,
      home,
      env,
      barman,
      async backup() {
        await must(['backup', '--wait', name])
        const listed = await must(['-f', 'json', 'list-backups', name])
        const backups = (JSON.parse(listed.stdout) as Record<string, { backup_id: string; status: string }[]>)[name] ?? []
        const done = backups.filter((backup) => backup.status === 'DONE').map((backup) => backup.backup_id)
        // Ids are timestamps (YYYYMMDDTHHMMSS): the greatest is the newest.
        const id = done.sort().pop()
        if (!id) throw new Error(`barman list-backups shows no finished backup: ${listed.stdout}`)
        return id
      },
      backupData: (id) => path.join(home, name, 'base', id, 'data'),
      stop
    }
    return lab
  } catch (error) {
    await stop()
    throw error
  }
}
