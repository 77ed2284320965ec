// The server binaries of the backup's major (postgres, pg_verifybackup, pg_amcheck): installed ones,
// the tool cache, or a download (the default source's archives carry the server with the client).

import { existsSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { VerificationError } from '../run/errors.js'
import { candidateDirectories, readToolVersion, toolPath } from '../tools/locate.js'
import { cachedClientTools } from '../tools/install.js'
import { provideClientTools, type ProvisionOptions } from '../tools/provision.js'
import type { ToolVersion } from '../tools/version.js'

export interface ServerBinaries {
  directory: string
  version: ToolVersion
  postgres: string
  /** Makes a fresh cluster (a throwaway restore server); a server-only folder may lack it. */
  initdb?: string
  pgVerifyBackup?: string
  /** The major of that pg_verifybackup: a newer one checks the files, but reads no older WAL. */
  pgVerifyBackupMajor?: number
  pgAmcheck?: string
  origin: 'found' | 'cache' | 'downloaded'
}

/**
 * A folder of the backup's major may lack pg_verifybackup or pg_amcheck (a server-only package):
 * a newer one serves (pg_amcheck works with servers from 14 on; a newer pg_verifybackup checks the
 * files against the manifest but cannot read older WAL).
 */
async function withCheckers(found: ServerBinaries, options: ProvisionOptions): Promise<ServerBinaries> {
  const major = found.version.major
  const completed = { ...found, pgVerifyBackupMajor: found.pgVerifyBackup ? major : undefined }
  if (completed.pgVerifyBackup && completed.pgAmcheck) return completed
  for (const { directory } of candidateDirectories(options.env, options.platform)) {
    for (const [tool, least] of [
      ['pg_verifybackup', major],
      ['pg_amcheck', Math.max(14, major)]
    ] as const) {
      const file = toolPath(directory, tool, options.platform)
      const missing = tool === 'pg_verifybackup' ? !completed.pgVerifyBackup : !completed.pgAmcheck
      if (!missing || major < (tool === 'pg_amcheck' ? 14 : 13) || !existsSync(file)) continue
      const other = (await readToolVersion(file, options.env))?.major
      if (other === undefined || other < least) continue
      if (tool === 'pg_verifybackup') Object.assign(completed, { pgVerifyBackup: file, pgVerifyBackupMajor: other })
      else completed.pgAmcheck = file
    }
  }
  return completed
}

async function inspect(found: string, major: number, env: NodeJS.ProcessEnv, platform: NodeJS.Platform) {
  if (!existsSync(toolPath(found, 'postgres', platform))) return undefined
  // /usr/local/bin/postgres may be a link into the real folder, which has the other binaries too.
  const directory = path.dirname(realpathSync(toolPath(found, 'postgres', platform)))
  const postgres = toolPath(directory, 'postgres', platform)
  const version = await readToolVersion(postgres, env)
  if (!version || version.major !== major) return undefined
  const optional = (tool: string) => (existsSync(toolPath(directory, tool, platform)) ? toolPath(directory, tool, platform) : undefined)
  return {
    directory,
    version,
    postgres,
    initdb: optional('initdb'),
    pgVerifyBackup: optional('pg_verifybackup'),
    pgAmcheck: optional('pg_amcheck')
  }
}

/** Server binaries of `major`, or a clear error that says where they were looked for and how to get them. */
export async function provideServerBinaries(major: number, options: ProvisionOptions): Promise<ServerBinaries> {
  const { env, platform } = options
  const folders = options.source === 'any' ? candidateDirectories(env, platform).map((candidate) => candidate.directory) : []
  for (const directory of folders) {
    const found = await inspect(directory, major, env, platform)
    if (found) return withCheckers({ ...found, origin: 'found' }, options)
  }
  for (const tools of await cachedClientTools(options.cache, options.arch, env, platform)) {
    const found = await inspect(tools.directory, major, env, platform)
    if (found) return withCheckers({ ...found, origin: 'cache' }, options)
  }
  try {
    const provided = await provideClientTools(
      { major, number: major * 10000, text: String(major) },
      { ...options, source: 'tool-cache', request: { kind: 'major', major } }
    )
    const found = await inspect(provided.tools.directory, major, env, platform)
    if (found) return withCheckers({ ...found, origin: provided.origin === 'found' ? 'found' : provided.origin }, options)
    throw new VerificationError('tools-missing', `the tools in ${provided.tools.directory} carry no server (postgres)`)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    throw new VerificationError(
      'tools-missing',
      `The backup is of PostgreSQL ${major}, and no server binaries of major ${major} are installed or could be installed: ${why}`,
      platform === 'linux'
        ? `Install them (apt-get install postgresql-${major}, from apt.postgresql.org where the distribution has no such major), ` +
            `or let the action download them (tools-url: the default source, which carries the server).`
        : `Install PostgreSQL ${major} on the runner, or let the action download it (tools-url: the default source).`
    )
  }
}
