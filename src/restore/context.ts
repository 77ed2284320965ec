// What a restore is asked to do, and what the parts of one restore share: the run, the request,
// the tools' environment, and what the restore has found so far (errors sorted, progress for the
// watchdog).

import type pg from 'pg'
import type { DatabaseLocale } from './temporary-database.js'
import type { BackupFormat, Compression } from '../backup/formats.js'
import type { ConnectionTarget } from '../connection/target.js'
import type { RunContext } from '../run/context.js'
import type { ClientTools } from '../tools/locate.js'
import type { RestoreErrorSorter } from './errors.js'
import type { GateOptions } from '../backup/gate/dump-gate.js'

/** How far the restore has got, for the watchdog: bytes sent to the sessions, and what each runs. */
interface RestoreProgress {
  bytes?: () => number
  describe?: () => string[]
}

export interface RestoreContext {
  run: RunContext
  request: RestoreRequest
  /** The client tools' environment: connected to the temporary database. */
  env: NodeJS.ProcessEnv
  /** Settings the server does not know (a newer client's), left out of what runs. */
  unknownSettings: string[]
  /** The tablespaces the restore server has. */
  tablespaces: Set<string>
  sorter: RestoreErrorSorter
  progress: RestoreProgress
  /** Stops the restore: the run's signal, or the watchdog's. */
  signal: AbortSignal
  /** The run's own "\\restrict <key>" line, which every psql session runs first; none when psql predates \\restrict. */
  restrictLine?: string
}

/** The gate's settings for what this restore sends to psql. */
export function restoreGate(replay: RestoreContext): GateOptions {
  const { request } = replay
  return {
    untrustedCode: request.untrusted ? 'refuse' : 'report',
    temporaryDatabase: request.databaseName,
    // psql 13 knows no BEGIN ATOMIC: it would run such a body's statements one by one.
    atomicBodies: request.tools.version.major >= 14,
    ownRestrictKey: replay.restrictLine !== undefined
  }
}

/** The server that receives the temporary database: the source's, or one apart (restore-database-url). */
export interface RestoreServer {
  target: ConnectionTarget
  /** A session on it, outside the temporary database: it creates and drops that database. */
  session: pg.Client
  major: number
  passwordFile?: string
  /** The source database's encoding and locale, when the restore server is not the source's. */
  like?: DatabaseLocale
  /** The run's own server: its databases go with it (its folder and process are in the cleanup ledger). */
  own?: boolean
  /** The role that owns the temporary database, when not the user who creates it. */
  owner?: string
}

export interface RestoreRequest {
  server: RestoreServer
  tools: ClientTools
  backup: { path: string; format: BackupFormat; compression?: Compression }
  databaseName: string
  jobs: number
  /** Every restore error fails the restore, the harmless ones too. */
  strict: boolean
  /** Nothing vouches for the backup (no expected-checksum, no receipt of it, not made by this run): code for the server's host is refused. */
  untrusted: boolean
  /**
   * An untrusted archive: pg_restore --dbname would run its table of contents its own way (an entry
   * a query, data written as statements cut by a splitter of its own that knows no comment, no $$),
   * not as the gate read its script; so the script goes through psql, as the gate read it.
   */
  archiveThroughPsql?: boolean
  /** How long nothing may move before a restore whose sessions wait on one another is stopped. */
  stallMs?: number
  /** Streamed: the backup's final size, known once pg_dump has written it (rejected if it failed). */
  written?: Promise<number>
  /** Streamed and planned over several sessions: the file's chunks as the Create phase reads them. */
  relay?: AsyncIterable<Buffer>
  /** Stops this restore alone (the streamed backup failed validation). */
  signal?: AbortSignal
  /** The restore has read the whole backup (or stopped). */
  onBackupRead?: () => void
  onDropped?: () => void
  /** Test seam: runs after a successful restore, before the inspection. */
  afterRestore?: (databaseName: string) => Promise<void>
}
