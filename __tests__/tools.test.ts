// Client tool versions, the folders searched for them, and the choice among several installations.

import { describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { candidateDirectories, chooseClientTools, findClientTools, type ClientTools } from '../src/tools/locate.js'
import { parseToolVersion } from '../src/tools/version.js'
import { majorOf } from '../src/postgres/session.js'

describe('parseToolVersion', () => {
  test.each([
    ['pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)', 15, 18, '15.18'],
    ['pg_dump (PostgreSQL) 16.4 (Ubuntu 16.4-0ubuntu0.24.04.2)', 16, 4, '16.4'],
    ['pg_dump (PostgreSQL) 17.2 (Homebrew)', 17, 2, '17.2'],
    ['pg_dump.exe (PostgreSQL) 17.0', 17, 0, '17.0'],
    ['psql (PostgreSQL) 18beta1', 18, 0, '18beta1'],
    ['pg_dump (PostgreSQL) 19devel', 19, 0, '19devel'],
    ['pg_restore (PostgreSQL) 9.6.24', 9.6, 24, '9.6.24'],
    ['pg_dump (PostgreSQL) 13.16 (Postgres.app)\n', 13, 16, '13.16']
  ])('%s', (output, major, minor, text) => {
    expect(parseToolVersion(output)).toEqual({ major, minor, text })
  })

  test('anything else is not a version', () => {
    expect(parseToolVersion('pg_dump: command not found')).toBeUndefined()
  })

  test('server_version_num gives the same majors', () => {
    expect(majorOf(150018)).toBe(15)
    expect(majorOf(180000)).toBe(18)
    expect(majorOf(90624)).toBe(9.6)
  })
})

describe('candidateDirectories', () => {
  const tree: Record<string, string[]> = {
    '/usr/lib/postgresql': ['14', '16', 'README'],
    '/usr': ['bin', 'pgsql-15', 'lib'],
    '/opt/homebrew/opt': ['postgresql@17', 'postgresql@15', 'openssl@3']
  }
  const list = (directory: string) => tree[directory] ?? []

  test('PGBIN first, then PATH, then the usual folders newest first', () => {
    const found = candidateDirectories({ PGBIN: '/custom/bin', PATH: '/usr/local/bin:/usr/bin' }, 'linux', list).map((c) => `${c.origin}:${c.directory}`)
    expect(found.slice(0, 5)).toEqual([
      'PGBIN:/custom/bin',
      'PATH:/usr/local/bin',
      'PATH:/usr/bin',
      'standard location:/usr/lib/postgresql/16/bin',
      'standard location:/usr/lib/postgresql/14/bin'
    ])
    expect(found).toContain('standard location:/usr/pgsql-15/bin')
    expect(found).toContain('standard location:/opt/homebrew/opt/postgresql@17/bin')
    expect(found.indexOf('standard location:/opt/homebrew/opt/postgresql@17/bin')).toBeLessThan(
      found.indexOf('standard location:/opt/homebrew/opt/postgresql@15/bin')
    )
    expect(found).toContain('standard location:/opt/homebrew/opt/libpq/bin')
  })

  test('Windows: Program Files\\PostgreSQL\\<N>\\bin and a ;-separated Path', () => {
    const windowsTree: Record<string, string[]> = { 'C:\\Program Files\\PostgreSQL': ['16', '17'] }
    const found = candidateDirectories({ Path: 'C:\\Windows;C:\\tools' }, 'win32', (d) => windowsTree[d] ?? []).map((c) => c.directory)
    expect(found).toEqual(['C:\\Windows', 'C:\\tools', 'C:\\Program Files\\PostgreSQL\\17\\bin', 'C:\\Program Files\\PostgreSQL\\16\\bin'])
  })
})

describe('chooseClientTools', () => {
  const tools = (major: number, minor = 0): ClientTools => ({
    directory: `/pg/${major}/bin`,
    version: { major, minor, text: `${major}.${minor}` },
    pgDump: `/pg/${major}/bin/pg_dump`,
    pgRestore: `/pg/${major}/bin/pg_restore`,
    psql: `/pg/${major}/bin/psql`,
    origin: 'standard location'
  })

  test('the newest major that is at least the server\'s', () => {
    expect(chooseClientTools([tools(14), tools(17, 2), tools(16)], 15, '15.8').directory).toBe('/pg/17/bin')
    expect(chooseClientTools([tools(15, 3), tools(15, 10)], 15, '15.8').version.text).toBe('15.10')
  })

  test('a server newer than every client names both versions and the fix', () => {
    expect(() => chooseClientTools([tools(14), tools(15, 18)], 17, '17.2', 'linux')).toThrow(
      'Server newer than client: the server runs PostgreSQL 17.2, but the newest client tools found are 15.18 (/pg/15/bin)'
    )
    try {
      chooseClientTools([tools(15)], 17, '17.2', 'linux')
    } catch (error) {
      expect((error as { hint: string }).hint).toContain('postgresql-client-17')
    }
  })

  test('no tools at all gives an install hint for the operating system', () => {
    for (const [platform, hint] of [
      ['linux', 'apt-get install postgresql-client-16'],
      ['darwin', 'brew install postgresql@16'],
      ['win32', 'choco install postgresql16']
    ] as const) {
      try {
        chooseClientTools([], 16, '16.1', platform)
        throw new Error('expected a failure')
      } catch (error) {
        expect((error as Error).message).toBe('PostgreSQL client tools (pg_dump, pg_restore, psql) not found on PATH, in PGBIN or in the usual install folders.')
        expect((error as { hint: string }).hint).toContain(hint)
      }
    }
  })
})

describe('findClientTools on real files', () => {
  const fakeTools = async (versions: Record<string, string>) => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-fakebin-'))
    for (const [tool, version] of Object.entries(versions)) {
      await writeFile(path.join(directory, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`, { mode: 0o755 })
    }
    return directory
  }

  test('reads each tool\'s version; a folder whose tools disagree is passed over', async () => {
    const consistent = await fakeTools({ pg_dump: '18beta1', pg_restore: '18beta1', psql: '18beta1' })
    const mixed = await fakeTools({ pg_dump: '19.1', pg_restore: '19.1', psql: '14.2' })
    const incomplete = await fakeTools({ pg_dump: '20.0' })
    try {
      const found = await findClientTools({ PATH: [mixed, incomplete, consistent].join(':') }, 'linux')
      const fromPath = found.filter((tools) => tools.origin === 'PATH')
      expect(fromPath.map((tools) => [tools.directory, tools.version.text])).toEqual([[consistent, '18beta1']])
      expect(fromPath[0].psql).toBe(path.join(consistent, 'psql'))
      expect(chooseClientTools(found, 17, '17.0').directory).toBe(consistent)
    } finally {
      await Promise.all([consistent, mixed, incomplete].map((directory) => rm(directory, { recursive: true, force: true })))
    }
  })
})
