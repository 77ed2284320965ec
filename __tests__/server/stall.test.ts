// The stall watchdog against real sessions: it names sessions that wait on each other or on the
// restore, leaves working ones alone, and stops an engine run whose restore deadlocks in seconds.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { settingsFrom } from '../support/verify.js'
import { RestoreWatchdog } from '../../src/restore/watchdog.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('stall')

beforeAll(async () => {
  await server.query('CREATE DATABASE watched')
  await server.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)', 'watched')
})

async function client(application: string): Promise<pg.Client> {
  const connection = new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: 'postgres',
    password: server.password,
    database: 'watched',
    application_name: application
  })
  connection.on('error', () => {})
  await connection.connect()
  return connection
}

function watch(stallMs: number, progress?: () => number): Promise<{ watchdog: RestoreWatchdog; admin: pg.Client }> {
  return client('watchdog').then((admin) => ({
    admin,
    watchdog: new RestoreWatchdog({ session: admin, database: 'watched', serverMajor: server.major, progress, stallMs, intervalMs: 200 })
  }))
}

/** Resolves with the stall's message, or with undefined if none came within `ms`. */
function stallWithin(watchdog: RestoreWatchdog, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    watchdog.stalled.catch((error: Error) => error.message),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))
  ]).finally(() => clearTimeout(timer))
}

describe('the stall watchdog', () => {
  test('a COPY waiting for rows that never come, beside an idle session, is a stall: each session is named with its statement and wait', async () => {
    const tools = (await findClientTools())[0]
    const psql = spawn(tools.psql, ['-X', '-q', '-d', 'watched'], {
      env: {
        ...process.env,
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: 'postgres',
        PGPASSWORD: server.password,
        PGAPPNAME: 'backup-verify session 0'
      },
      stdio: ['pipe', 'ignore', 'ignore']
    })
    psql.stdin.write('COPY t FROM stdin;\n')
    const idle = await client('backup-verify session 1')
    await idle.query('SELECT 1')
    const { watchdog } = await watch(1000, () => 42)
    try {
      const message = await stallWithin(watchdog, 15_000)
      expect(message).toMatch(
        /^The restore stopped making progress: for \d+ s nothing was sent to its sessions and none of them ran anything/
      )
      expect(message).toMatch(/backup-verify session 0 \(pid \d+\): active, waiting for Client:ClientRead; running "COPY t FROM stdin;"/)
      expect(message).toMatch(/backup-verify session 1 \(pid \d+\): idle; last ran "SELECT 1"/)
    } finally {
      await watchdog.stop()
      psql.kill()
      await idle.end()
    }
  })

  test("a session that waits for a lock another of the restore's sessions holds is named with the holder", async () => {
    const holder = await client('backup-verify session 0')
    const waiter = await client('backup-verify session 1')
    await holder.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE')
    const waiting = waiter.query('SELECT count(*) FROM t').catch(() => undefined)
    const { watchdog } = await watch(1000, () => 7)
    try {
      const message = await stallWithin(watchdog, 15_000)
      expect(message).toMatch(
        new RegExp(
          `backup-verify session 1 \\(pid \\d+\\): active, waiting for Lock:relation held by pid ${(holder as unknown as { processID: number }).processID}; running "SELECT count\\(\\*\\) FROM t"`
        )
      )
      expect(message).toMatch(/backup-verify session 0 \(pid \d+\): idle in transaction/)
    } finally {
      await watchdog.stop()
      await holder.query('COMMIT')
      await waiting
      await Promise.all([holder.end(), waiter.end()])
    }
  })

  test('a session that works (here a long statement) or bytes that keep moving are no stall', async () => {
    const busy = await client('backup-verify session 0')
    const sleeping = busy.query('SELECT pg_sleep(3)')
    let sent = 0
    const { watchdog } = await watch(800, () => sent)
    const idle = await client('backup-verify session 1')
    try {
      expect(await stallWithin(watchdog, 2500)).toBeUndefined()
      await sleeping
      // Only idle sessions now, but the restore keeps sending.
      const moving = setInterval(() => sent++, 100)
      expect(await stallWithin(watchdog, 2000)).toBeUndefined()
      clearInterval(moving)
    } finally {
      await watchdog.stop()
      await Promise.all([busy.end(), idle.end()])
    }
  })
})

test('a dump whose index build waits for a lock the in-order session holds stops in seconds, naming both sessions, and leaves nothing behind', async () => {
  await server.query('CREATE DATABASE deadlock')
  await server.query(
    `CREATE TABLE t (id int);
     INSERT INTO t SELECT generate_series(1, 1000);
     CREATE FUNCTION waits(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_lock(4242); RETURN v; END $$;
     CREATE INDEX t_waits ON t (waits(id));
     CREATE FUNCTION takes() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_lock(4242); RETURN 1; END $$;
     CREATE MATERIALIZED VIEW locker AS SELECT public.takes() AS x;`,
    'deadlock'
  )
  const tools = (await findClientTools())[0]
  const dump = path.join(work, 'deadlock.sql')
  execFileSync(tools.pgDump, ['--format=plain', `--file=${dump}`, 'deadlock'], {
    env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
  })
  // The schema, run in order by one session, takes a lock that session keeps (the view's refresh,
  // moved before the rows, calls a function that takes it); the index build, on another session, needs it.
  const refresh = 'REFRESH MATERIALIZED VIEW public.locker;\n'
  const text = (await readFile(dump, 'utf8')).replace(refresh, '')
  const data = text.indexOf('--\n-- Data for Name: t; Type: TABLE DATA')
  expect(data).toBeGreaterThan(0)
  await writeFile(dump, `${text.slice(0, data)}${refresh}${text.slice(data)}`)
  const inputs: Record<string, string> = { 'backup-file': dump, 'restore-database-url': server.url('postgres'), jobs: '2', 'min-size': '0' }
  const settings = settingsFrom(inputs, work)
  const ledger = new MemoryLedger()
  const started = Date.now()
  const result = await verifyBackup({ settings, reporter: recordingReporter(), ledger, stallMs: 2000 })
  expect(Date.now() - started).toBeLessThan(30_000)
  expect(result.status).toBe('failed')
  expect(result.error?.problem).toBe('restore-stalled')
  expect(result.error?.message).toMatch(
    /backup-verify session \d \(pid \d+\): active, waiting for Lock:advisory held by pid \d+; running "CREATE INDEX t_waits ON public\.t USING btree \(public\.waits\(id\)\);"/
  )
  expect(result.error?.message).toMatch(/backup-verify session 0 \(pid \d+\): idle/)
  expect(result.error?.message).toMatch(
    /The restore was at: session \d: a key or index on public\.t|The restore was at: session \d: an index on public\.t/
  )
  expect(result.error?.hint).toMatch(/not a slow server: a longer timeout would not help/)
  expect(ledger.live.database.size).toBe(0)
  expect(await temporaryDatabases(server)).toEqual([])
})
