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
    readonly outputSettings: OutputSettings
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
    try {
      const server = await readServerVersion(source)
      result.serverVersion = server.text
      run.log(`Server: PostgreSQL ${server.text}`)
      // The server that receives the temporary database: the source's, or one apart (restore-database-url).
      const restoreTarget: ConnectionTarget = settings.restoreTarget ?? target
      if (settings.restoreTarget) run.log(`Restoring into ${describeTarget(restoreTarget)}, a server apart from the source`)
      restoreSession = settings.restoreTarget
        ? await openSession(restoreTarget, restoreTarget.database, { signal: run.signal, report: run.warn })
        : source
      const restoreVersion = settings.restoreTarget ? await readServerVersion(restoreSession) : server
      if (settings.restoreTarget || settings.backupFile) result.restoreTarget = describeTarget(restoreTarget)
      // Every extension the source uses must be available where the restore happens (an existing
      // backup's restore reports its own).
      const missing = settings.backupFile ? [] : await missingExtensions(source, restoreSession)
      if (missing.length > 0) {
        throw new VerificationError(
          'extensions-missing',
          `The restore server lacks extension(s) the source uses: ${missing.join(', ')}.`,
          'Install them on the server that receives the restore (its packages, or a postgres image that has them).'
        )
      }
      const tools = await chooseTools(run, settings, workspace, options, result, settings.backupFile ? restoreVersion : server)
      const passwordFile = await workspace.passwordFile(target.password)
      const restorePasswordFile = settings.restoreTarget
        ? await workspace.passwordFile(restoreTarget.password, '.pgpass-restore')
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
        major: restoreVersion.major,
        passwordFile: restorePasswordFile
      }
      const env = clientEnvironment(
        sourceIdles ? withServerOption(target, NO_IDLE_TIMEOUT) : target,
        target.database,
        passwordFile,
        options.env
      )
      return new Connected(source, server, restoreServer, tools, env, await serverOutputSettings(source))
    } catch (error) {
      if (restoreSession && restoreSession !== source) await restoreSession.end().catch(() => {})
      await source.end().catch(() => {})
      throw error
    }
  }

  async close(): Promise<void> {
    if (this.restoreServer.session !== this.source) await this.restoreServer.session.end().catch(() => {})
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
