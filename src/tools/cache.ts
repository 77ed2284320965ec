// Where downloaded client tools are kept between runs: the runner's tool cache, or a folder in the
// user's cache directory for the terminal. Both use the same layout:
// <root>/postgresql-client/<version>/<arch>/ with an "<arch>.complete" marker beside it.

import { cp, mkdir, rm, writeFile } from 'node:fs/promises'
import { existsSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { rmRF } from '@actions/io'

export const TOOL_NAME = 'postgresql-client'

export interface ToolCache {
  /** The cached folder of that exact version, or undefined. */
  find(version: string, arch: string): string | undefined
  /** Every cached version for this architecture. */
  versions(arch: string): string[]
  /** Copies a folder into the cache and returns where it now is. */
  add(sourceDirectory: string, version: string, arch: string): Promise<string>
}

/**
 * Where downloaded clients are kept: the runner's tool cache; else the user's cache folder
 * (XDG_CACHE_HOME, %LOCALAPPDATA% on Windows, ~/.cache), in a backup-verify folder of its own.
 */
export function defaultCacheRoot(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (env.RUNNER_TOOL_CACHE) return env.RUNNER_TOOL_CACHE
  const join = platform === 'win32' ? path.win32.join : path.posix.join
  const base = env.XDG_CACHE_HOME || (platform === 'win32' ? env.LOCALAPPDATA : undefined) || join(home, '.cache')
  return join(base, 'backup-verify')
}

export class FolderToolCache implements ToolCache {
  constructor(private readonly root: string) {}

  private folder(version: string, arch: string): string {
    return path.join(this.root, TOOL_NAME, version, arch)
  }

  find(version: string, arch: string): string | undefined {
    const folder = this.folder(version, arch)
    return existsSync(`${folder}.complete`) ? folder : undefined
  }

  versions(arch: string): string[] {
    try {
      return readdirSync(path.join(this.root, TOOL_NAME)).filter((version) => this.find(version, arch) !== undefined)
    } catch {
      return []
    }
  }

  async add(sourceDirectory: string, version: string, arch: string): Promise<string> {
    const folder = this.folder(version, arch)
    await rmRF(folder)
    await rm(`${folder}.complete`, { force: true })
    await mkdir(folder, { recursive: true })
    await cp(sourceDirectory, folder, { recursive: true, verbatimSymlinks: true })
    // The marker last: a half-copied folder is never found.
    await writeFile(`${folder}.complete`, '')
    return folder
  }
}
