// The restore's own server: a fresh cluster in the run's folder (see fresh-server.ts), its session,
// the roles the dump's objects name, and the facts the summary and the receipt give. Recorded in the
// cleanup ledger from its first second, so that an interrupted run and the post step stop it.

import type pg from 'pg'
import type { ConnectionTarget } from '../connection/target.js'
import { DEFAULT_CONNECT_TIMEOUT_SECONDS } from '../connection/target.js'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import { startFreshServer, type FreshServer } from './fresh-server.js'
import { makeRoles, type SourceRoles } from './roles.js'
import { chooseServerRoom, clearServerRoom, type ServerRoom } from './room.js'
import { NOT_DURABLE } from './tuning.js'

interface ThrowawayBinaries {
  directory: string
  /** "16.4" */
  version: string
  major: number
  origin: string
  postgres: string
  initdb?: string
}

export interface ThrowawayRestore {
  target: ConnectionTarget
  /** On its postgres database: creates and drops the temporary database. */
  session: pg.Client
  major: number
  facts: ThrowawayFacts
  /** Ends the session, stops the server and removes its folder; only warns. */
  close(): Promise<void>
}

/** Where the restore ran, for the summary and the receipt. */
export interface ThrowawayFacts {
  version: string
  binaries: { directory: string; origin: string }
  startupMs: { initdb: number; start: number }
  /** The settings a durable server would never have. */
  notDurable: string[]
  rolesCreated: string[]
}

export interface ThrowawayOptions {
  binaries: ThrowawayBinaries
  /** The run's folder: the cluster goes in it (or in one of its own the server's account can reach). */
  runFolder: string
  /** The roles the source's objects name, and the user who restores (as on the source: see roles.ts). */
  roles: SourceRoles
  /** Sessions the restore and the comparison may open at once. */
  connections: number
}

/** initdb's superuser: it only makes the roles; the restore runs as the source's user (see roles.ts). */
const BOOTSTRAP_SUPERUSER = 'backup_verify'

export async function startThrowawayRestore(run: RunContext, options: ThrowawayOptions): Promise<ThrowawayRestore> {
  const { binaries } = options
  if (!binaries.initdb) {
    throw new VerificationError(
      'tools-missing',
      `The server binaries in ${binaries.directory} have no initdb: no throwaway server can be made from them.`,
      'Install the whole server package (postgresql-<major>), or set restore-server: source.'
    )
  }
  const room: ServerRoom = await chooseServerRoom(options.runFolder)
  const folder = room.serverFolder
  if (room.ownFolderFor !== undefined) run.ledger.created('folder', room.folder)
  let recorded: string | undefined
  let server: FreshServer | undefined
  let session: pg.Client | undefined
  const close = async () => {
    await session?.end().catch(() => {})
    await server?.stop().catch(() => {})
    if (recorded) run.ledger.removed('server', recorded)
    await clearServerRoom(room).catch((error: unknown) =>
      run.warn(`Could not remove the throwaway server's folder ${folder}: ${run.redactor.redactError(error)}`)
    )
    if (room.ownFolderFor !== undefined) run.ledger.removed('folder', room.folder)
  }
  try {
    server = await startFreshServer({
      initdb: binaries.initdb,
      postgres: binaries.postgres,
      folder,
      superuser: BOOTSTRAP_SUPERUSER,
      connections: options.connections,
      signal: run.signal,
      onStarted: (pid, dataDirectory) => {
        recorded = `${pid}:${dataDirectory}`
        run.ledger.created('server', recorded)
      },
      onLine: run.verbose ? (line) => run.log(`restore server: ${line}`) : undefined
    })
    const admin = await server.connect('postgres')
    let rolesCreated: string[]
    try {
      rolesCreated = await makeRoles(admin, options.roles)
    } finally {
      await admin.end().catch(() => {})
    }
    const restorer = options.roles.restorer.name
    session = await server.connect('postgres', restorer)
    const facts: ThrowawayFacts = {
      version: binaries.version,
      binaries: { directory: binaries.directory, origin: binaries.origin },
      startupMs: server.startupMs,
      notDurable: NOT_DURABLE,
      rolesCreated
    }
    const target: ConnectionTarget = {
      host: server.socketDirectory,
      port: server.port,
      user: restorer,
      database: 'postgres',
      parameters: {},
      connectTimeoutSeconds: DEFAULT_CONNECT_TIMEOUT_SECONDS
    }
    const opened = session
    return {
      target,
      session: opened,
      major: binaries.major,
      facts,
      close
    }
  } catch (error) {
    await close()
    throw error
  }
}
