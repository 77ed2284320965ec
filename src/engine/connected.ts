// A run, connected: the server it reads (for an existing backup, only the one that receives the
// restore), their versions, the client tools chosen for them, and the environments the tools get.
// Opened by the first phase that needs a server; closed at the end, whatever happened.

import path from 'node:path'
import type pg from 'pg'
import { clientEnvironment } from '../connection/environment.js'
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
import { missingExtensions } from '../compare/inventory.js'
import { provideServerBinaries, type ServerBinaries } from '../physical/server-binaries.js'
import { readSourceRoles } from '../server/roles.js'
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

export class Connected {
  private constructor(
    /** A session on the source (for an existing backup: on the restore server). */
    readonly source: pg.Client,
    readonly server: ServerVersion,
    readonly restoreServer: RestoreServer,
    readonly tools: ClientTools,
    /** The client tools' environment for the source database. */
    readonly env: NodeJS.ProcessEnv,
    /** How the source's sessions print values, pg_dump's among them (the settings it leaves as they are). */
    readonly outputSettings: OutputSettings,
    /** The restore's own server, when it has one: stopped and removed by close(). */
    private readonly throwaway?: ThrowawayRestore
  ) {}

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
        throwaway = await openThrowaway(run, settings, workspace, options, tools, source, result)
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
      return new Connected(source, server, restoreServer, tools, env, await serverOutputSettings(source), throwaway)
    } catch (error) {
      if (throwaway) await throwaway.close()
      else if (restoreSession && restoreSession !== source) await restoreSession.end().catch(() => {})
      await source.end().catch(() => {})
      throw error
    }
  }

  async close(): Promise<void> {
    if (this.throwaway) await this.throwaway.close()
    else if (this.restoreServer.session !== this.source) await this.restoreServer.session.end().catch(() => {})
    await this.source.end().catch(() => {})
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
  source: pg.Client,
  result: VerificationResult
): Promise<ThrowawayRestore | undefined> {
  if (settings.restoreServer === 'source') {
    result.restoreServer = { kind: 'source', reason: 'restore-server: source' }
    return undefined
  }
  const fallBack = (problem: 'tools-missing' | 'extensions-missing' | 'restore-failed', reason: string, hint: string): undefined => {
    if (settings.restoreServer === 'throwaway') throw new VerificationError(problem, `No throwaway restore server: ${reason}.`, hint)
    run.warn(`The restore runs on the source's server (restore-server: auto): ${reason}.`)
    result.restoreServer = { kind: 'source', reason }
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
  const roles = await readSourceRoles(source)
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
    const missing = await missingExtensions(source, throwaway.session)
    if (missing.length > 0) {
      await throwaway.close()
      return fallBack(
        'extensions-missing',
        `the server binaries in ${binaries.directory} lack extension(s) the source uses: ${missing.join(', ')}`,
        `Install the extensions' packages for PostgreSQL ${major} on the runner, or set restore-server: source.`
      )
    }
    const created = throwaway.facts.rolesCreated
    const { initdb, start } = throwaway.facts.startupMs
    run.log(
      `Restore server: a throwaway PostgreSQL ${binaries.version.text} of the run's own (${binaries.directory}, ${binaries.origin}), ` +
        `initdb ${(initdb / 1000).toFixed(1)} s, started in ${(start / 1000).toFixed(1)} s; ` +
        `roles made there: ${created.length > 0 ? created.join(', ') : 'none needed'} (the restore runs as ` +
        `${roles.restorer.name}, ${roles.restorer.superuser ? 'a superuser' : 'not a superuser'}, as on the source)`
    )
    result.restoreServer = { kind: 'throwaway', ...throwaway.facts }
    return throwaway
  } catch (error) {
    await throwaway.close()
    throw error
  }
}
