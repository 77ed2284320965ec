// A fresh PostgreSQL cluster of the run's own, made with initdb and started to receive a restore:
// listening only on a socket in a private folder, run as an unprivileged account when the runner is
// root, tuned for a load nobody keeps (see tuning.ts), and stopped and removed at the end.

import { spawn } from 'node:child_process'
import { chmod, mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type pg from 'pg'
import { scrubbedEnvironment } from '../connection/environment.js'
import { VerificationError } from '../run/errors.js'
import { lineSplitter } from '../tools/process.js'
import { chownTree, connectSocket, freePort, stopServer, unprivilegedAccount } from './process.js'
import { commandLine, privateSettings, restoreSettings, type Machine } from './tuning.js'

export interface FreshServerOptions {
  /** The server binaries' folder: initdb and postgres. */
  initdb: string
  postgres: string
  /** The folder the cluster and its socket go in (made here; the caller removes it). */
  folder: string
  /** The bootstrap superuser's name. */
  superuser: string
  /** Sessions the restore may open at once. */
  connections: number
  signal: AbortSignal
  machine?: Machine
  /** Called with the pid and data directory as soon as the server runs (for the cleanup ledger). */
  onStarted?: (pid: number, dataDirectory: string) => void
  onLine?: (line: string) => void
}

export interface FreshServer {
  socketDirectory: string
  dataDirectory: string
  port: number
  pid: number
  superuser: string
  /** initdb, then the start up to the first accepted connection. */
  startupMs: { initdb: number; start: number }
  settings: Record<string, string>
  /** A session over the socket, as the superuser unless another user is named. */
  connect(database: string, user?: string): Promise<pg.Client>
  stop(): Promise<void>
}

/** How long a fresh cluster may take to start: no recovery, nothing to replay. */
const START_TIMEOUT_MS = 60_000

function machine(): Machine {
  return { memoryBytes: os.totalmem(), cores: os.availableParallelism() }
}

export async function startFreshServer(options: FreshServerOptions): Promise<FreshServer> {
  const dataDirectory = path.join(options.folder, 'data')
  const socketDirectory = path.join(options.folder, 'socket')
  await mkdir(dataDirectory, { recursive: true, mode: 0o700 })
  await mkdir(socketDirectory, { recursive: true, mode: 0o700 })
  const account = await unprivilegedAccount()
  if (account) {
    // The account passes through the run's folder (0700, root's) to reach its own, without listing it.
    await chmod(path.dirname(options.folder), 0o711)
    await chownTree(options.folder, account.uid, account.gid)
  }
  const env = { ...scrubbedEnvironment(process.env), LC_ALL: 'C', LC_MESSAGES: 'C' }
  const asAccount = account ? { uid: account.uid, gid: account.gid } : {}
  const initdbStarted = Date.now()
  // Trust over the private socket only (no TCP listener at all): no password exists to leak. The
  // cluster is C and UTF-8; the temporary database gets the source's encoding and locale itself.
  const initdb = await runOnce(
    options.initdb,
    ['-D', dataDirectory, '-U', options.superuser, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { env, ...asAccount },
    options.signal
  )
  if (initdb.code !== 0) {
    throw new VerificationError(
      'restore-failed',
      `initdb could not create the throwaway restore server (exit code ${initdb.code}): ${lastLines(initdb.output)}`,
      'restore-server: source restores on the source’s server instead; or install the server binaries (postgresql-<major>).'
    )
  }
  const initdbMs = Date.now() - initdbStarted
  const port = await freePort()
  const settings = { ...restoreSettings(options.machine ?? machine()), ...privateSettings(socketDirectory, port, options.connections + 5) }
  const started = Date.now()
  const log: string[] = []
  const child = spawn(options.postgres, ['-D', dataDirectory, ...commandLine(settings)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asAccount,
    windowsHide: true
  })
  const lines = lineSplitter((line) => {
    log.push(line)
    if (log.length > 200) log.shift()
    options.onLine?.(line)
  })
  child.stdout.setEncoding('utf8').on('data', (text: string) => lines.push(text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => lines.push(text))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.on('error', (error) => log.push(error.message))
  if (child.pid) options.onStarted?.(child.pid, dataDirectory)
  const stop = () => stopServer(child, exited)
  try {
    await waitUntilAccepting(socketDirectory, port, options.superuser, exited, log, options.signal)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    socketDirectory,
    dataDirectory,
    port,
    pid: child.pid ?? 0,
    superuser: options.superuser,
    startupMs: { initdb: initdbMs, start: Date.now() - started },
    settings,
    connect: (database, user = options.superuser) => connectSocket(socketDirectory, port, database, user),
    stop
  }
}

async function waitUntilAccepting(
  socketDirectory: string,
  port: number,
  user: string,
  exited: Promise<number | null>,
  log: string[],
  signal: AbortSignal
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let gone: number | null | undefined
  void exited.then((code) => (gone = code))
  for (;;) {
    if (signal.aborted) throw signal.reason
    if (gone !== undefined) {
      throw new VerificationError(
        'restore-failed',
        `The throwaway restore server did not start (exit code ${gone}): ${lastLines(log.join('\n'))}`,
        'restore-server: source restores on the source’s server instead.'
      )
    }
    if (Date.now() > deadline) {
      throw new VerificationError(
        'restore-failed',
        `The throwaway restore server did not accept connections within ${START_TIMEOUT_MS / 1000} s: ${lastLines(log.join('\n'))}`
      )
    }
    const client = await connectSocket(socketDirectory, port, 'postgres', user).catch(() => undefined)
    if (client) return void (await client.end().catch(() => {}))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A tool that runs once to its end: its exit code and what it printed. */
function runOnce(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number },
  signal: AbortSignal
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], signal, windowsHide: true })
    let output = ''
    const keep = (text: string) => (output = (output + text).slice(-8192))
    child.stdout.setEncoding('utf8').on('data', keep)
    child.stderr.setEncoding('utf8').on('data', keep)
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  return lines.slice(-3).join(' | ') || 'nothing said'
}
