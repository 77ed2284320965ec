// Finds installed PostgreSQL client tools and picks the ones that can handle the server.

import { existsSync, readdirSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { runTool } from './process.js'
import { scrubbedEnvironment } from '../connection/environment.js'
import { compareVersions, parseToolVersion, type ToolVersion } from './version.js'

export interface ClientTools {
  directory: string
  version: ToolVersion
  pgDump: string
  pgRestore: string
  psql: string
  /** Where it was found: "PGBIN", "PATH" or "standard location". */
  origin: string
}

export interface Candidate {
  directory: string
  origin: string
}

type ListDirectory = (directory: string) => string[]

function listing(directory: string): string[] {
  try {
    return readdirSync(directory)
  } catch {
    return []
  }
}

const versionedChildren = (list: ListDirectory, parent: string, pattern: RegExp): string[] =>
  list(parent)
    .filter((name) => pattern.test(name))
    .sort((a, b) => Number(pattern.exec(b)?.[1] ?? 0) - Number(pattern.exec(a)?.[1] ?? 0))

/** Every folder worth looking in, most specific first; pure, given a way to list a folder. */
export function candidateDirectories(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, list: ListDirectory = listing): Candidate[] {
  const found: Candidate[] = []
  const add = (directory: string, origin: string) => found.push({ directory, origin })
  const join = platform === 'win32' ? path.win32.join : path.posix.join
  if (env.PGBIN) add(env.PGBIN, 'PGBIN')
  for (const directory of (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : ':')) {
    if (directory) add(directory, 'PATH')
  }
  if (platform === 'win32') {
    for (const root of [env.ProgramFiles ?? 'C:\\Program Files', env['ProgramFiles(x86)']]) {
      if (!root) continue
      const base = join(root, 'PostgreSQL')
      for (const version of versionedChildren(list, base, /^(\d+(?:\.\d+)?)$/)) add(join(base, version, 'bin'), 'standard location')
    }
    return found
  }
  for (const version of versionedChildren(list, '/usr/lib/postgresql', /^(\d+(?:\.\d+)?)$/)) {
    add(`/usr/lib/postgresql/${version}/bin`, 'standard location')
  }
  for (const name of versionedChildren(list, '/usr', /^pgsql-(\d+(?:\.\d+)?)$/)) add(`/usr/${name}/bin`, 'standard location')
  const brewRoots = ['/opt/homebrew/opt', '/usr/local/opt', '/home/linuxbrew/.linuxbrew/opt']
  for (const root of brewRoots) {
    for (const name of versionedChildren(list, root, /^postgresql@(\d+(?:\.\d+)?)$/)) add(`${root}/${name}/bin`, 'standard location')
    add(`${root}/libpq/bin`, 'standard location')
    add(`${root}/postgresql/bin`, 'standard location')
  }
  if (platform === 'darwin') {
    const app = '/Applications/Postgres.app/Contents/Versions'
    for (const version of versionedChildren(list, app, /^(\d+(?:\.\d+)?)$/)) add(`${app}/${version}/bin`, 'standard location')
  }
  add('/usr/local/pgsql/bin', 'standard location')
  return found
}

/** A tool's file in a folder, as the platform names and joins it (pg_dump.exe on Windows). */
export function toolPath(directory: string, tool: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? path.win32.join(directory, `${tool}.exe`) : path.posix.join(directory, tool)
}

/**
 * The client tools in one folder, when pg_dump, pg_restore and psql are all there and all report
 * the same version: a folder mixing installs would dump with one major and restore with another.
 */
export async function inspectDirectory(
  directory: string,
  origin: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): Promise<ClientTools | undefined> {
  const [pgDump, pgRestore, psql] = ['pg_dump', 'pg_restore', 'psql'].map((tool) => toolPath(directory, tool, platform))
  if (![pgDump, pgRestore, psql].every((tool) => existsSync(tool))) return undefined
  const versions = await Promise.all([pgDump, pgRestore, psql].map((tool) => readToolVersion(tool, env)))
  const [version] = versions
  if (!version || !versions.every((other) => other && compareVersions(other, version) === 0)) return undefined
  return { directory, version, pgDump, pgRestore, psql, origin }
}

/** Looks in every candidate folder and returns one entry per real folder with a complete set of tools. */
export async function findClientTools(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): Promise<ClientTools[]> {
  const seen = new Set<string>()
  const found: ClientTools[] = []
  for (const { directory, origin } of candidateDirectories(env, platform)) {
    const pgDump = toolPath(directory, 'pg_dump', platform)
    if (!existsSync(pgDump)) continue
    let real: string
    try {
      real = realpathSync(pgDump)
    } catch {
      continue
    }
    // Debian's /usr/bin/pg_dump is pg_wrapper, which picks a major by itself; the real folders are listed anyway.
    if (path.basename(real).startsWith('pg_wrapper') || seen.has(real)) continue
    seen.add(real)
    const tools = await inspectDirectory(directory, origin, env, platform)
    if (tools) found.push(tools)
  }
  return found
}

/** A tool's version from its --version, or undefined when it does not run or say one. */
export async function readToolVersion(tool: string, env: NodeJS.ProcessEnv): Promise<ToolVersion | undefined> {
  const run = await runTool(tool, ['--version'], { env: scrubbedEnvironment(env), timeoutMs: 10_000 }).catch(() => undefined)
  return run?.exitCode === 0 ? parseToolVersion(run.stdout) : undefined
}

export function installHint(serverMajor: number, platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return `Install them with "brew install postgresql@${serverMajor}" (or libpq), or set PGBIN to their folder.`
    case 'win32':
      return (
        `Install PostgreSQL ${serverMajor} (the EDB installer or "choco install postgresql${serverMajor}"), ` +
        `or set PGBIN to its bin folder.`
      )
    default:
      return (
        `Install them with "sudo apt-get install postgresql-client-${serverMajor}" (from apt.postgresql.org ` +
        `when your distribution lacks that major), or set PGBIN to their folder.`
      )
  }
}
