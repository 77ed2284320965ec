// Cleanup drops what the run created whatever else is in its temporary database: here an autovacuum
// worker, which a role that is not a superuser may not end itself, right after a large restore.

import { beforeAll, expect, test } from '@jest/globals'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

// Autovacuum made aggressive and slow: a worker comes into a freshly loaded database at once, and stays.
const { server, work: temp } = useServer('cleanup', {
  settings: [
    'autovacuum_naptime=1',
    'autovacuum_vacuum_insert_threshold=1000',
    'autovacuum_analyze_threshold=1000',
    'autovacuum_vacuum_cost_delay=100',
    'autovacuum_vacuum_cost_limit=1'
  ]
})

beforeAll(async () => {
  await server.query("CREATE ROLE app LOGIN PASSWORD 'app-pw' CREATEDB")
  await server.query('CREATE DATABASE appdb OWNER app')
  await server.query('GRANT ALL ON SCHEMA public TO app', 'appdb')
})

test('a role that is not a superuser drops its temporary database while an autovacuum worker is in it: nothing is left behind', async () => {
  const url = `postgresql://app:app-pw@127.0.0.1:${server.port}/appdb`
  const { default: pg } = await import('pg')
  const app = new pg.Client({ connectionString: url })
  await app.connect()
  await app.query('CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g')
  await app.end()

  let workerSeen = false
  const hooks = {
    // Hold the run until autovacuum is at work in the restored database: cleanup then meets it.
    afterRestore: async (database: string) => {
      for (let i = 0; i < 200 && !workerSeen; i++) {
        const workers = await server.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${database}' AND backend_type = 'autovacuum worker'`
        )
        workerSeen = Number(workers[0].n) > 0
        if (!workerSeen) await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  const inputs: Record<string, string> = { 'database-url': url, 'min-size': '0' }
  const settings = settingsFrom(inputs, temp)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, hooks, env: { PATH: process.env.PATH } })
  expect(workerSeen).toBe(true)
  expect(result.error).toBeUndefined()
  expect(reporter.warnings.filter((warning) => warning.includes('Could not drop'))).toEqual([])
  expect(result.restoreDatabase?.dropped).toBe(true)
  expect(ledger.live.database.size).toBe(0)
  expect(await temporaryDatabases(server)).toEqual([])
}, 120_000)
