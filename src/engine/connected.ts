// A run, connected: the server it reads (for an existing backup, only the one that receives the
// restore), their versions, the client tools chosen for them, and the environments the tools get.
// Opened by the first phase that needs a server; closed at the end, whatever happened.

import path from 'node:path'
import type pg from 'pg'
import { clientEnvironment, scrubbedEnvironment } from '../connection/environment.js'
import { passwordFromUserFile } from '../connection/password-file.js'
import {
  idleSessionTimeoutSet,
  openSession,
  readOnlyByDefault,
  readServerVersion,
  WRITABLE,
  type ServerVersion
} from '../connection/session.js'
import { describeTarget, withServerOption, type ConnectionTarget } from '../connection/target.js'
import { missingExtensions, unavailableExtensions } from '../compare/inventory.js'
import { majorOfVersion, type MadeBy } from '../backup/made-by.js'
import { provideServerBinaries, type ServerBinaries } from '../physical/server-binaries.js'
import { readSourceRoles, type SourceRoles } from '../server/roles.js'
import { startThrowawayRestore, type ThrowawayRestore } from '../server/throwaway-restore.js'
import { readDatabaseLocale } from '../restore/temporary-database.js'
import { serverOutputSettings, type OutputSettings } from '../compare/read-back.js'
import type { Settings } from '../inputs/inputs.js'
import type { VerificationResult } from '../report/result.js'
import type { RestoreServer } from '../restore/context.js'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import { defaultCacheRoot, FolderToolCache, type ToolCache } from '../tools/cache.js'
import { DEFAULT_RETRY, type RetryPolicy } from '../tools/download.js'
import type { ClientTools } from '../tools/locate.js'
import { provideClientTools } from '../tools/provision.js'
import type { Workspace } from './workspace.js'

export interface ConnectOptions {
  /** The environment the client tools are looked up in and inherit. */
  env: NodeJS.ProcessEnv
  toolCache?: ToolCache
  retry?: RetryPolicy
}

/**
 * For the tools where the server, the role or a database sets idle_session_timeout: a restore's
 * sessions and pg_dump's workers wait idle for their turn, and must not be ended for it.
 */
const NO_IDLE_TIMEOUT = '-c idle_session_timeout=0'

/** The role an existing backup is restored as on a throwaway server: a member of every role the backup names. */
const EXISTING_BACKUP_RESTORER = 'backup_verify_restore'
/** The temporary database's owner there: every role the backup names is a member (see roles.ts). */
const EXISTING_BACKUP_DATABASE_OWNER = 'backup_verify_database_owner'

export class Connected {
  /** A session on the source (for an existing backup: on the server named to restore it); none for a backup alone. */
  readonly #source: pg.Client | undefined
  #restore: RestoreServer | undefined
  /** The restore's own server, when it has one: stopped and removed by close(). */
  #throwaway: ThrowawayRestore | undefined

  private constructor(
    source: pg.Client | undefined,
    restoreServer: RestoreServer | undefined,
    readonly tools: ClientTools,
    /** The client tools' environment for the source database. */
    readonly env: NodeJS.ProcessEnv,
    /** How the source's sessions print values, pg_dump's among them (the settings it leaves as they are); none without a source. */
    readonly outputSettings: OutputSettings | undefined,
    throwaway?: ThrowawayRestore
  ) {
    this.#source = source
    this.#restore = restoreServer
    this.#throwaway = throwaway
  }

  get source(): pg.Client {
    if (!this.#source) throw new Error('an existing backup verified with no server of its own has no source session')
    return this.#source
  }

  /** Where the temporary database is made: for a backup alone, once restoreOnThrowaway has started that server. */
  get restoreServer(): RestoreServer {
    if (!this.#restore) throw new Error('no restore server yet: restoreOnThrowaway starts it')
    return this.#restore
  }

  /**
   * An existing backup with no server of the user's: the client tools its own header asks for (the
   * pg_dump that wrote it, and the server it came from), found, cached or downloaded.
   */
  static async forBackup(
    run: RunContext,
    settings: Settings,
    workspace: Workspace,
    options: ConnectOptions,
    result: VerificationResult,
    madeBy: MadeBy
  ): Promise<Connected> {
    const major = Math.max(majorOfVersion(madeBy.dumpedBy) ?? 0, majorOfVersion(madeBy.dumpedFrom) ?? 0)
    if (major === 0 && settings.postgresVersion.kind === 'auto') {
      throw new VerificationError(
        'tools-missing',
        'The backup does not say which PostgreSQL made it (no "Dumped by pg_dump version" line, no archive header), and no server was named to restore it.',
        'Set postgres-version to the major it was made with, or name a server to restore into (database-url or restore-database-url).'
      )
    }
    const version: ServerVersion = { major, number: Math.floor(major) * 10000, text: madeBy.dumpedBy ?? String(major) }
    run.log(
      `No server named: the backup says it was made by pg_dump ${madeBy.dumpedBy ?? 'of an unknown version'}` +
        `${madeBy.dumpedFrom ? ` from PostgreSQL ${madeBy.dumpedFrom}` : ''}; it is restored on a throwaway server of the run's own`
    )
    const tools = await chooseTools(run, settings, workspace, options, result, version)
    return new Connected(undefined, undefined, tools, scrubbedEnvironment(options.env), undefined)
  }

  /** Connects, reads the versions, checks the restore server's extensions, and chooses the client tools. */
  static async open(
    run: RunContext,
    settings: Settings,
    workspace: Workspace,
    options: ConnectOptions,
    result: VerificationResult
  ): Promise<Connected> {
    if (settings.connection.kind !== 'postgres') throw new Error('only a PostgreSQL connection can be opened')
    const { target, origin } = settings.connection
    run.log(`Connecting to ${describeTarget(target)} (from ${origin})`)
    // A password only in the user's password file: the driver would find it, the tools must get it too.
    for (const server of [target, settings.restoreTarget]) {
      if (!server || server.password !== undefined) continue
      server.password = await passwordFromUserFile(server, options.env, run.warn)
      if (server.password) {
        run.redactor.add(server.password)
        run.reporter.mask(server.password)
      }
    }
    const source = await openSession(target, target.database, { signal: run.signal, report: run.warn })
    let restoreSession: pg.Client | undefined
    let throwaway: ThrowawayRestore | undefined
    try {
      const server = await readServerVersion(source)
      result.serverVersion = server.text
      run.log(`Server: PostgreSQL ${server.text}`)
      // The server that receives the temporary database: one apart (restore-database-url), a
      // throwaway one of the run's own, or the source's.
      const apart = settings.restoreTarget
      if (apart) run.log(`Restoring into ${describeTarget(apart)}, a server apart from the source`)
      restoreSession = apart ? await openSession(apart, apart.database, { signal: run.signal, report: run.warn }) : source
      const restoreVersion = apart ? await readServerVersion(restoreSession) : server
      if (apart || settings.backupFile) result.restoreTarget = describeTarget(apart ?? target)
      const tools = await chooseTools(run, settings, workspace, options, result, settings.backupFile ? restoreVersion : server)
      if (apart) result.restoreServer = { kind: 'apart', reason: `restore-database-url names ${describeTarget(apart)}` }
      else if (!settings.backupFile && settings.method === 'logical') {
        throwaway = await openThrowaway(run, settings, workspace, options, tools, result, { source })
        if (throwaway) restoreSession = throwaway.session
      }
      // Every extension the source uses must be available where the restore happens (an existing
      // backup's restore reports its own).
      const missing = settings.backupFile || throwaway ? [] : await missingExtensions(source, restoreSession)
      if (missing.length > 0) {
        throw new VerificationError(
          'extensions-missing',
          `The restore server lacks extension(s) the source uses: ${missing.join(', ')}.`,
          'Install them on the server that receives the restore (its packages, or a postgres image that has them).'
        )
      }
      const restoreTarget: ConnectionTarget = throwaway?.target ?? apart ?? target
      const passwordFile = await workspace.passwordFile(target.password)
      const restorePasswordFile = throwaway
        ? undefined
        : apart
          ? await workspace.passwordFile(apart.password, '.pgpass-restore')
          : passwordFile
      const sourceIdles = await idleSessionTimeoutSet(source)
      const restoreIdles = restoreSession === source ? sourceIdles : await idleSessionTimeoutSet(restoreSession)
      // The temporary database is written by the restore's sessions (the tools' and the driver's),
      // whatever a role's or the URL's default_transaction_read_only says.
      let temporaryTarget = restoreIdles ? withServerOption(restoreTarget, NO_IDLE_TIMEOUT) : restoreTarget
      if (await readOnlyByDefault(restoreSession)) temporaryTarget = withServerOption(temporaryTarget, WRITABLE)
      const restoreServer: RestoreServer = {
        target: temporaryTarget,
        session: restoreSession,
        major: throwaway?.major ?? restoreVersion.major,
        passwordFile: restorePasswordFile,
        // A server apart or a throwaway one: the temporary database is made like the source's, not like the database connected to there.
        like: restoreSession === source ? undefined : await readDatabaseLocale(source),
        own: throwaway !== undefined
      }
      const env = clientEnvironment(
        sourceIdles ? withServerOption(target, NO_IDLE_TIMEOUT) : target,
        target.database,
        passwordFile,
        options.env
      )
      return new Connected(source, restoreServer, tools, env, await serverOutputSettings(source), throwaway)
    } catch (error) {
      if (throwaway) await throwaway.close()
      else if (restoreSession && restoreSession !== source) await restoreSession.end().catch(() => {})
      await source.end().catch(() => {})
      throw error
    }
  }

  /**
   * An existing backup's restore moves to a throwaway server of the run's own: a backup alone (no
   * server named), or one nothing vouches for (restore-server: auto or throwaway), once Validate
   * has read it. The roles its statements name are made there; it is restored by a role of the
   * run's, a member of each, a superuser only when something vouches for the backup. Returns
   * whether it moved (auto keeps the server named, with a warning, when no throwaway server can be had).
   */
  async restoreOnThrowaway(
    run: RunContext,
    settings: Settings,
    workspace: Workspace,
    options: ConnectOptions,
    result: VerificationResult,
    backup: { roles: string[]; extensions: string[]; trusted: boolean }
  ): Promise<boolean> {
    const roles: SourceRoles = {
      named: backup.roles,
      restorer: { name: EXISTING_BACKUP_RESTORER, superuser: backup.trusted, memberOf: backup.roles },
      databaseOwner: EXISTING_BACKUP_DATABASE_OWNER
    }
    const fallback = this.#restore ? `the server named for it (${result.restoreTarget})` : undefined
    const throwaway = await openThrowaway(run, settings, workspace, options, this.tools, result, {
      backup: roles,
      extensions: backup.extensions,
      fallback
    })
    if (!throwaway) return false
    if (this.#restore && this.#restore.session !== this.#source) await this.#restore.session.end().catch(() => {})
    this.#throwaway = throwaway
    this.#restore = {
      target: throwaway.target,
      session: throwaway.session,
      major: throwaway.major,
      own: true,
      owner: EXISTING_BACKUP_DATABASE_OWNER
    }
    result.restoreTarget = undefined
    return true
  }

  async close(): Promise<void> {
    if (this.#throwaway) await this.#throwaway.close()
    if (this.#restore && this.#restore.session !== this.#source && this.#restore.session !== this.#throwaway?.session)
      await this.#restore.session.end().catch(() => {})
    await this.#source?.end().catch(() => {})
  }
}

/** Dumping needs a client at least as new as the source; an existing backup only needs restoring. */
async function chooseTools(
  run: RunContext,
  settings: Settings,
  workspace: Workspace,
  options: ConnectOptions,
  result: VerificationResult,
  server: ServerVersion
): Promise<ClientTools> {
  const provided = await provideClientTools(server, {
    request: settings.postgresVersion,
    source: settings.toolsSource,
    toolsUrl: settings.toolsUrl,
    cache: options.toolCache ?? new FolderToolCache(defaultCacheRoot(options.env)),
    workFolder: path.join(workspace.folder, 'tools'),
    retry: options.retry ?? DEFAULT_RETRY,
    env: options.env,
    platform: process.platform,
    arch: process.arch,
    log: run.log
  })
  const { tools } = provided
  result.client = { version: tools.version.text, directory: tools.directory, origin: provided.origin, reason: provided.reason }
  run.log(
    `Client tools: ${tools.version.text} in ${tools.directory} (${provided.origin === 'found' ? `found: ${tools.origin}` : provided.origin}; ${provided.reason})`
  )
  return tools
}

/**
 * The restore's own server (restore-server: throwaway, or auto): server binaries of the client
 * tools' major, with every extension the source uses, and the roles its objects name. auto falls
 * back to the source's server and says why; throwaway fails with that reason instead.
 */
async function openThrowaway(
  run: RunContext,
  settings: Settings,
  workspace: Workspace,
  options: ConnectOptions,
  tools: ClientTools,
  result: VerificationResult,
  /** The source, whose roles and extensions the server gets; or, for an existing backup, the roles it names and who restores it. */
  from: { source: pg.Client } | { backup: SourceRoles; extensions: string[]; fallback?: string }
): Promise<ThrowawayRestore | undefined> {
  if (settings.restoreServer === 'source') {
    result.restoreServer = { kind: 'source', reason: 'restore-server: source' }
    return undefined
  }
  // A new backup falls back to the source's server, an existing one to the server named for it; a backup alone has none.
  const fallbackName = 'source' in from ? "the source's server" : from.fallback
  const fallBack = (problem: 'tools-missing' | 'extensions-missing' | 'restore-failed', reason: string, hint: string): undefined => {
    if (settings.restoreServer === 'throwaway' || fallbackName === undefined)
      throw new VerificationError(problem, `No throwaway restore server: ${reason}.`, hint)
    run.warn(`The restore runs on ${fallbackName} (restore-server: auto): ${reason}.`)
    // An existing backup stays on the server named for it (shown as "Restored on"), not a source's.
    result.restoreServer = { kind: 'source' in from ? 'source' : 'apart', reason }
    return undefined
  }
  const major = tools.version.major
  let binaries: ServerBinaries
  try {
    binaries = await provideServerBinaries(major, {
      request: { kind: 'major', major },
      source: settings.toolsSource,
      toolsUrl: settings.toolsUrl,
      cache: options.toolCache ?? new FolderToolCache(defaultCacheRoot(options.env)),
      workFolder: workspace.path('tools'),
      retry: options.retry ?? DEFAULT_RETRY,
      env: options.env,
      platform: process.platform,
      arch: process.arch,
      log: run.log
    })
  } catch (error) {
    if (run.signal.aborted) throw error
    return fallBack(
      'tools-missing',
      `no server binaries of PostgreSQL ${major} (the client tools' major): ${error instanceof Error ? error.message : String(error)}`,
      `Install postgresql-${major} (the server package) on the runner, or set restore-server: source.`
    )
  }
  if (!binaries.initdb) {
    return fallBack(
      'tools-missing',
      `the server binaries in ${binaries.directory} have no initdb`,
      `Install the whole server package (postgresql-${major}), or set restore-server: source.`
    )
  }
  // Read before the server starts: the roles its objects name, and the powers of the user who restores.
  const roles = 'source' in from ? await readSourceRoles(from.source) : from.backup
  let throwaway: ThrowawayRestore
  try {
    throwaway = await startThrowawayRestore(run, {
      binaries: { ...binaries, version: binaries.version.text, major },
      runFolder: workspace.folder,
      roles,
      // The restore's sessions, the schema's, and the comparison's readers.
      connections: settings.jobs * 2 + 4
    })
  } catch (error) {
    if (run.signal.aborted || !(error instanceof VerificationError)) throw error
    return fallBack('restore-failed', error.message.replace(/\.$/, ''), error.hint ?? 'Set restore-server: source.')
  }
  try {
    const missing =
      'source' in from
        ? await missingExtensions(from.source, throwaway.session)
        : await unavailableExtensions(throwaway.session, from.extensions)
    if (missing.length > 0) {
      await throwaway.close()
      return fallBack(
        'extensions-missing',
        `the server binaries in ${binaries.directory} lack extension(s) the ${'source' in from ? 'source uses' : 'backup creates'}: ${missing.join(', ')}`,
        `Install the extensions' packages for PostgreSQL ${major} on the runner, or set restore-server: source.`
      )
    }
    const created = throwaway.facts.rolesCreated
    const { initdb, start } = throwaway.facts.startupMs
    run.log(
      `Restore server: a throwaway PostgreSQL ${binaries.version.text} of the run's own (${binaries.directory}, ${binaries.origin}), ` +
        `initdb ${(initdb / 1000).toFixed(1)} s, started in ${(start / 1000).toFixed(1)} s; ` +
        `roles made there: ${created.length > 0 ? created.join(', ') : 'none needed'} (the restore runs as ` +
        `${roles.restorer.name}, ${roles.restorer.superuser ? 'a superuser' : 'not a superuser'}` +
        `${'source' in from ? ', as on the source' : ''})`
    )
    result.restoreServer = { kind: 'throwaway', ...throwaway.facts }
    return throwaway
  } catch (error) {
    await throwaway.close()
    throw error
  }
}
