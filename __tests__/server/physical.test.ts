// Physical backups, with real servers and real tools: base backups that pg_basebackup wrote (tar,
// compressed tar, plain) booted on a throwaway server, checked and counted; point-in-time recovery;
// damage of every kind failing with its reason; interruption, the post step, and ten runs in a row
// leaving no process and no folder behind; as root, the server runs under another account.

import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { FolderToolCache } from '../../src/tools/cache.js'
import { materialise, recognisePhysical } from '../../src/physical/layout.js'
import { startThrowawayServer } from '../../src/physical/throwaway-server.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { htmlProblems } from '../support/html.js'
import { outputsOf } from '../../src/report/outputs.js'
import { PROOF_SCHEMA } from '../support/proof-database.js'
import { createSampleDatabase, startServer, TEST_PASSWORD, type TestServer } from '../support/server.js'
import { runBundle } from '../support/runner.js'
import { testNeeding } from '../support/skips.js'

const BIN = [process.env.PGBIN, '/usr/lib/postgresql/15/bin'].find((dir) => dir && existsSync(path.join(dir, 'pg_basebackup'))) as string
if (!BIN) console.warn('Skipping physical backups: no pg_basebackup (apt-get install postgresql-15)')
const maybe = testNeeding('pg_basebackup of PostgreSQL 15 (postgresql-15)', BIN)

let server: TestServer
let work: string
let archive: string

const TABLES = ['public.customers', 'sales.orders', 'sales."Order Items"', '"Reporting Data"."Daily Totals"']

beforeAll(async () => {
  if (!BIN) return
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-physical-'))
  archive = path.join(work, 'archive')
  await mkdir(archive)
  // The server runs as another account (postgres, when the tests run as root): it must write there.
  await chmod(work, 0o755)
  await chmod(archive, 0o777)
  server = await startServer({
    settings: ['archive_mode=on', `archive_command=cp %p ${archive}/%f`, 'wal_level=replica']
  })
  await createSampleDatabase(server, 'shop')
}, 60_000)

afterAll(async () => {
  await server?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

async function sourceRows(extra: string[] = []): Promise<number> {
  const sql = [...TABLES, ...extra].map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')
  const [row] = await server.query<{ rows: string }>(`SELECT (${sql})::text AS rows`, 'shop')
  return Number(row.rows)
}

function basebackup(name: string, args: string[]): string {
  const into = path.join(work, name)
  const run = spawnSync(
    path.join(BIN, 'pg_basebackup'),
    [
      ...['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-D', into, '-c', 'fast'],
      ...(args.includes('--no-manifest') ? [] : ['--manifest-checksums=SHA256']),
      ...args
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: TEST_PASSWORD } }
  )
  if (run.status !== 0) throw new Error(`pg_basebackup failed: ${run.stderr}`)
  return into
}

/** Postgres processes running on a data directory inside a run's folder of this file (other files run beside it). */
function throwawayProcesses(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        return command.some((part) => part.startsWith(work + path.sep) && /\/backup-verify-[^/]+\/data$/.test(part))
      } catch {
        return false
      }
    })
    .map(Number)
}

async function verify(inputs: Record<string, string>, options: Partial<EngineOptions> = {}) {
  const all: Record<string, string> = { method: 'physical', 'min-size': '0', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, env: { PATH: process.env.PATH }, ...options })
  return { result, reporter, ledger }
}

const shop = (result: Awaited<ReturnType<typeof verify>>['result']) => result.physical?.databases?.find((entry) => entry.name === 'shop')

describe('an existing base backup', () => {
  maybe.each([
    ['tar', ['-F', 't', '-X', 'stream']],
    ['tar, gzip', ['-F', 't', '-z', '-X', 'stream']],
    ['plain', ['-F', 'p', '-X', 'stream']]
  ])('%s: checked against its manifest, started, consistent, amcheck clean, every row counted', async (name, args) => {
    const backup = basebackup(`ok-${name.replace(/\W+/g, '-')}`, args)
    const expected = await sourceRows()
    const pids: number[] = []
    const owners: string[] = []
    const { result, ledger } = await verify(
      { 'backup-file': backup },
      {
        hooks: {
          serverStarted: (pid) => {
            pids.push(pid)
            owners.push(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '')
          }
        }
      }
    )
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.physical?.manifest.verified).toBe(true)
    expect(result.physical?.amcheck).toEqual(expect.objectContaining({ ran: true, passed: true }))
    expect(result.physical?.recovery?.consistentAt).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    expect(shop(result)).toEqual({ name: 'shop', tables: 4, rows: expected })
    expect(result.backup?.format).toBe('physical')
    expect(outputsOf(result)).toEqual(
      expect.objectContaining({ format: 'physical', tables: '4', rows: String(expected), result: 'passed' })
    )
    const html = renderSummary(buildSummary(result))
    expect(htmlProblems(html)).toEqual([])
    expect(html).toContain('<h3>Recovery</h3>')
    expect(html).toMatch(/<td><code>shop<\/code><\/td><td>4<\/td><td>\d+<\/td>/)
    expect(html).toMatch(/^<h2>Backup verification<\/h2>\n<p>✅ The base backup starts: 2 database\(s\), 4 tables and \d+ rows came back/)
    // As root the copy runs under an unprivileged account; its files are removed all the same.
    if (process.getuid?.() === 0) expect(owners.every((uid) => uid !== '0' && uid !== '')).toBe(true)
    expect(pids).toHaveLength(1)
    expect(throwawayProcesses()).toEqual([])
    expect([...ledger.live.server, ...ledger.live.folder]).toEqual([])
    expect(readdirSync(work).filter((entry) => entry.startsWith('backup-verify-') && !entry.startsWith('backup-verify-receipt-'))).toEqual(
      []
    )
  })

  maybe('point-in-time recovery to a time between two batches restores exactly the first', async () => {
    await server.query('CREATE TABLE IF NOT EXISTS pitr (n int)', 'shop')
    const backup = basebackup('pitr', ['-F', 't', '-X', 'stream'])
    await server.query('INSERT INTO pitr SELECT generate_series(1, 100)', 'shop')
    const [{ target }] = await server.query<{ target: string }>(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS target"
    )
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await server.query('INSERT INTO pitr SELECT generate_series(101, 150)', 'shop')
    const [{ segment }] = await server.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment')
    for (let waited = 0; !existsSync(path.join(archive, segment)) && waited < 20_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100))
    expect(existsSync(path.join(archive, segment))).toBe(true)
    const firstBatch = (await sourceRows(['pitr'])) - 50
    const { result } = await verify({ 'backup-file': backup, 'wal-archive': archive, 'recovery-target-time': target })
    expect(result.error).toBeUndefined()
    expect(shop(result)?.rows).toBe(firstBatch)
    expect(result.physical?.recovery?.segmentsRestored).toBeGreaterThan(0)
    expect(result.physical?.recovery?.targetReached).toMatch(/before commit of transaction/)
    expect(result.physical?.recovery?.timeline).toBe(2)
    await server.query('DROP TABLE pitr', 'shop')
  })
})

async function flip(file: string, offset: number, length = 1): Promise<void> {
  const handle = await open(file, 'r+')
  try {
    const bytes = Buffer.alloc(length)
    await handle.read(bytes, 0, length, offset)
    for (let index = 0; index < length; index++) bytes[index] ^= 0xa5
    await handle.write(bytes, 0, length, offset)
  } finally {
    await handle.close()
  }
}

describe('a recovery target the archive never reaches', () => {
  maybe('a time after every archived commit: the run says the archive holds nothing written after it', async () => {
    const backup = basebackup('past-the-end', ['-F', 't', '-X', 'stream'])
    const { result } = await verify({ 'backup-file': backup, 'wal-archive': archive, 'recovery-target-time': '2099-01-01 00:00:00+00' })
    expect(result.error?.problem).toBe('restore-failed')
    expect(result.error?.message).toMatch(
      /ended before the recovery target \(time 2099-01-01 00:00:00\+00\): the archive holds nothing written after it/
    )
    expect(result.error?.hint).toContain('a commit after it must be archived')
    expect(throwawayProcesses()).toEqual([])
  })
})

describe('a recovery target as a WAL location', () => {
  maybe('recovery-target-lsn between two batches restores exactly the first, from a tar.lz4 backup', async () => {
    await server.query('CREATE TABLE IF NOT EXISTS pitr_lsn (n int)', 'shop')
    const backup = basebackup('pitr-lsn', ['-F', 't', '-X', 'stream', '--compress=client-lz4'])
    await server.query('INSERT INTO pitr_lsn SELECT generate_series(1, 70)', 'shop')
    const [{ lsn }] = await server.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')
    await server.query('INSERT INTO pitr_lsn SELECT generate_series(71, 100)', 'shop')
    const [{ segment }] = await server.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment')
    for (let waited = 0; !existsSync(path.join(archive, segment)) && waited < 20_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100))
    const firstBatch = (await sourceRows(['pitr_lsn'])) - 30
    const { result } = await verify({ 'backup-file': backup, 'wal-archive': archive, 'recovery-target-lsn': lsn })
    expect(result.error).toBeUndefined()
    expect(result.backup?.compression).toBe('lz4')
    expect(shop(result)?.rows).toBe(firstBatch)
    expect(result.physical?.recovery?.targetReached).toMatch(/after WAL location|at WAL location|before WAL location/)
    await server.query('DROP TABLE pitr_lsn', 'shop')
  })
})

describe('damage fails with its reason, and never hangs', () => {
  maybe('a byte flipped inside a relation file: pg_verifybackup names the file', async () => {
    const backup = basebackup('flipped', ['-F', 'p', '-X', 'stream'])
    const [{ file }] = await server.query<{ file: string }>("SELECT pg_relation_filepath('customers') AS file", 'shop')
    await flip(path.join(backup, file), 5000)
    const { result } = await verify({ 'backup-file': backup })
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toContain('pg_verifybackup found the backup differs from its manifest')
    expect(result.error?.message).toContain(`checksum mismatch for file "${file}"`)
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
  })

  maybe('without a manifest, a damaged index page is found by amcheck on the started copy', async () => {
    const backup = basebackup('no-manifest', ['-F', 'p', '-X', 'stream', '--no-manifest'])
    const [{ file }] = await server.query<{ file: string }>("SELECT pg_relation_filepath('customers_pkey') AS file", 'shop')
    await flip(path.join(backup, file), 8192 + 40, 400)
    const { result, reporter } = await verify({ 'backup-file': backup })
    expect(reporter.warnings.join('\n')).toContain('has no backup_manifest')
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toMatch(/^amcheck found corruption in the restored copy: .*customers_pkey/)
    expect(throwawayProcesses()).toEqual([])
  })

  maybe('a truncated base.tar', async () => {
    const backup = basebackup('truncated', ['-F', 't', '-X', 'stream'])
    const base = path.join(backup, 'base.tar')
    await truncate(base, Math.floor((await stat(base)).size / 2))
    const { result } = await verify({ 'backup-file': backup })
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toMatch(/^base\.tar could not be extracted: .*(Unexpected EOF|truncated)/i)
  })

  maybe('a missing WAL segment: named', async () => {
    const backup = basebackup('no-wal', ['-F', 'p', '-X', 'stream', '--no-manifest'])
    const segment = /\(file ([0-9A-F]{24})\)/.exec(await readFile(path.join(backup, 'backup_label'), 'utf8'))![1]
    await rm(path.join(backup, 'pg_wal', segment))
    const { result } = await verify({ 'backup-file': backup })
    expect(result.error?.problem).toBe('restore-failed')
    expect(result.error?.message).toContain(`segment ${segment}`)
    expect(throwawayProcesses()).toEqual([])
  })

  maybe('a missing backup_label is refused before anything starts', async () => {
    const backup = basebackup('no-label', ['-F', 'p', '-X', 'stream'])
    await rm(path.join(backup, 'backup_label'))
    const { result } = await verify({ 'backup-file': backup })
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toMatch(
      /^The backup has no backup_label: started as it is, the copy would .* come up silently inconsistent/
    )
  })

  maybe('a backup_manifest from another backup', async () => {
    const first = basebackup('manifest-a', ['-F', 'p', '-X', 'stream'])
    await server.query("INSERT INTO customers (name, email) VALUES ('Between', 'between@example.com')", 'shop')
    const second = basebackup('manifest-b', ['-F', 'p', '-X', 'stream'])
    await copyFile(path.join(first, 'backup_manifest'), path.join(second, 'backup_manifest'))
    const { result } = await verify({ 'backup-file': second })
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toContain('pg_verifybackup found the backup differs from its manifest')
  })

  maybe('a major with no server binaries to be had', async () => {
    const backup = basebackup('major', ['-F', 'p', '-X', 'stream', '--no-manifest'])
    await writeFile(path.join(backup, 'PG_VERSION'), '12\n')
    const cache = await mkdtemp(path.join(work, 'empty-cache-'))
    const { result } = await verify(
      { 'backup-file': backup, 'tools-url': 'http://127.0.0.1:9/postgresql-{version}-{target}.tar.gz' },
      { toolCache: new FolderToolCache(cache), retry: { attempts: 1, baseDelayMs: 10 } }
    )
    expect(result.error?.problem).toBe('tools-missing')
    expect(result.error?.message).toMatch(
      /^The backup is of PostgreSQL 12, and no server binaries of major 12 are installed or could be installed/
    )
    expect(result.error?.hint).toContain('postgresql-12')
  })
})

describe('a new base backup (no backup-file)', () => {
  maybe.each<[string, Record<string, string>, string[]]>([
    ['tar', {}, ['backup_manifest', 'base.tar', 'pg_wal.tar']],
    ['tar, gzip', { compression: 'gzip:5' }, ['backup_manifest', 'base.tar.gz', 'pg_wal.tar.gz']]
  ])('%s: pg_basebackup, then started, proved, and held exactly to the quiet source', async (_name, extra, files) => {
    const { result, reporter } = await verify({ 'database-url': server.url('shop'), 'keep-backup': 'true', ...extra }, { heartbeatMs: 1 })
    expect(result.error).toBeUndefined()
    expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'passed'])
    // pg_basebackup's own count, against the server's estimate of the whole.
    expect(reporter.lines.some((line) => /^pg_basebackup: \d+% \(.+ of .+\)(, about \d+ s left)?, \d+ s elapsed$/.test(line))).toBe(true)
    expect(result.physical?.comparison).toEqual({ database: 'shop', compared: 4, written: [], mismatches: [] })
    expect(shop(result)?.rows).toBe(await sourceRows())
    // keep-backup keeps the base backup alone: the copy and its server's folder are gone.
    const kept = result.backup?.path as string
    expect(readdirSync(kept).sort()).toEqual(files)
    expect(readdirSync(path.dirname(kept)).filter((entry) => ['data', 'server'].includes(entry))).toEqual([])
    await rm(path.dirname(kept), { recursive: true, force: true })
  })

  maybe("kept, then verified later with its receipt: the database compared exactly; another backup's receipt is refused", async () => {
    const made = await verify({ 'database-url': server.url('shop'), 'keep-backup': 'true' })
    expect(made.result.error).toBeUndefined()
    const kept = made.result.backup?.path as string
    const receipt = made.result.receiptPath as string
    const later = await verify({ 'backup-file': kept, receipt })
    expect(later.result.error).toBeUndefined()
    expect(later.result.checks?.find((check) => check.name === 'Receipt')?.detail).toMatch(/^describes this backup/)
    expect(later.result.tables?.reference).toBe('receipt')
    expect(later.result.tables?.rows.map((entry) => entry.source === entry.restored)).toEqual([true, true, true, true])
    expect(later.result.tables?.definitions.differences).toEqual([])
    const other = basebackup('other-than-receipt', ['-F', 't', '-X', 'stream'])
    const refused = await verify({ 'backup-file': other, receipt })
    expect(refused.result.error?.problem).toBe('receipt-mismatch')
    await rm(path.dirname(kept), { recursive: true, force: true })
  })

  maybe(
    'the database of values easy to get wrong, at verify data: created, held to the source, kept, and held to its receipt later',
    async () => {
      await server.query('CREATE DATABASE proof')
      await server.query("ALTER DATABASE proof SET timezone = 'America/New_York'")
      await server.query(PROOF_SCHEMA, 'proof')
      try {
        const made = await verify({ 'database-url': server.url('proof'), verify: 'data', 'keep-backup': 'true' })
        expect(made.result.error).toBeUndefined()
        const tables = await server.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'",
          'proof'
        )
        expect(made.result.physical?.comparison).toEqual({ database: 'proof', compared: Number(tables[0].n), written: [], mismatches: [] })
        const later = await verify({
          'backup-file': made.result.backup?.path as string,
          receipt: made.result.receiptPath as string,
          verify: 'data'
        })
        expect(later.result.error).toBeUndefined()
        expect(later.result.tables?.level).toBe('data')
        expect(
          later.result.tables?.rows.every((entry) => entry.sourceFingerprint === entry.restoredFingerprint && entry.sourceFingerprint)
        ).toBe(true)
        await rm(path.dirname(made.result.backup?.path as string), { recursive: true, force: true })
      } finally {
        await server.query('DROP DATABASE proof')
      }
    }
  )

  maybe('a source written to during the backup: no false alarm, the written table named, the quiet ones exact', async () => {
    await server.query('CREATE TABLE IF NOT EXISTS busy (n int)', 'shop')
    let writing = true
    const writer = (async () => {
      for (let n = 0; writing; n++) await server.query(`INSERT INTO busy VALUES (${n})`, 'shop')
    })()
    try {
      const { result, reporter } = await verify({ 'database-url': server.url('shop') })
      expect(result.error).toBeUndefined()
      expect(result.physical?.comparison?.written).toEqual(['public.busy'])
      expect(result.physical?.comparison?.compared).toBe(4)
      expect(reporter.warnings.join('\n')).toContain('The source was written to while the backup ran: 1 table(s) changed (public.busy)')
    } finally {
      writing = false
      await writer
      await server.query('DROP TABLE busy', 'shop')
    }
  })

  maybe('min-size applies to the base backup, and the run leaves nothing behind', async () => {
    const { result, ledger } = await verify({ 'database-url': server.url('shop'), 'min-size': '10GB' })
    expect(result.error?.problem).toBe('backup-too-small')
    expect(result.error?.message).toMatch(/^Base backup is suspiciously small: [\d,]+ bytes .*, under min-size \(10,000,000,000 bytes/)
    expect(result.phases.map((phase) => phase.status)).toEqual(['failed', 'not run', 'not run'])
    expect([...ledger.live.server, ...ledger.live.folder]).toEqual([])
  })

  maybe('a role without REPLICATION: says which, and how to grant it', async () => {
    await server.query("DROP ROLE IF EXISTS reader; CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT pg_read_all_data TO reader")
    const url = `postgresql://reader:reader-pw@127.0.0.1:${server.port}/shop`
    const { result } = await verify({ 'database-url': url })
    expect(result.error?.problem).toBe('permission-denied')
    expect(result.error?.message).toMatch(/^pg_basebackup was refused: the role may not replicate/)
    expect(result.error?.hint).toContain('ALTER ROLE <role> WITH REPLICATION')
  })

  maybe('a server whose pg_hba.conf refuses replication: says so, and the line to add', async () => {
    const hba = path.join(server.socketDirectory, 'pg_hba.conf')
    const original = await readFile(hba, 'utf8')
    await writeFile(
      hba,
      original
        .split('\n')
        .filter((line) => !/\breplication\b/.test(line))
        .join('\n')
    )
    await server.query('SELECT pg_reload_conf()')
    try {
      const { result } = await verify({ 'database-url': server.url('shop') })
      expect(result.error?.problem).toBe('permission-denied')
      expect(result.error?.message).toMatch(
        /^pg_basebackup was refused: the server's pg_hba.conf has no entry for a replication connection/
      )
      expect(result.error?.hint).toContain('host replication <role>')
    } finally {
      await writeFile(hba, original)
      await server.query('SELECT pg_reload_conf()')
    }
  })
})

describe('nothing left behind', () => {
  maybe('interrupted (SIGTERM) while the copy recovers: no server, no folder', async () => {
    const backup = basebackup('interrupted', ['-F', 't', '-X', 'stream'])
    const controller = new AbortController()
    const { result, ledger } = await verify(
      { 'backup-file': backup },
      { signal: controller.signal, hooks: { serverStarted: () => controller.abort('SIGTERM') } }
    )
    expect(result.error?.problem).toBe('interrupted')
    expect(throwawayProcesses()).toEqual([])
    expect([...ledger.live.server, ...ledger.live.folder]).toEqual([])
  })

  maybe('the post step stops a server the main step left running, and removes its folder', async () => {
    const backup = await recognisePhysical(basebackup('left', ['-F', 't', '-X', 'stream']))
    const folder = await mkdtemp(path.join(work, 'backup-verify-left-'))
    const data = path.join(folder, 'data')
    await materialise(backup!, data, new AbortController().signal)
    const running = await startThrowawayServer({
      postgres: path.join(BIN, 'postgres'),
      dataDirectory: data,
      folder: path.join(folder, 'server'),
      signal: new AbortController().signal,
      timeoutMs: 60_000
    })
    expect(throwawayProcesses()).toEqual([running.pid])
    const post = await runBundle('dist/post/index.js', {
      state: { 'throwaway-servers': JSON.stringify([`${running.pid}:${data}`]), 'temporary-folders': JSON.stringify([folder]) }
    })
    expect(post.code).toBe(0)
    expect(post.stdout).toContain(`Stopped leftover throwaway server ${running.pid}`)
    expect(throwawayProcesses()).toEqual([])
    expect(existsSync(folder)).toBe(false)
  })

  maybe(
    'ten runs in a row of the command line leave no process and no folder',
    async () => {
      const backup = basebackup('ten', ['-F', 't', '-X', 'stream'])
      for (let run = 0; run < 10; run++) {
        const done = await runBundle('dist/cli/index.js', {
          args: ['--method', 'physical', '--backup-file', backup],
          env: { TMPDIR: work }
        })
        expect([done.code, done.stderr]).toEqual([0, ''])
        expect(done.stdout).toContain('PASSED: the base backup')
      }
      expect(throwawayProcesses()).toEqual([])
      expect(readdirSync(work).filter((entry) => /^backup-verify-(?!left|receipt-)/.test(entry))).toEqual([])
    },
    120_000
  )
})
