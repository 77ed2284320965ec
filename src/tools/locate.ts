// Finds installed PostgreSQL client tools and picks the ones that can handle the server.

import { existsSync, readdirSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { VerificationError } from '../errors.js'
import { runTool } from '../postgres/process.js'
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
export function candidateDirectories(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  list: ListDirectory = listing
): Candidate[] {
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

function executable(directory: string, tool: string, platform: NodeJS.Platform): string {
  return path.join(directory, platform === 'win32' ? `${tool}.exe` : tool)
}

/** Looks in every candidate folder, reads each pg_dump's version, and returns one entry per real folder. */
export async function findClientTools(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): Promise<ClientTools[]> {
  const seen = new Set<string>()
  const found: ClientTools[] = []
  for (const { directory, origin } of candidateDirectories(env, platform)) {
    const pgDump = executable(directory, 'pg_dump', platform)
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
    const psql = executable(directory, 'psql', platform)
    const pgRestore = executable(directory, 'pg_restore', platform)
    if (!existsSync(psql) || !existsSync(pgRestore)) continue
    // All three must answer with the same version: a folder mixing installs would dump with one
    // major and restore with another.
    const versions = await Promise.all([pgDump, pgRestore, psql].map((tool) => readToolVersion(tool, env)))
    const [version] = versions
    if (version && versions.every((other) => other && compareVersions(other, version) === 0)) {
      found.push({ directory, version, pgDump, pgRestore, psql, origin })
    }
  }
  return found
}

async function readToolVersion(tool: string, env: NodeJS.ProcessEnv): Promise<ToolVersion | undefined> {
  const run = await runTool(tool, ['--version'], { env, timeoutMs: 10_000 }).catch(() => undefined)
  return run?.exitCode === 0 ? parseToolVersion(run.stdout) : undefined
}

export function installHint(serverMajor: number, platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return `Install them with "brew install postgresql@${serverMajor}" (or libpq), or set PGBIN to their folder.`
    case 'win32':
      return `Install PostgreSQL ${serverMajor} (the EDB installer or "choco install postgresql${serverMajor}"), or set PGBIN to its bin folder.`
    default:
      return `Install them with "sudo apt-get install postgresql-client-${serverMajor}" (from apt.postgresql.org when your distribution lacks that major), or set PGBIN to their folder.`
  }
}

/** The newest installation whose major is at least the server's: pg_dump refuses to dump a newer server. */
export function chooseClientTools(installed: ClientTools[], serverMajor: number, serverText: string, platform: NodeJS.Platform = process.platform): ClientTools {
  if (installed.length === 0) {
    throw new VerificationError(
      'tools-missing',
      'PostgreSQL client tools (pg_dump, pg_restore, psql) not found on PATH, in PGBIN or in the usual install folders.',
      installHint(serverMajor, platform)
    )
  }
  const suitable = installed.filter((tools) => tools.version.major >= serverMajor).sort((a, b) => compareVersions(b.version, a.version))
  if (suitable.length === 0) {
    const newest = [...installed].sort((a, b) => compareVersions(b.version, a.version))[0]
    throw new VerificationError(
      'client-too-old',
      `Server newer than client: the server runs PostgreSQL ${serverText}, but the newest client tools found are ${newest.version.text} (${newest.directory}); pg_dump cannot dump a server of a newer major.`,
      installHint(serverMajor, platform)
    )
  }
  return suitable[0]
}
