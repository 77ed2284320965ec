// Decides which client tools verify this server: installed ones, cached ones, or a download,
// and says why.

import { VerificationError } from '../run/errors.js'
import type { ServerVersion } from '../connection/session.js'
import type { ToolCache } from './cache.js'
import { fetchText, type RetryPolicy } from './download.js'
import { cachedClientTools, installClientTools } from './install.js'
import { findClientTools, installHint, type ClientTools } from './locate.js'
import { DEFAULT_RELEASES_URL, DEFAULT_TOOLS_URL, newestOfMajor, type ArchiveVersion, type VersionRequest } from './source.js'
import { detectLibc, targetTriple } from './target.js'
import { compareVersions } from './version.js'

export type ToolsSource = 'any' | 'tool-cache'
export type ToolsOrigin = 'found' | 'cache' | 'downloaded'

export interface ProvidedTools {
  tools: ClientTools
  origin: ToolsOrigin
  reason: string
}

export interface Present {
  tools: ClientTools
  origin: ToolsOrigin
}

export interface ProvisionOptions {
  request: VersionRequest
  /** "tool-cache" ignores installed tools: only the tool cache, downloading into it when needed. */
  source: ToolsSource
  toolsUrl: string
  cache: ToolCache
  workFolder: string
  retry: RetryPolicy
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
  arch: string
  log: (line: string) => void
}

function describeRequest(request: VersionRequest): string {
  return request.kind === 'exact' ? `${request.major}.${request.minor}` : request.kind === 'major' ? String(request.major) : 'auto'
}

const newest = (present: Present[]) => [...present].sort((a, b) => compareVersions(b.tools.version, a.tools.version))[0]

/**
 * Among the tools already here, the one to use, or undefined when a download is needed.
 * Pure: the same present tools and server always give the same answer.
 */
export function choosePresent(
  present: Present[],
  server: Pick<ServerVersion, 'major' | 'text'>,
  request: VersionRequest
): ProvidedTools | undefined {
  const wanted = request.kind === 'auto' ? server.major : request.major
  const matching = present.filter(({ tools }) =>
    request.kind === 'exact'
      ? tools.version.major === request.major && tools.version.minor === request.minor
      : tools.version.major === wanted
  )
  const match = newest(matching)
  if (match) {
    const why =
      request.kind === 'auto'
        ? `server major ${server.major}`
        : `postgres-version ${describeRequest(request)}; server major ${server.major}`
    return { ...match, reason: why }
  }
  if (request.kind !== 'auto') return undefined
  const newer = newest(present.filter(({ tools }) => tools.version.major > server.major))
  if (!newer) return undefined
  return {
    ...newer,
    reason:
      `no client of major ${server.major} here; ${newer.tools.version.major} is newer than the server, ` +
      `dumps it, and its restore is adapted to the older server`
  }
}

export async function provideClientTools(server: ServerVersion, options: ProvisionOptions): Promise<ProvidedTools> {
  const { request } = options
  const wanted = request.kind === 'auto' ? server.major : request.major
  if (wanted < server.major) {
    throw new VerificationError(
      'client-too-old',
      `postgres-version ${describeRequest(request)} is older than the server (PostgreSQL ${server.text}): ` +
        `pg_dump cannot dump a server of a newer major.`,
      `Set postgres-version to auto or to ${server.major} or newer.`
    )
  }
  const installed = options.source === 'any' ? await findClientTools(options.env, options.platform) : []
  const cached = await cachedClientTools(options.cache, options.arch, options.env, options.platform)
  const present: Present[] = [
    ...installed.map((tools) => ({ tools, origin: 'found' as const })),
    ...cached.map((tools) => ({ tools, origin: 'cache' as const }))
  ]
  const chosen = choosePresent(present, server, request)
  if (chosen) return chosen

  const target = targetTriple(options.platform, options.arch, detectLibc())
  try {
    const version = await archiveVersionFor(request, server, options)
    options.log(`No suitable client here; installing PostgreSQL client ${version.major}.${version.minor} (${target}) into the tool cache`)
    const installedNow = await installWithFallback(version, request, options, target)
    return {
      tools: installedNow.tools,
      origin: installedNow.origin,
      reason: `no client of major ${wanted} was installed; server major ${server.major}`
    }
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error
    const newestPresent = newest(present)
    const hint = `${installHint(wanted, options.platform)} Or point tools-url at a mirror that has PostgreSQL ${wanted} for ${target}.`
    if (newestPresent && request.kind === 'auto') {
      throw new VerificationError(
        'client-too-old',
        `Server newer than client: the server runs PostgreSQL ${server.text}, but the newest client tools ` +
          `found are ${newestPresent.tools.version.text} (${newestPresent.tools.directory}), and no client of ` +
          `major ${wanted} could be installed: ${error.message}`,
        hint
      )
    }
    throw new VerificationError(
      ['tools-checksum-mismatch', 'tools-not-published', 'bad-input'].includes(error.problem) ? error.problem : 'tools-missing',
      `PostgreSQL client tools ${request.kind === 'auto' ? `of major ${wanted}` : describeRequest(request)} are not installed, and could not be installed: ${error.message}`,
      error.hint ?? hint
    )
  }
}

/** Which archive to fetch: the exact version asked for, else the server's own version, else the newest of the major. */
async function archiveVersionFor(request: VersionRequest, server: ServerVersion, options: ProvisionOptions): Promise<ArchiveVersion> {
  if (request.kind === 'exact') return { major: request.major, minor: request.minor, release: request.release }
  const major = request.kind === 'auto' ? server.major : request.major
  if (major === server.major && server.number >= 100000) return { major, minor: server.number % 10000, release: 0 }
  return newestPublished(major, options)
}

async function newestPublished(major: number, options: ProvisionOptions): Promise<ArchiveVersion> {
  if (options.toolsUrl !== DEFAULT_TOOLS_URL) {
    throw new VerificationError(
      'bad-input',
      `With a custom tools-url, PostgreSQL ${major} needs an exact version: set postgres-version to one the mirror has, e.g. ${major}.2.`
    )
  }
  const listing = await fetchText(DEFAULT_RELEASES_URL, options.retry, options.log)
  const tags = (JSON.parse(listing) as Array<{ tag_name?: string }>).map((release) => release.tag_name ?? '')
  const found = newestOfMajor(tags, major)
  if (!found) throw new VerificationError('tools-download-failed', `The default source publishes no build of PostgreSQL ${major}.`)
  return found
}

/** The server's exact minor may be newer than any published build; then the newest build of that major. */
async function installWithFallback(version: ArchiveVersion, request: VersionRequest, options: ProvisionOptions, target: string) {
  const installOptions = { ...options, target }
  try {
    return await installClientTools(version, installOptions)
  } catch (error) {
    const missing = error instanceof VerificationError && error.problem === 'tools-not-published'
    if (!missing || request.kind === 'exact' || options.toolsUrl !== DEFAULT_TOOLS_URL) throw error
    return installClientTools(await newestPublished(version.major, options), installOptions)
  }
}
