// Client tool versions, the folders searched for them, and the choice among several installations.

import { describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { candidateDirectories, findClientTools } from '../../../src/tools/locate.js'
import { choosePresent, type Present } from '../../../src/tools/provision.js'
import {
  checksumUrlFor,
  DEFAULT_TOOLS_URL,
  expandToolsUrl,
  newestOfMajor,
  parseChecksumFile,
  parseVersionRequest,
  validateToolsUrl
} from '../../../src/tools/source.js'
import { detectLibc, targetTriple } from '../../../src/tools/target.js'
import { parseToolVersion } from '../../../src/tools/version.js'
import { majorOf } from '../../../src/connection/session.js'

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
    const found = candidateDirectories({ PGBIN: '/custom/bin', PATH: '/usr/local/bin:/usr/bin' }, 'linux', list).map(
      (c) => `${c.origin}:${c.directory}`
    )
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

describe('choosePresent', () => {
  const tools = (major: number, minor = 0, origin: Present['origin'] = 'found'): Present => ({
    origin,
    tools: {
      directory: `/pg/${major}.${minor}/bin`,
      version: { major, minor, text: `${major}.${minor}` },
      pgDump: `/pg/${major}/bin/pg_dump`,
      pgRestore: `/pg/${major}/bin/pg_restore`,
      psql: `/pg/${major}/bin/psql`,
      origin: 'standard location'
    }
  })
  const server = { major: 15, text: '15.8' }

  test("auto prefers the server's own major, newest minor, installed or cached", () => {
    const chosen = choosePresent([tools(14), tools(17, 2), tools(15, 3), tools(15, 10, 'cache')], server, { kind: 'auto' })
    expect(chosen).toMatchObject({ origin: 'cache', reason: 'server major 15', tools: { version: { text: '15.10' } } })
  })

  test("auto takes a newer major when the server's is not here, and says why", () => {
    const chosen = choosePresent([tools(14), tools(16, 4), tools(17, 2)], server, { kind: 'auto' })
    expect(chosen?.tools.version.text).toBe('17.2')
    expect(chosen?.reason).toContain('no client of major 15 here; 17 is newer than the server')
  })

  test('nothing acceptable: undefined, so a download follows', () => {
    expect(choosePresent([tools(14)], server, { kind: 'auto' })).toBeUndefined()
    expect(choosePresent([], server, { kind: 'auto' })).toBeUndefined()
  })

  test('an explicit major or exact version takes only that', () => {
    expect(choosePresent([tools(17, 2), tools(16, 4)], server, { kind: 'major', major: 16 })?.tools.version.text).toBe('16.4')
    expect(choosePresent([tools(17, 2)], server, { kind: 'major', major: 16 })).toBeUndefined()
    expect(
      choosePresent([tools(17, 2), tools(17, 4)], server, { kind: 'exact', major: 17, minor: 2, release: 0 })?.tools.version.text
    ).toBe('17.2')
    expect(choosePresent([tools(17, 4)], server, { kind: 'exact', major: 17, minor: 2, release: 0 })).toBeUndefined()
  })
})

describe('targetTriple', () => {
  test.each([
    ['linux', 'x64', 'gnu', 'x86_64-unknown-linux-gnu'],
    ['linux', 'x64', 'musl', 'x86_64-unknown-linux-musl'],
    ['linux', 'arm64', 'gnu', 'aarch64-unknown-linux-gnu'],
    ['linux', 'arm64', 'musl', 'aarch64-unknown-linux-musl'],
    ['linux', 'arm', 'gnu', 'armv7-unknown-linux-gnueabihf'],
    ['linux', 'ppc64', 'gnu', 'powerpc64le-unknown-linux-gnu'],
    ['linux', 's390x', 'gnu', 's390x-unknown-linux-gnu'],
    ['darwin', 'x64', 'gnu', 'x86_64-apple-darwin'],
    ['darwin', 'arm64', 'gnu', 'aarch64-apple-darwin'],
    ['win32', 'x64', 'gnu', 'x86_64-pc-windows-msvc'],
    ['win32', 'arm64', 'gnu', 'aarch64-pc-windows-msvc']
  ] as const)('%s %s %s', (platform, arch, libc, triple) => {
    expect(targetTriple(platform, arch, libc)).toBe(triple)
  })

  test('an unknown platform is a clear error', () => {
    expect(() => targetTriple('aix', 'ppc64')).toThrow('No prebuilt PostgreSQL client is known for aix/ppc64.')
  })

  test('this machine is detected as glibc or musl', () => {
    expect(['gnu', 'musl']).toContain(detectLibc())
  })
})

describe('postgres-version and tools-url', () => {
  test.each([
    ['', { kind: 'auto' }],
    ['auto', { kind: 'auto' }],
    ['17', { kind: 'major', major: 17 }],
    ['17.2', { kind: 'exact', major: 17, minor: 2, release: 0 }],
    ['16.4.1', { kind: 'exact', major: 16, minor: 4, release: 1 }],
    ['25', { kind: 'major', major: 25 }]
  ])('%j', (text, request) => {
    expect(parseVersionRequest('postgres-version', text)).toEqual(request)
  })

  test.each(['latest', '9.6', '17.x', '-1', '17.2.0.1'])('%j is refused, naming the input', (text) => {
    expect(() => parseVersionRequest('postgres-version', text)).toThrow(
      `Input "postgres-version" has an invalid value ${JSON.stringify(text)}`
    )
  })

  test('the default source expands to its release asset and checksum', () => {
    const url = expandToolsUrl(DEFAULT_TOOLS_URL, { major: 17, minor: 2, release: 0 }, 'x86_64-unknown-linux-gnu', 'linux', 'x64')
    expect(url).toBe(
      'https://github.com/theseus-rs/postgresql-binaries/releases/download/17.2.0/postgresql-17.2.0-x86_64-unknown-linux-gnu.tar.gz'
    )
    expect(checksumUrlFor(url)).toBe(`${url}.sha256`)
    expect(checksumUrlFor('https://mirror.test/pg/a.tar.gz?token=x')).toBe('https://mirror.test/pg/a.tar.gz.sha256?token=x')
  })

  test('every placeholder of a mirror template is filled', () => {
    const template = 'https://mirror.test/{platform}/{arch}/pg-{major}.{minor}/{version}/{target}.tgz'
    expect(validateToolsUrl('tools-url', template)).toBe(template)
    expect(expandToolsUrl(template, { major: 16, minor: 4, release: 1 }, 'aarch64-apple-darwin', 'darwin', 'arm64')).toBe(
      'https://mirror.test/darwin/arm64/pg-16.4/16.4.1/aarch64-apple-darwin.tgz'
    )
  })

  test.each(['not a url', 'ftp://mirror.test/{version}.tgz', 'https://mirror.test/fixed.tgz', 'https://mirror.test/{version}/{nope}.tgz'])(
    'tools-url %j is refused',
    (template) => {
      expect(() => validateToolsUrl('tools-url', template)).toThrow('Input "tools-url" has an invalid value')
    }
  )

  test('checksum files: sha256sum/shasum style and certutil style', () => {
    const hex = 'ab'.repeat(32)
    expect(parseChecksumFile(`${hex}  postgresql-17.2.0-x86_64-unknown-linux-gnu.tar.gz\n`)).toBe(hex)
    expect(parseChecksumFile(`${hex.toUpperCase()} *file.tar.gz`)).toBe(hex)
    const certutil = `SHA256 hash of postgresql.tar.gz:\r\n${hex.match(/../g)!.join(' ')}\r\nCertUtil: -hashfile command completed successfully.\r\n`
    expect(parseChecksumFile(certutil)).toBe(hex)
    expect(parseChecksumFile('<html>Not Found</html>')).toBeUndefined()
  })

  test('the newest build of a major among release tags', () => {
    expect(newestOfMajor(['17.2.0', '17.10.0', '17.9.1', '16.99.0', 'v17.10.1', 'latest'], 17)).toEqual({
      major: 17,
      minor: 10,
      release: 1
    })
    expect(newestOfMajor(['16.1.0'], 17)).toBeUndefined()
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

  test("reads each tool's version; a folder whose tools disagree is passed over", async () => {
    const consistent = await fakeTools({ pg_dump: '18beta1', pg_restore: '18beta1', psql: '18beta1' })
    const mixed = await fakeTools({ pg_dump: '19.1', pg_restore: '19.1', psql: '14.2' })
    const incomplete = await fakeTools({ pg_dump: '20.0' })
    try {
      const found = await findClientTools({ PATH: [mixed, incomplete, consistent].join(':') }, 'linux')
      const fromPath = found.filter((tools) => tools.origin === 'PATH')
      expect(fromPath.map((tools) => [tools.directory, tools.version.text])).toEqual([[consistent, '18beta1']])
      expect(fromPath[0].psql).toBe(path.join(consistent, 'psql'))
      expect(
        choosePresent(
          found.map((tools) => ({ tools, origin: 'found' as const })),
          { major: 17, text: '17.0' },
          { kind: 'auto' }
        )?.tools.directory
      ).toBe(consistent)
    } finally {
      await Promise.all([consistent, mixed, incomplete].map((directory) => rm(directory, { recursive: true, force: true })))
    }
  })
})
