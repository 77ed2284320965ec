// A source table locked by another session (a migration, a transaction left open): pg_dump and the
// run's own reads wait for it. The timeout still stops the run when it says, while that session
// still holds the lock, naming it; nothing of the run's is left waiting on the server.

import { beforeAll, expect, test } from '@jest/globals'
import pg from 'pg'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('lock-wait')

beforeAll(async () => {
  await server.query('CREATE DATABASE locked')
  await server.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)', 'locked')
})

/** The sessions of the run's (every one is named backup-verify) still on the database. */
async function ours(): Promise<number> {
  const rows = await server.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'locked' AND application_name = 'backup-verify'"
  )
  return Number(rows[0].n)
}

test.each(['plain', 'custom'])(
  '%s: a table another session holds locked: the timeout stops the run while the lock is still held, and names that session',
  async (format) => {
    const holder = new pg.Client({ connectionString: server.url('locked'), application_name: 'migration' })
    await holder.connect()
    await holder.query('BEGIN')
    await holder.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE')
    const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows
    try {
      const inputs: Record<string, string> = { 'database-url': server.url('locked'), format, timeout: '0.05', 'min-size': '0' }
      const settings = settingsFrom(inputs, work)
      const reporter = recordingReporter()
      const result = await verifyBackup({ settings, reporter, env: { PATH: process.env.PATH } })
      // The lock is still held: the run did not wait for it to go.
      expect((await holder.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      expect(result.error?.message).toBe(
        'Timed out: the verification did not finish within timeout (3 seconds) and was stopped during Create.'
      )
      expect(reporter.warnings.join('\n')).toMatch(
        new RegExp(
          `A statement of the run's waited for a lock on public\\.t held by another session: pid ${pid} \\(migration\\), idle in transaction, its transaction open for \\d\\d:\\d\\d:\\d\\d`
        )
      )
      // Nothing of the run's waits for the lock any more (a cancelled statement ends at once).
      for (let waited = 0; waited < 5_000 && (await ours()) > 0; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await ours()).toBe(0)
      expect(await temporaryDatabases(server)).toEqual([])
    } finally {
      await holder.query('ROLLBACK')
      await holder.end()
    }
  },
  60_000
)
