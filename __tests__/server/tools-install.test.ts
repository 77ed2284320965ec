// Client tools downloaded for real: an HTTP server on 127.0.0.1 serves an archive built from this
// machine's client; the engine downloads, verifies, caches and then verifies a real database with it.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { FolderToolCache } from '../../src/tools/cache.js'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { detectLibc, targetTriple } from '../../src/tools/target.js'
import { provideClientTools } from '../../src/tools/provision.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { archiveFiles, buildClientArchive, startArchiveServer, type ArchiveServer, type ClientArchive } from '../support/archive-server.js'
import { recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'

const FAST_RETRY = { attempts: 3, baseDelayMs: 10 }
const { server, work } = useServer('install')
let local: ClientTools
let archive: ClientArchive

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
  local = (await findClientTools()).sort((a, b) => b.version.major - a.version.major)[0]
  archive = await buildClientArchive(local, targetTriple(process.platform, process.arch, detectLibc()))
})

async function verifyWith(downloads: ArchiveServer, cacheRoot: string, version = `${local.version.major}.${local.version.minor}`) {
  const inputs: Record<string, string> = {
    'database-url': server.url('shop'),
    'postgres-version': version,
    'tools-url': downloads.template,
    'tools-source': 'tool-cache'
  }
  const settings = settingsFrom(inputs, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, toolCache: new FolderToolCache(cacheRoot), retry: FAST_RETRY })
  return { result, reporter }
}

describe('installing client tools into the tool cache', () => {
  test('downloads, verifies the checksum, caches, and verifies a database with them; the second run downloads nothing', async () => {
    const downloads = await startArchiveServer(archiveFiles(archive))
    const cacheRoot = await mkdtemp(path.join(work, 'cache-'))
    try {
      const first = await verifyWith(downloads, cacheRoot)
      expect(first.result.error).toBeUndefined()
      expect(first.result.status).toBe('passed')
      expect(first.result.client).toMatchObject({ version: local.version.text, origin: 'downloaded' })
      expect(first.result.client?.directory).toBe(path.join(cacheRoot, 'postgresql-client', archive.version, process.arch, 'bin'))
      expect(first.reporter.lines.join('\n')).toContain(`SHA-256 verified: ${archive.sha256}`)
      expect(downloads.requests).toEqual([
        `/${archive.version}/${archive.name}.tar.gz.sha256`,
        `/${archive.version}/${archive.name}.tar.gz`
      ])

      const second = await verifyWith(downloads, cacheRoot)
      expect(second.result.status).toBe('passed')
      expect(second.result.client?.origin).toBe('cache')
      expect(downloads.requests).toHaveLength(2)
      expect(await temporaryDatabases(server)).toEqual([])
    } finally {
      await downloads.close()
    }
  })

  test('a wrong checksum is refused and nothing is cached', async () => {
    const downloads = await startArchiveServer(archiveFiles(archive, 'cd'.repeat(32)))
    const cacheRoot = await mkdtemp(path.join(work, 'cache-'))
    try {
      const { result } = await verifyWith(downloads, cacheRoot)
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('tools-checksum-mismatch')
      expect(result.error?.message).toContain(
        `the published SHA-256 is ${'cd'.repeat(32)}, the download has ${archive.sha256}. Refusing to use it.`
      )
      expect(new FolderToolCache(cacheRoot).versions(process.arch)).toEqual([])
      expect(result.backup).toBeUndefined()
    } finally {
      await downloads.close()
    }
  })

  test('a version the source does not have: a 404 names the version and the platform', async () => {
    const downloads = await startArchiveServer(archiveFiles(archive))
    try {
      const { result } = await verifyWith(downloads, await mkdtemp(path.join(work, 'cache-')), `${local.version.major}.99`)
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('tools-not-published')
      expect(result.error?.message).toContain(
        `No PostgreSQL client ${local.version.major}.99.0 for ${archive.name.split('-').slice(2).join('-')}:`
      )
      expect(result.error?.message).toContain('does not exist (404)')
    } finally {
      await downloads.close()
    }
  })

  test('a server that resets the connection: retried, then a clear error', async () => {
    const downloads = await startArchiveServer(archiveFiles(archive))
    downloads.behave(`/${archive.version}/${archive.name}.tar.gz.sha256`, 'reset')
    try {
      const { result, reporter } = await verifyWith(downloads, await mkdtemp(path.join(work, 'cache-')))
      expect(result.status).toBe('failed')
      expect(result.error?.message).toMatch(/Could not download http:\/\/127\.0\.0\.1:\d+\/\S+\.sha256 after 3 attempt\(s\)/)
      expect(downloads.requests).toHaveLength(3)
      expect(reporter.lines.filter((line) => line.includes('retrying in'))).toHaveLength(2)
    } finally {
      await downloads.close()
    }
  })

  test("with a mirror, a major other than the server's needs an exact version (a mirror has no release list)", async () => {
    const downloads = await startArchiveServer({})
    try {
      const options = {
        request: { kind: 'major' as const, major: local.version.major + 1 },
        source: 'tool-cache' as const,
        toolsUrl: downloads.template,
        cache: new FolderToolCache(await mkdtemp(path.join(work, 'cache-'))),
        workFolder: await mkdtemp(path.join(work, 'tools-')),
        retry: FAST_RETRY,
        env: process.env,
        platform: process.platform,
        arch: process.arch,
        log: () => {}
      }
      const server = { text: `${local.version.major}.1`, number: local.version.major * 10000 + 1, major: local.version.major }
      await expect(provideClientTools(server, options)).rejects.toThrow(
        `With a custom tools-url, PostgreSQL ${local.version.major + 1} needs an exact version: set postgres-version to one the mirror has`
      )
      expect(downloads.requests).toEqual([])
    } finally {
      await downloads.close()
    }
  })

  test('a reset that passes: the retry succeeds and the verification passes', async () => {
    const downloads = await startArchiveServer(archiveFiles(archive))
    downloads.behave(`/${archive.version}/${archive.name}.tar.gz`, 'reset', 'serve')
    try {
      const { result } = await verifyWith(downloads, await mkdtemp(path.join(work, 'cache-')))
      expect(result.error).toBeUndefined()
      expect(result.client?.origin).toBe('downloaded')
      expect(downloads.requests.filter((p) => p.endsWith('.tar.gz'))).toHaveLength(2)
    } finally {
      await downloads.close()
    }
  })
})
