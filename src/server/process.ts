// What every PostgreSQL server of the run's own shares, whatever it holds (a copy of a base backup,
// or a fresh cluster that receives a logical restore): the account it runs as when the runner is
// root, a socket in a private folder, its connection, and its stop.

import type { ChildProcess } from 'node:child_process'
import { chown, readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import pg from 'pg'
import { VerificationError } from '../run/errors.js'

/**
 * One word of a command a server runs through the shell (restore_command): single-quoted, any quote
 * in it closed and escaped, its % doubled, since PostgreSQL replaces %f, %p and %% before the shell runs.
 */
export function commandWord(word: string): string {
  return `'${word.replace(/%/g, '%%').replace(/'/g, "'\\''")}'`
}

/** A free TCP port number: the socket's name carries it, though nothing listens on TCP. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The unprivileged account a root runner starts the server as: postgres when it exists, else nobody. */
export async function unprivilegedAccount(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '')
  const accounts = passwd.split('\n').map((line) => line.split(':'))
  for (const name of ['postgres', 'nobody']) {
    const entry = accounts.find((fields) => fields[0] === name)
    if (entry && Number(entry[2]) !== 0) return { name, uid: Number(entry[2]), gid: Number(entry[3]) }
  }
  throw new VerificationError(
    'permission-denied',
    'The runner runs as root, which PostgreSQL refuses, and there is no postgres or nobody account to run the restored copy as.',
    'Add an unprivileged account (useradd postgres) in the job, or run the job as a non-root user.'
  )
}

export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await chown(root, uid, gid)
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    await chown(path.join(entry.parentPath, entry.name), uid, gid).catch(() => {})
  }
}

export async function connectSocket(socketDirectory: string, port: number, database: string, user: string): Promise<pg.Client> {
  const client = new pg.Client({ host: socketDirectory, port, database, user, application_name: 'backup-verify' })
  client.on('error', () => {})
  await client.connect()
  return client
}

export async function stopServer(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  // Immediate shutdown: the copy is thrown away, nothing needs to be written.
  child.kill('SIGQUIT')
  let timer: NodeJS.Timeout | undefined
  const done = await Promise.race([exited.then(() => true), new Promise((resolve) => (timer = setTimeout(() => resolve(false), 10_000)))])
  clearTimeout(timer)
  if (!done) {
    child.kill('SIGKILL')
    await exited
  }
}
