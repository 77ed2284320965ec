// verify: data with the restore on a server of another major (restore-database-url): values both
// majors print alike are matched to the dump's own rows; tables holding a type the other major may
// print otherwise are fingerprinted in SQL on both sides, and the summary says so. No false alarm,
// and a changed value is still caught either way.

import { afterAll, beforeAll, expect, jest, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { buildSummary } from '../../src/report/summary.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { startServer, temporaryDatabases, unavailableReason, type TestServer } from '../support/server.js'
import { DAMAGE, PROOF_SCHEMA } from '../support/proof-database.js'
import { describeIf } from '../support/skips.js'

const OTHER = 14
const reason = unavailableReason(OTHER)
if (reason) console.warn(`Skipping the restore on another major: ${reason}`)
const maybe = describeIf(reason)

maybe(`a PostgreSQL ${OTHER} source restored on PostgreSQL 15`, () => {
  let restore: TestServer
  let source: TestServer
  let work: string

  beforeAll(async () => {
    restore = await startServer()
    // The server helper loads one major's binaries per module registry: a fresh one for the other.
    jest.resetModules()
    source = await startServer({ major: OTHER })
    await source.query('CREATE DATABASE proof')
    await source.query(PROOF_SCHEMA, 'proof')
    work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-data-majors-'))
  })

  afterAll(async () => {
    await source?.stop()
    await restore?.stop()
    if (work) await rm(work, { recursive: true, force: true })
  })

  async function verify(hooks?: EngineOptions['hooks']) {
    const inputs: Record<string, string> = {
      'database-url': source.url('proof'),
      'restore-database-url': restore.url('postgres'),
      verify: 'data',
      'min-size': '0'
    }
    const settings = settingsFrom(inputs, work)
    return verifyBackup({ settings, reporter: recordingReporter(), ledger: new MemoryLedger(), hooks, env: { PATH: process.env.PATH } })
  }

  test('passes: the reg* table by a fingerprint in SQL, every other table by the dump rows, and the summary says which', async () => {
    const result = await verify()
    expect(result.error).toBeUndefined()
    const how = Object.fromEntries(result.tables!.rows.map((entry) => [entry.table, entry.restoredFingerprint?.split(':')[0]]))
    expect(how['public.typed']).toBe('sql')
    for (const table of ['public.items', 'public.floats', 'public.documents', 'public.arrays', 'public.stamps', 'public.bytes'])
      expect({ table, how: how[table] }).toEqual({ table, how: 'copy' })
    const level = buildSummary(result)
      .tables.find((table) => table.heading === 'Facts')!
      .rows.find(([fact]) => fact === 'Verify level')
    expect(level?.[1]).toMatch(
      /^data: every row of \d+ tables \(\d+ rows\) read back and matched to the dump&#39;s own rows; 1 by a fingerprint in SQL/
    )
    expect(await temporaryDatabases(restore)).toEqual([])
  })

  test('a changed value is caught in a table compared either way', async () => {
    const result = await verify({
      afterRestore: (database) =>
        restore.query(`${DAMAGE['public.floats']}; UPDATE typed SET t = 'int8' WHERE t = 'int4'::regtype`, database).then(() => {})
    })
    expect(result.status).toBe('failed')
    expect(result.tables!.contentMismatches.map((entry) => entry.table).sort()).toEqual(['public.floats', 'public.typed'])
  })
})
