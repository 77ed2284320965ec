// One case of the server-version matrix: a real server of the given major, this machine's client
// tools, and no way to fetch others. Where the client is new enough the verification passes;
// where the server is newer it fails before dumping, naming both majors and the fix.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from './verify.js'
import { FolderToolCache } from '../../src/tools/cache.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { startArchiveServer, type ArchiveServer } from './archive-server.js'
import { MemoryLedger, recordingReporter } from './reporter.js'
import { createSampleDatabase, startServer, temporaryDatabases, unavailableReason, type TestServer } from './server.js'

export function versionMatrixCase(major: number): void {
  const reason = unavailableReason(major)
  if (reason) {
    console.warn(`Skipping the PostgreSQL ${major} matrix case: ${reason}`)
    test.skip(`PostgreSQL ${major}: ${reason}`, () => {})
    return
  }
  let server: TestServer
  let downloads: ArchiveServer
  let work: string
  let newestClient: number

  beforeAll(async () => {
    server = await startServer({ major })
    await createSampleDatabase(server, 'matrix')
    // A download source that has nothing: the only clients are the ones installed here.
    downloads = await startArchiveServer({})
    work = await mkdtemp(path.join(os.tmpdir(), `backup-verify-matrix-${major}-`))
    newestClient = Math.max(...(await findClientTools()).map((tools) => tools.version.major))
  })

  afterAll(async () => {
    await server?.stop()
    await downloads?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  const run = async () => {
    const inputs: Record<string, string> = { 'database-url': server.url('matrix'), 'tools-url': downloads.template }
    const settings = settingsFrom(inputs, work)
    const ledger = new MemoryLedger()
    const result = await verifyBackup({
      settings,
      reporter: recordingReporter(),
      ledger,
      toolCache: new FolderToolCache(path.join(work, 'cache')),
      retry: { attempts: 1, baseDelayMs: 0 }
    })
    return { result, ledger }
  }

  test(`PostgreSQL ${major} server: passes with a client at least as new, or fails before dumping naming both majors`, async () => {
    const { result, ledger } = await run()
    expect(result.serverVersion).toMatch(new RegExp(`^${major}\\.`))
    if (newestClient >= major) {
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      expect(result.client?.origin).toBe('found')
      expect(result.tables?.restored).toHaveLength(4)
      if (newestClient > major)
        expect(result.client?.reason).toContain(`no client of major ${major} here; ${newestClient} is newer than the server`)
    } else {
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('client-too-old')
      expect(result.error?.message).toMatch(
        new RegExp(
          `^Server newer than client: the server runs PostgreSQL ${major}\\.\\d+.*, but the newest client tools found are ${newestClient}\\.\\d+ `
        )
      )
      expect(result.error?.message).toContain(`no client of major ${major} could be installed`)
      expect(result.error?.hint).toContain(`postgresql-client-${major}`)
      expect(result.error?.hint).toContain('tools-url')
      expect(result.phases.map((phase) => phase.status)).toEqual(['failed', 'not run', 'not run'])
      expect(result.backup).toBeUndefined()
    }
    expect(ledger.live.folder.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })
}
