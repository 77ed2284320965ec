// The main step killed outright (SIGKILL) at the worst moments: while pg_dump runs, and while its
// CREATE DATABASE is on its way. The post step, given the state the main step saved, leaves no
// temporary database and no client tool running. Runs the bundles (npm run bundle).

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { parseFileCommand, ROOT, runBundle } from '../support/runner.js'
import { startServer, temporaryDatabases, type TestServer } from '../support/server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
  await server.query('CREATE DATABASE appdb')
  await server.query(
    `CREATE TABLE public.held (id int PRIMARY KEY, v text);
     INSERT INTO public.held SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
     CREATE SEQUENCE public.held_seq;`,
    'appdb'
  )
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** Client tools started against this test's server, wherever they are now (a killed parent's orphans too). */
async function toolsOfServer(): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const [comm, environ] = await Promise.all([
      readFile(`/proc/${pid}/comm`, 'utf8').catch(() => ''),
      readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '')
    ])
    if (/^(pg_dump|psql|pg_restore)$/.test(comm.trim()) && environ.split('\0').includes(`PGPORT=${server.port}`)) found.push(pid)
  }
  return found
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < ms;) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`waited ${ms} ms for ${what}`)
}

/**
 * Starts the main bundle, kills it (SIGKILL) once `ready` says so, runs the post bundle with the
 * state it saved (before `afterPost`, which releases what held the run), and returns the state.
 */
async function killMainThenPost(ready: () => Promise<boolean>, afterPost: () => Promise<void>): Promise<Record<string, string>> {
  const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-post-kill-'))
  const stateFile = path.join(temp, 'state')
  await writeFile(stateFile, '')
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUNNER_TEMP: temp,
      'INPUT_DATABASE-URL': server.url('appdb'),
      'INPUT_MIN-SIZE': '0',
      // The temporary database on this server, where the post step must drop it (the throwaway server's case: throwaway-restore.test.ts).
      'INPUT_RESTORE-SERVER': 'source',
      GITHUB_STATE: stateFile
    },
    stdio: 'ignore'
  })
  const closed = new Promise((resolve) => child.on('close', resolve))
  try {
    await until('the moment to kill the main step', async () => ((await ready()) ? true : undefined))
    child.kill('SIGKILL')
    await closed
    const state = parseFileCommand(await readFile(stateFile, 'utf8'))
    const post = await runBundle('dist/post/index.js', {
      inputs: { 'database-url': server.url('appdb') },
      state: Object.fromEntries(Object.entries(state).filter(([name]) => !name.startsWith('isPost')))
    })
    expect(post.code).toBe(0)
    await afterPost()
    return state
  } finally {
    child.kill('SIGKILL')
    await rm(temp, { recursive: true, force: true })
  }
}

test('killed while pg_dump waits for a lock: the post step ends pg_dump, and drops what was created', async () => {
  const holder = new pg.Client({ connectionString: server.url('appdb') })
  await holder.connect()
  try {
    // pg_dump reads the sequence's state, the run's own size query does not: pg_dump waits, started.
    // (A rename, never committed, holds the sequence as LOCK TABLE cannot.)
    await holder.query('BEGIN')
    await holder.query('ALTER SEQUENCE public.held_seq RENAME TO held_seq_renamed')
    await killMainThenPost(
      async () => {
        const waiting = await server.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'backup-verify' AND wait_event_type = 'Lock'"
        )
        return waiting.length > 0 && (await toolsOfServer()).length > 0
      },
      async () => {
        // Checked while pg_dump would still wait: nothing the killed run started may be left.
        expect(await toolsOfServer()).toEqual([])
      }
    )
  } finally {
    await holder.query('ROLLBACK').catch(() => {})
    await holder.end()
  }
  expect(await temporaryDatabases(server)).toEqual([])
}, 120_000)

test('killed while CREATE DATABASE is on its way: the post step ends it, and no temporary database comes to be', async () => {
  // A lock on template0 holds the run's CREATE DATABASE ... TEMPLATE template0 until it is released.
  const holder = new pg.Client({ connectionString: server.url('postgres') })
  await holder.connect()
  let released = false
  try {
    await holder.query('BEGIN')
    await holder.query("COMMENT ON DATABASE template0 IS 'held by a test'")
    const state = await killMainThenPost(
      async () => {
        const creating = await server.query(
          "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE \"backup_verify_%' AND wait_event_type = 'Lock'"
        )
        return creating.length > 0
      },
      async () => {
        await holder.query('ROLLBACK')
        released = true
        // Had the session creating it gone on, the database would now come to be.
        await until('the CREATE DATABASE to end', async () => {
          const creating = await server.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE \"backup_verify_%'")
          return creating.length === 0 ? true : undefined
        })
        expect(await toolsOfServer()).toEqual([])
      }
    )
    expect(JSON.parse(state['temporary-databases'] ?? '[]')).toHaveLength(1)
    expect(await temporaryDatabases(server)).toEqual([])
  } finally {
    if (!released) await holder.query('ROLLBACK').catch(() => {})
    await holder.end()
  }
}, 120_000)
