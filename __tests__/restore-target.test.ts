// restore-database-url: the temporary database goes to a server apart from the source, which never
// receives one; each server has its own password.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadSettings } from '../src/inputs/inputs.js'
import { verifyBackup } from '../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from './support/reporter.js'
import { createSampleDatabase, startServer, temporaryDatabases, type TestServer } from './support/server.js'
import { runBundle } from './support/runner.js'

let source: TestServer
let restore: TestServer
let work: string

beforeAll(async () => {
  source = await startServer()
  restore = await startServer(undefined, 'a different password: for the restore server')
  await createSampleDatabase(source, 'shop')
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-restore-target-'))
})

afterAll(async () => {
  await source?.stop()
  await restore?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

test.each(['plain', 'custom'])(
  '%s: the restore happens on the other server; the source never holds a temporary database',
  async (format) => {
    const inputs: Record<string, string> = { 'database-url': source.url('shop'), 'restore-database-url': restore.url('postgres'), format }
    const settings = { ...loadSettings({ get: (name) => inputs[name] ?? '', environment: {}, workingDirectory: work }), tempRoot: work }
    const seen: Array<{ onSource: string[]; onRestore: string[] }> = []
    const hooks = {
      afterRestore: async () => {
        seen.push({ onSource: await temporaryDatabases(source), onRestore: await temporaryDatabases(restore) })
      }
    }
    const ledger = new MemoryLedger()
    const result = await verifyBackup({ settings, reporter: recordingReporter(), ledger, hooks })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.restoreTarget).toBe(`postgres@127.0.0.1:${restore.port}/postgres`)
    expect(seen).toEqual([{ onSource: [], onRestore: [result.restoreDatabase?.name] }])
    expect(result.tables?.rowMismatches).toEqual([])
    expect(await temporaryDatabases(restore)).toEqual([])
    expect(ledger.live.database.size).toBe(0)
  }
)

test("the restore server's password is masked like the source's, and a bad one fails naming that server", async () => {
  const wrong = restore.url('postgres').replace(encodeURIComponent(restore.password), 'nope-restore')
  const run = await runBundle('dist/index.js', { inputs: { 'database-url': source.url('shop'), 'restore-database-url': wrong } })
  expect(run.code).toBe(1)
  expect(run.stdout).toContain(`::error::Authentication failed for user "postgres" at 127.0.0.1:${restore.port}.`)
  expect(run.masks).toContain('nope-restore')
  expect(run.everything).not.toContain('nope-restore')
  expect(await temporaryDatabases(source)).toEqual([])
})

test('the post step drops leftovers where the restore happened', async () => {
  const leftover = 'backup_verify_20260101t000000_c0ffee'
  await restore.query(`CREATE DATABASE ${leftover}`)
  const post = await runBundle('dist/post/index.js', {
    inputs: { 'database-url': source.url('shop'), 'restore-database-url': restore.url('postgres') },
    state: { 'temporary-databases': JSON.stringify([leftover]), 'temporary-folders': '[]' }
  })
  expect(post.code).toBe(0)
  expect(post.stdout).toContain(`Dropped leftover temporary database ${leftover}`)
  expect(await temporaryDatabases(restore)).toEqual([])
})
