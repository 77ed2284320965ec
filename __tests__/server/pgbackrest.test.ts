// method: pgbackrest, with the real tool: a source cluster archiving into a repository in a
// temporary folder; full, diff and incr backups restored by pgbackrest, recovered from the
// repository's archive, proved and counted; point-in-time recovery; an encrypted repository whose
// passphrase goes nowhere; damage of every kind failing with its reason; the repository and the
// source left exactly as they were; an interrupted run leaving nothing behind.

import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { chmod, copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { outputsOf } from '../../src/report/outputs.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { htmlProblems } from '../support/html.js'
import { pgbackrestUnavailable, startPgBackRestLab, type PgBackRestLab } from '../support/pgbackrest-lab.js'
import { ROOT } from '../support/runner.js'
import { testNeeding } from '../support/skips.js'

const unavailable =
  pgbackrestUnavailable() ?? (existsSync('/usr/lib/postgresql/15/bin/postgres') ? undefined : 'no postgresql-15 server binaries')
if (unavailable) console.warn(`Skipping pgBackRest: ${unavailable}`)
const maybe = testNeeding(`pgbackrest with the PostgreSQL 15 server (${unavailable})`, !unavailable)

let lab: PgBackRestLab
let work: string

beforeAll(async () => {
  if (unavailable) return
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-pgbackrest-run-'))
  lab = await startPgBackRestLab()
  await lab.server.query('CREATE DATABASE shop')
  await lab.server.query(
    'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g',
    'shop'
  )
}, 120_000)

afterAll(async () => {
  await lab?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

async function verify(inputs: Record<string, string>, options: Partial<EngineOptions> = {}, env: NodeJS.ProcessEnv = {}) {
  const all: Record<string, string> = { method: 'pgbackrest', 'pgbackrest-stanza': lab.stanza, 'pgbackrest-config': lab.config, ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, env: { PATH: process.env.PATH, ...lab.env, ...env }, ...options })
  return { result, reporter, ledger }
}

const rowsOf = (result: Awaited<ReturnType<typeof verify>>['result'], database = 'shop') =>
  result.physical?.databases?.find((entry) => entry.name === database)?.rows

/** The server's clock, as a recovery target, a little after the last commit. */
async function now(): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const [{ at }] = await lab.server.query<{ at: string }>(
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS at"
  )
  await new Promise((resolve) => setTimeout(resolve, 1100))
  return at
}

/** A commit after the last target, archived: recovery sees the target passed, not the archive's end. */
async function archiveSomethingLater(): Promise<void> {
  await lab.server.query('CREATE TABLE IF NOT EXISTS later (n int); INSERT INTO later VALUES (1)', 'shop')
  const [{ segment }] = await lab.server.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment')
  for (let waited = 0; waited < 30_000; waited += 200) {
    const [row] = await lab.server.query<{ archived: string | null }>('SELECT last_archived_wal AS archived FROM pg_stat_archiver')
    if (row.archived && row.archived >= segment) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`segment ${segment} was not archived in 30 s`)
}

/** Every file of the repository with its SHA-256: what a run must leave exactly as it was. */
function repositoryState(folder: string): Record<string, string> {
  const state: Record<string, string> = {}
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    state[path.relative(folder, file)] = createHash('sha256').update(readFileSync(file)).digest('hex')
  }
  return state
}

describe('full, diff and incr backups', () => {
  maybe(
    'each restores, recovers from the archive and holds the rows the source had at that backup; the repository is untouched',
    async () => {
      const full = await lab.backup('full')
      const afterFull = await now()
      await lab.server.query('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1001, 1500) g', 'shop')
      const diff = await lab.backup('diff')
      const afterDiff = await now()
      await lab.server.query('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1501, 1700) g', 'shop')
      const incr = await lab.backup('incr')
      const afterIncr = await now()
      await archiveSomethingLater()
      const before = repositoryState(lab.repo)
      for (const [label, type, rows, target] of [
        [full, 'full', 1000, afterFull],
        [diff, 'diff', 1500, afterDiff],
        [incr, 'incr', 1700, afterIncr]
      ] as const) {
        // Recovered to just after the backup, before the next batch: exactly the rows the source had then.
        const { result, reporter } = await verify({ 'backup-set': label, 'recovery-target-time': target })
        expect({ label, error: result.error }).toEqual({ label, error: undefined })
        expect(result.status).toBe('passed')
        expect(result.physical?.repository).toEqual(
          expect.objectContaining({
            tool: 'pgbackrest',
            name: 'main',
            label,
            type,
            toolCheck: expect.objectContaining({ ran: true, passed: true })
          })
        )
        expect(rowsOf(result)).toBe(rows)
        expect(result.physical?.amcheck).toEqual(expect.objectContaining({ ran: true, passed: true }))
        const outputs = outputsOf(result)
        expect(outputs['backup-set']).toBe(label)
        expect(Number(outputs['backup-age'])).toBeGreaterThanOrEqual(0)
        expect(Number(outputs['restore-duration'])).toBeGreaterThan(0)
        expect(outputs.checksum).toMatch(/^[0-9a-f]{64}$/)
        const html = renderSummary(buildSummary(result))
        expect(htmlProblems(html)).toEqual([])
        expect(html).toContain(label)
        expect(html).toContain('Time to restore')
        expect(reporter.lines.join('\n')).toContain('Recovery point')
      }
      expect(repositoryState(lab.repo)).toEqual(before)
    }
  )
})

describe("the application's own recovery point on a repository's backup", () => {
  maybe('freshness-query: its answer is the newest data, measured when the copy was ready; the backup keeps its own point', async () => {
    const { result, reporter } = await verify({ 'freshness-query': "select now() - interval '5 days'" })
    expect(result.error).toBeUndefined()
    expect(result.evidence?.newestData?.from).toBe('freshness-query')
    expect(Math.round(result.evidence!.ageSeconds! / 3600)).toBe(120)
    // The repository's own facts are its backup's, not the application's answer.
    expect(result.physical!.repository!.backupAgeSeconds!).toBeLessThan(3600)
    expect(reporter.lines.join('\n')).toMatch(/Recovery point: .* \(the backup ended (\d+(\.\d+)? (ms|s)|\d+m( \d+s)?) ago\)/)
  })
})

describe('the newest backup, to the end of the archive', () => {
  maybe('without backup-set or a target: the newest backup, every archived commit replayed; the source never connected', async () => {
    // An incr on top of what there is (pgBackRest makes it a full when there is none).
    const newest = await lab.backup('incr')
    await lab.server.query('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1701, 1800) g', 'shop')
    await archiveSomethingLater()
    const [{ rows }] = await lab.server.query<{ rows: string }>(
      'SELECT ((SELECT count(*) FROM orders) + (SELECT count(*) FROM later))::text AS rows',
      'shop'
    )
    // One session of its own watches the source for any other client's: a session per look would see the
    // backends of its own earlier looks still closing. Clients that name themselves only: the run's
    // driver (backup-verify), its client tools (pg_dump, psql) or pgBackRest; the test's unnamed ones are not the run.
    const watcher = new pg.Client({ connectionString: lab.server.url('postgres') })
    await watcher.connect()
    const sessions: number[] = []
    let watching = true
    const watched = (async () => {
      while (watching) {
        const { rows } = await watcher.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> ''"
        )
        sessions.push(Number(rows[0].n))
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    const { result } = await verify({}).finally(async () => {
      watching = false
      await watched
      await watcher.end()
    })
    expect(result.error).toBeUndefined()
    expect(result.physical?.repository?.label).toBe(newest)
    expect(result.physical?.repository?.recoveryTarget).toBe('the end of the WAL archive')
    expect(result.physical?.recovery?.segmentsRestored).toBeGreaterThan(0)
    expect(result.physical?.databases?.find((entry) => entry.name === 'shop')?.rows).toBe(Number(rows))
    // The newest data is the last archived commit, newer than the backup itself.
    expect(Date.parse(result.physical!.repository!.restoredPoint!)).toBeGreaterThan(Date.parse(result.physical!.repository!.stoppedAt))
    expect(sessions.length).toBeGreaterThan(5)
    expect(Math.max(...sessions)).toBe(0)
  })
})

describe("an earlier run's receipt", () => {
  maybe('the same backup is held to it exactly; a newer one passes with rows added; a table gone since fails, named', async () => {
    const first = await lab.backup('incr')
    const earlier = await verify({ 'backup-set': first })
    expect(earlier.result.error).toBeUndefined()
    expect(earlier.result.target).toBe('pgbackrest:main/shop')
    const receipt = earlier.result.receiptPath!
    const again = await verify({ 'backup-set': first, receipt })
    expect(again.result.error).toBeUndefined()
    expect(again.result.checks?.find((check) => check.name === 'Receipt')?.detail).toContain('describes this backup')
    await lab.server.query('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(5001, 5100) g', 'shop')
    const newer = await verify({ 'backup-set': await lab.backup('incr'), receipt })
    expect(newer.result.error).toBeUndefined()
    expect(newer.result.sinceReceipt?.problems).toEqual([])
    await lab.server.query('CREATE TABLE doomed AS SELECT 1 AS n', 'shop')
    const withDoomed = await verify({ 'backup-set': await lab.backup('incr') })
    await lab.server.query('DROP TABLE doomed', 'shop')
    const gone = await verify({ 'backup-set': await lab.backup('incr'), receipt: withDoomed.result.receiptPath! })
    expect(gone.result.error?.problem).toBe('receipt-mismatch')
    expect(gone.result.error?.message).toContain('public.doomed')
  })
})

describe('what the repository does not hold', () => {
  maybe.each([
    [{ 'pgbackrest-stanza': 'nosuch' }, 'repository-unreadable', /stanza nosuch cannot be verified: the stanza is not in the repository/],
    [{ 'backup-set': '20200101-000000F' }, 'backup-missing', /has no backup 20200101-000000F; it has \d+ backup\(s\): .*F/],
    [
      { 'pgbackrest-config': '/nonexistent/pgbackrest.conf' },
      'repository-unreadable',
      /pgbackrest info failed .*nonexistent\/pgbackrest\.conf/
    ]
  ])('%j fails as %s, naming it', async (inputs, problem, message) => {
    const { result } = await verify(inputs as Record<string, string>)
    expect(result.error?.problem).toBe(problem)
    expect(result.error?.message).toMatch(message)
    expect(result.phases.find((phase) => phase.name === 'Validate')?.status).toBe('failed')
  })

  maybe('a pgbackrest that is not installed: the error says how to install it', async () => {
    const { result } = await verify({ 'pgbackrest-path': path.join(work, 'no-pgbackrest') })
    expect(result.error?.problem).toBe('tools-missing')
    expect(result.error?.hint).toContain('apt-get install pgbackrest')
  })
})

describe('a damaged repository', () => {
  maybe('a file of the backup changed, then removed: pgbackrest verify names the backup, nothing is restored', async () => {
    const label = ((await lab.info()).backup as Array<{ label: string; type: string }>)
      .filter((backup) => backup.type === 'full')
      .at(-1)!.label
    const folder = path.join(lab.repo, 'backup', lab.stanza, label, 'pg_data', 'base')
    const file = readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && /^\d+(\.gz)?$/.test(entry.name))
      .map((entry) => path.join(entry.parentPath, entry.name))
      .sort()[0]
    const kept = path.join(work, 'kept-file')
    await copyFile(file, kept)
    try {
      const bytes = await readFile(file)
      bytes[Math.floor(bytes.length / 2)] ^= 0xff
      await writeFile(file, bytes)
      const changed = await verify({ 'backup-set': label })
      expect(changed.result.error?.problem).toBe('backup-invalid')
      expect(changed.result.error?.message).toMatch(new RegExp(`backup: ${label}, status: invalid.*checksum invalid: 1`))
      await rm(file)
      const removed = await verify({ 'backup-set': label })
      expect(removed.result.error?.message).toMatch(/missing: 1/)
      expect(removed.result.phases.find((phase) => phase.name === 'Restore')?.status).toBe('not run')
    } finally {
      await copyFile(kept, file)
    }
  })

  maybe('a WAL segment missing from the archive: named, though pgbackrest verify does not see it', async () => {
    const backups = (await lab.info()).backup as Array<{ label: string; archive: { start: string } }>
    const first = backups[0]
    const archive = path.join(lab.repo, 'archive', lab.stanza)
    const segments = readdirSync(archive, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && /^[0-9A-F]{24}-/.test(entry.name))
      .map((entry) => path.join(entry.parentPath, entry.name))
      .sort()
    // One after the first backup's start: recovery would stop there, as if the archive ended.
    const hole = segments.find((segment) => path.basename(segment).slice(0, 24) > first.archive.start)!
    await rename(hole, `${hole}.moved`)
    try {
      const { result } = await verify({ 'backup-set': first.label })
      expect(result.error?.problem).toBe('backup-invalid')
      expect(result.error?.message).toContain(
        `lacks 1 segment(s) after the backup's start ${first.archive.start}: ${path.basename(hole).slice(0, 24)}`
      )
    } finally {
      await rename(`${hole}.moved`, hole)
    }
  })
})

describe('an encrypted repository', () => {
  maybe(
    'verifies; its passphrase is in no output, no argv, and not in the environment of the copy or its archive-get',
    async () => {
      const secret = `pass-${Math.random().toString(36).slice(2)}-phrase`
      const encrypted = await startPgBackRestLab({ encrypted: true, cipherPass: secret, stanza: 'vault' })
      try {
        await encrypted.server.query('CREATE TABLE t AS SELECT generate_series(1, 300) AS n')
        await encrypted.backup('full')
        const seen: string[] = []
        const watch = setInterval(() => {
          for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
            try {
              const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
              if (!/pgbackrest|postgres|backup-verify/.test(argv)) continue
              seen.push(argv)
              // The copy's server and the archive-get it runs read the passphrase from a file of the run's, not their environment.
              if (/\/postgres\0|archive-get/.test(argv)) seen.push(readFileSync(`/proc/${pid}/environ`, 'utf8'))
            } catch {
              // Gone meanwhile.
            }
          }
        }, 50)
        const settings = settingsFrom({ method: 'pgbackrest', 'pgbackrest-stanza': 'vault', 'pgbackrest-config': encrypted.config }, work, {
          environment: { PGBACKREST_REPO1_CIPHER_PASS: secret }
        })
        const reporter = recordingReporter()
        const result = await verifyBackup({
          settings,
          reporter,
          ledger: new MemoryLedger(),
          env: { PATH: process.env.PATH, PGBACKREST_REPO1_CIPHER_PASS: secret }
        }).finally(() => clearInterval(watch))
        expect(result.error).toBeUndefined()
        expect(result.physical?.databases?.find((entry) => entry.name === 'postgres')?.rows).toBe(300)
        expect(settings.secrets).toContain(secret)
        const said = [
          ...reporter.lines,
          ...reporter.warnings,
          JSON.stringify(result),
          renderSummary(buildSummary(result)),
          await readFile(result.receiptPath!, 'utf8')
        ]
        expect(said.filter((text) => text.includes(secret))).toEqual([])
        expect(seen.length).toBeGreaterThan(0)
        expect(seen.filter((text) => text.includes(secret))).toEqual([])
        // Without the passphrase: the error says where it goes.
        const without = await verifyBackup({
          settings,
          reporter: recordingReporter(),
          ledger: new MemoryLedger(),
          env: { PATH: process.env.PATH }
        })
        expect(without.error?.problem).toBe('repository-unreadable')
        expect(without.error?.hint).toContain('PGBACKREST_REPO1_CIPHER_PASS')
      } finally {
        await encrypted.stop()
      }
    },
    180_000
  )
})

/** Processes whose command line names a folder under this one (pgbackrest, postgres). */
function processesUnder(folder: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      } catch {
        return ''
      }
    })
    .filter((argv) => argv.includes(folder))
}

describe('interrupted', () => {
  maybe.each([
    ['the pgbackrest restore', / restore$/],
    ['the recovery', /archive-get/]
  ])(
    'SIGTERM during %s: no process and no folder left',
    async (_when, moment) => {
      const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-pgbackrest-term-'))
      await chmod(temp, 0o711)
      const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TMPDIR: temp,
          RUNNER_TEMP: temp,
          INPUT_METHOD: 'pgbackrest',
          'INPUT_PGBACKREST-STANZA': lab.stanza,
          'INPUT_PGBACKREST-CONFIG': lab.config,
          // Slow enough to be caught in the act: every segment fetched.
          'INPUT_PGBACKREST-VERIFY': 'false'
        },
        stdio: ['ignore', 'pipe', 'ignore']
      })
      let stdout = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
      try {
        for (const started = Date.now(); !processesUnder(temp).some((argv) => moment.test(argv.trim()));) {
          if (Date.now() - started > 60_000) throw new Error(`never caught: ${stdout}`)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        child.kill('SIGTERM')
        expect(await closed).not.toBe(0)
        expect(stdout).toContain('Interrupted by SIGTERM')
        expect(processesUnder(temp)).toEqual([])
        expect(readdirSync(temp).filter((name) => name.startsWith('backup-verify-') && !name.startsWith('backup-verify-receipt-'))).toEqual(
          []
        )
      } finally {
        child.kill('SIGKILL')
        await rm(temp, { recursive: true, force: true })
      }
    },
    120_000
  )
})
