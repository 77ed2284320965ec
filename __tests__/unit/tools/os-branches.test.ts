// The code paths of macOS and Windows, run here on Linux: tool names and joins, the cache folder, the
// archive to download and how it is extracted, the install hint. The cross-OS CI jobs run them for real.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { candidateDirectories, installHint, toolPath } from '../../../src/tools/locate.js'
import { defaultCacheRoot } from '../../../src/tools/cache.js'
import { installRoot, tarCommand } from '../../../src/tools/install.js'
import { DEFAULT_TOOLS_URL, expandToolsUrl } from '../../../src/tools/source.js'
import { targetTriple } from '../../../src/tools/target.js'

let folder: string

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-os-'))
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

describe('tool files', () => {
  test('pg_dump.exe joined with backslashes on Windows; pg_dump joined with slashes elsewhere', () => {
    expect(toolPath('C:\\Program Files\\PostgreSQL\\17\\bin', 'pg_dump', 'win32')).toBe(
      'C:\\Program Files\\PostgreSQL\\17\\bin\\pg_dump.exe'
    )
    expect(toolPath('D:/tools/pg', 'psql', 'win32')).toBe('D:\\tools\\pg\\psql.exe')
    expect(toolPath('/opt/homebrew/opt/libpq/bin', 'pg_restore', 'darwin')).toBe('/opt/homebrew/opt/libpq/bin/pg_restore')
    expect(toolPath('/usr/lib/postgresql/16/bin', 'pg_dump', 'linux')).toBe('/usr/lib/postgresql/16/bin/pg_dump')
  })

  test("macOS: Homebrew's versioned formulae and libpq, then Postgres.app, newest first", () => {
    const tree: Record<string, string[]> = {
      '/opt/homebrew/opt': ['postgresql@16', 'postgresql@18', 'libpq', 'openssl@3'],
      '/Applications/Postgres.app/Contents/Versions': ['15', '17', 'latest']
    }
    const found = candidateDirectories({ PATH: '/usr/bin:/bin' }, 'darwin', (directory) => tree[directory] ?? []).map((c) => c.directory)
    const order = (directory: string) => found.indexOf(directory)
    expect(order('/opt/homebrew/opt/postgresql@18/bin')).toBeLessThan(order('/opt/homebrew/opt/postgresql@16/bin'))
    expect(found).toContain('/opt/homebrew/opt/libpq/bin')
    expect(order('/Applications/Postgres.app/Contents/Versions/17/bin')).toBeLessThan(
      order('/Applications/Postgres.app/Contents/Versions/15/bin')
    )
    expect(found).not.toContain('/Applications/Postgres.app/Contents/Versions/latest/bin')
    // Postgres.app is a macOS thing only.
    const onLinux = candidateDirectories({ PATH: '' }, 'linux', (directory) => tree[directory] ?? []).map((c) => c.directory)
    expect(onLinux.some((directory) => directory.startsWith('/Applications'))).toBe(false)
  })

  test('Windows: both Program Files folders, each major newest first', () => {
    const tree: Record<string, string[]> = {
      'D:\\Apps\\PostgreSQL': ['15'],
      'C:\\Program Files (x86)\\PostgreSQL': ['14']
    }
    const found = candidateDirectories(
      { PATH: 'C:\\bin', ProgramFiles: 'D:\\Apps', 'ProgramFiles(x86)': 'C:\\Program Files (x86)' },
      'win32',
      (directory) => tree[directory] ?? []
    )
    expect(found.map((c) => `${c.origin}:${c.directory}`)).toEqual([
      'PATH:C:\\bin',
      'standard location:D:\\Apps\\PostgreSQL\\15\\bin',
      'standard location:C:\\Program Files (x86)\\PostgreSQL\\14\\bin'
    ])
  })
})

describe('the cache folder', () => {
  test("the runner's tool cache first, wherever it runs", () => {
    expect(defaultCacheRoot({ RUNNER_TOOL_CACHE: 'C:\\hostedtoolcache\\windows' }, 'win32', 'C:\\Users\\runner')).toBe(
      'C:\\hostedtoolcache\\windows'
    )
  })

  test('by hand: %LOCALAPPDATA% on Windows, XDG_CACHE_HOME or ~/.cache elsewhere', () => {
    expect(defaultCacheRoot({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32', 'C:\\Users\\me')).toBe(
      'C:\\Users\\me\\AppData\\Local\\backup-verify'
    )
    expect(defaultCacheRoot({}, 'win32', 'C:\\Users\\me')).toBe('C:\\Users\\me\\.cache\\backup-verify')
    expect(defaultCacheRoot({}, 'darwin', '/Users/me')).toBe('/Users/me/.cache/backup-verify')
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '/var/cache/me', LOCALAPPDATA: 'ignored' }, 'linux', '/home/me')).toBe(
      '/var/cache/me/backup-verify'
    )
  })
})

describe('downloads', () => {
  test('the archive each runner downloads by default', () => {
    const version = { major: 17, minor: 2, release: 0 }
    const urls = (
      [
        ['linux', 'x64'],
        ['linux', 'arm64'],
        ['darwin', 'arm64'],
        ['win32', 'x64']
      ] as const
    ).map(([platform, arch]) => expandToolsUrl(DEFAULT_TOOLS_URL, version, targetTriple(platform, arch, 'gnu'), platform, arch))
    expect(urls.map((url) => url.split('/').pop())).toEqual([
      'postgresql-17.2.0-x86_64-unknown-linux-gnu.tar.gz',
      'postgresql-17.2.0-aarch64-unknown-linux-gnu.tar.gz',
      'postgresql-17.2.0-aarch64-apple-darwin.tar.gz',
      'postgresql-17.2.0-x86_64-pc-windows-msvc.tar.gz'
    ])
  })

  test('Windows extracts with its own bsdtar (a Git for Windows tar would read C:\\ as a host); others with tar', () => {
    expect(tarCommand('win32', { SystemRoot: 'D:\\WINDOWS' })).toBe('D:\\WINDOWS\\System32\\tar.exe')
    expect(tarCommand('win32', {})).toBe('C:\\Windows\\System32\\tar.exe')
    expect(tarCommand('darwin', { SystemRoot: 'C:\\Windows' })).toBe('tar')
  })

  test('the extracted client is found at the top or one folder down, by pg_dump.exe on Windows', async () => {
    const windows = path.join(folder, 'windows')
    await mkdir(path.join(windows, 'postgresql-17.2.0', 'bin'), { recursive: true })
    await writeFile(path.join(windows, 'postgresql-17.2.0', 'bin', 'pg_dump.exe'), '')
    expect(await installRoot(windows, 'win32')).toBe(path.join(windows, 'postgresql-17.2.0'))
    // The same folder holds no pg_dump for a Unix.
    await expect(installRoot(windows, 'darwin')).rejects.toThrow('The archive has no bin/pg_dump, at its top or one folder down.')
    const flat = path.join(folder, 'flat')
    await mkdir(path.join(flat, 'bin'), { recursive: true })
    await writeFile(path.join(flat, 'bin', 'pg_dump'), '')
    expect(await installRoot(flat, 'darwin')).toBe(flat)
  })
})

describe("the install hint, in each system's own words", () => {
  test.each([
    ['darwin', 'Install them with "brew install postgresql@17" (or libpq), or set PGBIN to their folder.'],
    ['win32', 'Install PostgreSQL 17 (the EDB installer or "choco install postgresql17"), or set PGBIN to its bin folder.'],
    ['linux', 'sudo apt-get install postgresql-client-17']
  ] as const)('%s', (platform, hint) => {
    expect(installHint(17, platform)).toContain(hint)
  })
})
