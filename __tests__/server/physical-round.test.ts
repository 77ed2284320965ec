// Physical backups of clusters set up the way real ones are: a database that takes no connections,
// unlogged tables, a tablespace in a tar backup, settings the runner cannot honour, and a recovery
// target given without the WAL archive it needs. Real servers and real pg_basebackup.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { appendFile, chmod, chown, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadSettings } from '../../src/inputs/inputs.js'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, startServer, TEST_PASSWORD, type TestServer } from '../support/server.js'
import { testNeeding } from '../support/skips.js'

const BIN = [process.env.PGBIN, '/usr/lib/postgresql/15/bin'].find((dir) => dir && existsSync(path.join(dir, 'pg_basebackup'))) as string
if (!BIN) console.warn('Skipping physical backups: no pg_basebackup (apt-get install postgresql-15)')
const maybe = testNeeding('pg_basebackup of PostgreSQL 15 (postgresql-15)', BIN)

let server: TestServer
let work: string

beforeAll(async () => {
  if (!BIN) return
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-physical-round-'))
  // The servers run as another account (postgres, when the tests run as root): they must reach it.
  await chmod(work, 0o755)
  server = await startServer({ settings: ['wal_level=replica'] })
  await createSampleDatabase(server, 'shop')
}, 60_000)

afterAll(async () => {
  await server?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

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

async function verify(inputs: Record<string, string>) {
  const all: Record<string, string> = { method: 'physical', 'min-size': '0', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, env: { PATH: process.env.PATH } })
  return { result, reporter, ledger }
}

async function flip(file: string, offset: number, length: number): Promise<void> {
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

describe('a database that takes no connections (ALLOW_CONNECTIONS false) is checked all the same', () => {
  maybe('a damaged index page in it fails, naming the database; undamaged, it passes and is named as opened on the copy', async () => {
    await server.query('CREATE DATABASE closed')
    await server.query(
      'CREATE TABLE kept (id int PRIMARY KEY, note text); INSERT INTO kept SELECT n, md5(n::text) FROM generate_series(1, 2000) n',
      'closed'
    )
    const [{ file }] = await server.query<{ file: string }>("SELECT pg_relation_filepath('kept_pkey') AS file", 'closed')
    await server.query('ALTER DATABASE closed ALLOW_CONNECTIONS false')
    try {
      const clean = await verify({ 'backup-file': basebackup('closed-clean', ['-F', 'p', '-X', 'stream']) })
      expect(clean.result.error).toBeUndefined()
      expect(clean.result.physical?.amcheck?.detail).toContain('closed')
      expect(clean.result.physical?.databases?.find((entry) => entry.name === 'closed')).toEqual({ name: 'closed', tables: 1, rows: 2000 })
      const damaged = basebackup('closed-damaged', ['-F', 'p', '-X', 'stream', '--no-manifest'])
      await flip(path.join(damaged, file), 8192 + 40, 400)
      const { result } = await verify({ 'backup-file': damaged })
      expect(result.error?.problem).toBe('backup-invalid')
      expect(result.error?.message).toMatch(/^amcheck found corruption in the restored copy: .*kept_pkey/)
      expect(result.error?.message).toContain('closed')
    } finally {
      await server.query('DROP DATABASE closed')
    }
  })

  maybe(
    'a database an interrupted DROP DATABASE left invalid cannot be opened: named as not checked, in a warning and the summary',
    async () => {
      await server.query('CREATE DATABASE half_dropped')
      await server.query("UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'half_dropped'")
      try {
        const { result, reporter } = await verify({ 'backup-file': basebackup('half-dropped', ['-F', 't', '-X', 'stream']) })
        expect(result.error).toBeUndefined()
        expect(reporter.warnings.join('\n')).toMatch(/not checked: half_dropped \(invalid: an interrupted DROP DATABASE/)
        expect(result.physical?.amcheck?.detail).toMatch(/not checked: half_dropped/)
        expect(renderSummary(buildSummary(result))).toContain('not checked: half_dropped')
      } finally {
        await server.query("UPDATE pg_database SET datconnlimit = -1 WHERE datname = 'half_dropped'")
        await server.query('DROP DATABASE half_dropped')
      }
    }
  )
})

describe('unlogged tables are empty in a base backup by design: there, not compared row by row', () => {
  maybe('a new base backup of a database with a filled unlogged table passes and names it', async () => {
    await server.query('CREATE UNLOGGED TABLE scratch (n int); INSERT INTO scratch SELECT generate_series(1, 500)', 'shop')
    try {
      const { result, reporter } = await verify({ 'database-url': server.url('shop') })
      expect(result.error).toBeUndefined()
      expect(result.physical?.comparison?.mismatches).toEqual([])
      expect(result.physical?.comparison?.compared).toBe(4)
      expect(reporter.lines.join('\n')).toContain('unlogged: empty in a base backup by design: public.scratch')
      expect(result.physical?.databases?.find((entry) => entry.name === 'shop')?.tables).toBe(5)
    } finally {
      await server.query('DROP TABLE scratch', 'shop')
    }
  })
})

describe('a tar backup of a cluster with a tablespace verifies against its manifest and starts', () => {
  maybe(
    'existing (base.tar plus <oid>.tar) and new, compressed: every file as the manifest says, the table in the tablespace counted',
    async () => {
      const location = path.join(work, 'tablespace')
      await mkdir(location)
      // The tablespace's folder belongs to the account the server runs as.
      const owner = await stat(server.socketDirectory)
      await chown(location, owner.uid, owner.gid)
      await server.query(`CREATE TABLESPACE elsewhere LOCATION '${location}'`)
      await server.query('CREATE TABLE far (n int) TABLESPACE elsewhere; INSERT INTO far SELECT generate_series(1, 300)', 'shop')
      try {
        const backup = basebackup('tablespace-tar', ['-F', 't', '-X', 'stream'])
        expect(readdirSync(backup).filter((name) => /^\d+\.tar$/.test(name))).toHaveLength(1)
        const existing = await verify({ 'backup-file': backup })
        expect(existing.result.error).toBeUndefined()
        expect(existing.result.physical?.manifest.verified).toBe(true)
        const [{ rows }] = await server.query<{ rows: string }>(
          'SELECT (SELECT count(*) FROM far) + (SELECT count(*) FROM customers) + (SELECT count(*) FROM sales.orders) + (SELECT count(*) FROM sales."Order Items") + (SELECT count(*) FROM "Reporting Data"."Daily Totals") AS rows',
          'shop'
        )
        expect(existing.result.physical?.databases?.find((entry) => entry.name === 'shop')).toEqual({
          name: 'shop',
          tables: 5,
          rows: Number(rows)
        })
        // A new backup, compressed: the tablespace's archive is <oid>.tar.gz.
        const made = await verify({ 'database-url': server.url('shop'), compression: 'gzip:1' })
        expect(made.result.error).toBeUndefined()
        expect(made.result.physical?.comparison).toEqual(expect.objectContaining({ compared: 5, mismatches: [] }))
      } finally {
        await server.query('DROP TABLE far', 'shop')
        await server.query('DROP TABLESPACE elsewhere')
      }
    }
  )
})

describe("settings in the backup's configuration that the runner cannot honour", () => {
  maybe('huge_pages = on and a shared_preload_libraries library the runner lacks are overridden on the copy, and named', async () => {
    await server.query("ALTER SYSTEM SET huge_pages = 'on'")
    await server.query("ALTER SYSTEM SET shared_preload_libraries = 'no_such_library'")
    let backup: string
    try {
      backup = basebackup('unhonoured-settings', ['-F', 't', '-X', 'stream'])
    } finally {
      await server.query('ALTER SYSTEM RESET huge_pages')
      await server.query('ALTER SYSTEM RESET shared_preload_libraries')
    }
    const { result, reporter } = await verify({ 'backup-file': backup })
    expect(result.error).toBeUndefined()
    expect(result.physical?.manifest.verified).toBe(true)
    const said = reporter.lines.join('\n')
    expect(said).toMatch(/postgresql\.auto\.conf.*huge_pages = 'on'/)
    expect(said).toMatch(/postgresql\.auto\.conf.*shared_preload_libraries = 'no_such_library'/)
  })

  maybe('a setting that cannot be overridden fails with its name and its file', async () => {
    const backup = basebackup('unforceable-setting', ['-F', 'p', '-X', 'stream', '--no-manifest'])
    const auto = path.join(backup, 'postgresql.auto.conf')
    const original = await readFile(auto, 'utf8')
    await appendFile(auto, "lc_monetary = 'xx_NOWHERE.UTF-8'\n")
    const { result } = await verify({ 'backup-file': backup })
    expect(result.error?.problem).toBe('restore-failed')
    expect(result.error?.message).toMatch(/lc_monetary/)
    expect(result.error?.message).toContain("the backup's postgresql.auto.conf")
    expect(result.error?.hint).toMatch(/postgresql\.auto\.conf/)
    await writeFile(auto, original)
    await appendFile(path.join(backup, 'postgresql.conf'), "include 'conf.d/missing.conf'\n")
    const included = await verify({ 'backup-file': backup })
    expect(included.result.error?.problem).toBe('restore-failed')
    expect(included.result.error?.message).toMatch(
      /^The restored copy did not start: the server refuses the include of the backup's conf\.d\/missing\.conf \(not on this runner\) in the backup's postgresql\.conf/
    )
  })
})

describe('a recovery target without wal-archive is refused before anything starts', () => {
  test.each([
    ['recovery-target-time', '2026-01-01 10:00:00+00'],
    ['recovery-target-lsn', '0/3000060']
  ])('%s alone: the message names it and wal-archive', (input, value) => {
    const all: Record<string, string> = { method: 'physical', 'backup-file': '/backups/base', [input]: value }
    const read = () => loadSettings({ get: (name) => all[name] ?? '', environment: {}, workingDirectory: '/' })
    expect(read).toThrow(new RegExp(`^Input "${input}" needs input "wal-archive"`))
    all['wal-archive'] = '/backups/wal'
    expect(read().recoveryTarget).toBeDefined()
  })
})
