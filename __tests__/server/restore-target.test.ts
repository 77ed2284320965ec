// restore-database-url: the temporary database goes to a server apart from the source, which never
// receives one; each server has its own password.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, startServer, temporaryDatabases, type TestServer } from '../support/server.js'
import { runBundle, withoutProperties } from '../support/runner.js'

let source: TestServer
let restore: TestServer
let work: string
let tablespace: string | undefined

beforeAll(async () => {
  source = await startServer()
  restore = await startServer({ password: 'a different password: for the restore server' })
  await createSampleDatabase(source, 'shop')
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-restore-target-'))
})

afterAll(async () => {
  await source?.stop()
  await restore?.stop()
  if (work) await rm(work, { recursive: true, force: true })
  if (tablespace) await rm(tablespace, { recursive: true, force: true })
})

test.each(['plain', 'custom'])(
  '%s: the restore happens on the other server; the source never holds a temporary database',
  async (format) => {
    const inputs: Record<string, string> = { 'database-url': source.url('shop'), 'restore-database-url': restore.url('postgres'), format }
    const settings = settingsFrom(inputs, work)
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

test.each([
  ['plain', '3'],
  ['plain', '1'],
  ['custom', '2']
])(
  '%s (jobs %s): a table and an index in a tablespace the restore server lacks are restored into its default one, said as harmless; strict fails',
  async (format, jobs) => {
    if (!tablespace) await placeInTablespace()
    const inputs: Record<string, string> = {
      'database-url': source.url('spaced'),
      'restore-database-url': restore.url('postgres'),
      format,
      jobs,
      'min-size': '0'
    }
    const settings = settingsFrom(inputs, work)
    const reporter = recordingReporter()
    const result = await verifyBackup({ settings, reporter })
    expect(result.error).toBeUndefined()
    expect(result.tables?.rows.map((entry) => [entry.table, entry.source, entry.restored])).toEqual([
      ['public.elsewhere', 2000, 2000],
      ['public.here', 1, 1]
    ])
    expect(reporter.warnings.join('\n')).toContain(
      'a tablespace the dump names does not exist (its objects restored into the default tablespace)'
    )
    const strict = settingsFrom({ ...inputs, strict: 'true' }, work)
    const failed = await verifyBackup({ settings: strict, reporter: recordingReporter() })
    expect(failed.error?.message).toMatch(/invalid value for parameter "default_tablespace": "far"/)
    expect(await temporaryDatabases(restore)).toEqual([])
  }
)

/** A table and an index of the source in a tablespace of its own, which the restore server does not have. */
async function placeInTablespace(): Promise<void> {
  // Its own folder: the server's account (postgres, when the tests run as root) must reach it.
  tablespace = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-tablespace-'))
  if (process.getuid?.() === 0) await chown(tablespace, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), 0)
  await source.query(`CREATE TABLESPACE far LOCATION '${tablespace}'`)
  await source.query('CREATE DATABASE spaced')
  await source.query(
    `CREATE TABLE elsewhere (id int, v text) TABLESPACE far;
     INSERT INTO elsewhere SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
     CREATE INDEX elsewhere_v ON elsewhere (v) TABLESPACE far;
     CREATE TABLE here (a int); INSERT INTO here VALUES (1);
     CREATE INDEX here_a ON here (a) TABLESPACE far;`,
    'spaced'
  )
}

test("the restore server's password is masked like the source's, and a bad one fails naming that server", async () => {
  const wrong = restore.url('postgres').replace(encodeURIComponent(restore.password), 'nope-restore')
  const run = await runBundle('dist/index.js', { inputs: { 'database-url': source.url('shop'), 'restore-database-url': wrong } })
  expect(run.code).toBe(1)
  expect(withoutProperties(run.stdout)).toContain(`::error::Authentication failed for user "postgres" at 127.0.0.1:${restore.port}.`)
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
