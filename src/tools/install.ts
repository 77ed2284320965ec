// Installs a client from an archive of relocatable PostgreSQL builds into the tool cache:
// checksum first, then download (verified against it), extract, cache, and check what came out.

import { existsSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { rmRF } from '@actions/io'
import { VerificationError } from '../run/errors.js'
import { runTool } from './process.js'
import { scrubbedEnvironment } from '../connection/environment.js'
import type { ToolCache } from './cache.js'
import { downloadFile, fetchText, NotFoundError, type RetryPolicy } from './download.js'
import { inspectDirectory, type ClientTools } from './locate.js'
import { checksumUrlFor, expandToolsUrl, formatArchiveVersion, parseChecksumFile, type ArchiveVersion } from './source.js'

export interface InstallOptions {
  toolsUrl: string
  target: string
  platform: NodeJS.Platform
  arch: string
  cache: ToolCache
  /** A private temporary folder for the archive and its extraction. */
  workFolder: string
  retry: RetryPolicy
  env: NodeJS.ProcessEnv
  log: (line: string) => void
}

export interface InstalledTools {
  tools: ClientTools
  origin: 'cache' | 'downloaded'
  url?: string
}

/** Every client in the tool cache that still answers with a complete set of tools. */
export async function cachedClientTools(
  cache: ToolCache,
  arch: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform
): Promise<ClientTools[]> {
  const found: ClientTools[] = []
  for (const version of cache.versions(arch)) {
    const folder = cache.find(version, arch)
    const tools = folder && (await inspectDirectory(path.join(folder, 'bin'), 'tool cache', env, platform))
    if (tools) found.push(tools)
  }
  return found
}

export async function installClientTools(version: ArchiveVersion, options: InstallOptions): Promise<InstalledTools> {
  const versionText = formatArchiveVersion(version)
  const { cache, arch, env, platform } = options
  const cached = cache.find(versionText, arch)
  if (cached) {
    const tools = await inspectDirectory(path.join(cached, 'bin'), 'tool cache', env, platform)
    if (tools) return { tools, origin: 'cache' }
  }

  const url = expandToolsUrl(options.toolsUrl, version, options.target, platform, arch)
  const notThere = () =>
    new VerificationError(
      'tools-not-published',
      `No PostgreSQL client ${versionText} for ${options.target}: ${url} does not exist (404).`,
      'Set postgres-version to a version the source publishes, or tools-url to a mirror that has this one.'
    )
  const sumUrl = checksumUrlFor(url)
  const checksumText = await fetchText(sumUrl, options.retry, options.log).catch((error: unknown) => {
    throw error instanceof NotFoundError ? notThere() : error
  })
  const expected = parseChecksumFile(checksumText)
  if (!expected) {
    throw new VerificationError(
      'tools-checksum-mismatch',
      `The checksum file ${sumUrl} holds no SHA-256; refusing to install an archive that cannot be verified.`
    )
  }
  await mkdir(options.workFolder, { recursive: true })
  const archive = path.join(options.workFolder, path.basename(new URL(url).pathname) || 'postgresql.tar.gz')
  options.log(`Downloading ${url}`)
  const actual = await downloadFile(url, archive, options.retry, options.log).catch((error: unknown) => {
    throw error instanceof NotFoundError ? notThere() : error
  })
  if (actual !== expected) {
    throw new VerificationError(
      'tools-checksum-mismatch',
      `Checksum mismatch for ${url}: the published SHA-256 is ${expected}, the download has ${actual}. Refusing to use it.`,
      'A corrupted download or a tampered mirror: try again, and check the mirror behind tools-url.'
    )
  }
  options.log(`SHA-256 verified: ${actual}`)
  const extracted = path.join(options.workFolder, 'extracted')
  await mkdir(extracted, { recursive: true })
  const untar = await runTool(tarCommand(platform, env), ['-xzf', archive, '-C', extracted], {
    env: scrubbedEnvironment(env),
    timeoutMs: 5 * 60_000
  })
  if (untar.exitCode !== 0) {
    throw new VerificationError(
      'tools-download-failed',
      `Could not extract ${path.basename(archive)}: ${untar.stderr.trim() || `tar exited with ${untar.exitCode}`}`
    )
  }
  const root = await installRoot(extracted, platform)
  const found = await inspectDirectory(path.join(root, 'bin'), 'downloaded', env, platform)
  if (!found || found.version.major !== version.major || found.version.minor !== version.minor) {
    throw new VerificationError(
      'tools-download-failed',
      `The archive ${path.basename(archive)} does not hold working client tools of PostgreSQL ${version.major}.${version.minor}` +
        (found ? ` (it holds ${found.version.text})` : ' (pg_dump, pg_restore and psql did not all run)') +
        '.'
    )
  }
  const cachedFolder = await cache.add(root, versionText, arch)
  await rmRF(extracted)
  await rm(archive, { force: true })
  const tools = await inspectDirectory(path.join(cachedFolder, 'bin'), 'downloaded', env, platform)
  if (!tools)
    throw new VerificationError('tools-download-failed', `The client tools copied into the tool cache at ${cachedFolder} do not run.`)
  return { tools, origin: 'downloaded', url }
}

/**
 * Windows' own bsdtar: a GNU tar from Git for Windows, if first on PATH, would read "C:\..." as a
 * remote host.
 */
export function tarCommand(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string {
  return platform === 'win32' ? path.win32.join(env.SystemRoot ?? 'C:\\Windows', 'System32', 'tar.exe') : 'tar'
}

/** The folder holding bin/: the extraction folder itself, or its single top-level folder. */
export async function installRoot(extracted: string, platform: NodeJS.Platform): Promise<string> {
  const pgDump = platform === 'win32' ? 'pg_dump.exe' : 'pg_dump'
  if (existsSync(path.join(extracted, 'bin', pgDump))) return extracted
  for (const entry of await readdir(extracted, { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(path.join(extracted, entry.name, 'bin', pgDump))) return path.join(extracted, entry.name)
  }
  throw new VerificationError('tools-download-failed', 'The archive has no bin/pg_dump, at its top or one folder down.')
}
