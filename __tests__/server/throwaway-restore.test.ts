// The restore on a throwaway server of the run's own (restore-server): the verdict and the compared
// definitions those of a restore on the source's server, the source's encoding and collation kept, a
// missing extension named, nothing left behind however the run ends; and the source's server sees
// only the dump's read.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { verifyBackup } from '../../src/engine/verify.js'
import { buildReceipt } from '../../src/records/receipt.js'
import type { VerificationResult } from '../../src/report/result.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { parseFileCommand, ROOT, runBundle } from '../support/runner.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'
import { settingsFrom } from '../support/verify.js'

// No autovacuum: its ANALYZE writes catalog rows, which would blur what the runs write on this server.
const { server, work } = useServer('throwaway-restore', { settings: ['autovacuum=off'] })

/** Roles with names a careless quote would break, owning and granted objects in both databases. */
const OWNER = 'Owner "O\'Brien" ✓'
const READER = 'reader ünï'

/** The run folders under `folder` that are still there (files, receipts among them, may stay). */
async function runFoldersIn(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true })
  return entries.filter((entry) => entry.isDirectory() && entry.name.startsWith('backup-verify-')).map((entry) => entry.name)
}

beforeAll(async () => {
  // The server's account (a root runner's postgres) may pass through, so the throwaway server's folder stays in here.
  await chmod(work, 0o711)
  await server.query(`CREATE ROLE "${OWNER.replace(/"/g, '""')}"; CREATE ROLE "${READER}"`)
  await createSampleDatabase(server, 'shop')
  await server.query(
    `CREATE SCHEMA "Grüße ""quoted"" ✓" AUTHORIZATION "${OWNER.replace(/"/g, '""')}";
     CREATE TABLE "Grüße ""quoted"" ✓"."Tab;le --x" (id int PRIMARY KEY, "Wert ""v""" text COLLATE "C");
     INSERT INTO "Grüße ""quoted"" ✓"."Tab;le --x" SELECT g, 'ü' || g FROM generate_series(1, 500) g;
     ALTER TABLE "Grüße ""quoted"" ✓"."Tab;le --x" OWNER TO "${OWNER.replace(/"/g, '""')}";
     GRANT SELECT ON "Grüße ""quoted"" ✓"."Tab;le --x" TO "${READER}";
     GRANT USAGE ON SCHEMA "Grüße ""quoted"" ✓" TO "${READER}"`,
    'shop'
  )
}, 120_000)

afterAll(async () => {
  await server.query(`DROP DATABASE IF EXISTS shop`).catch(() => {})
})

async function verify(inputs: Record<string, string>, hooks?: { afterRestore?: (database: string) => Promise<void> }) {
  const settings = settingsFrom({ 'min-size': '0', ...inputs }, work)
  const ledger = new MemoryLedger()
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger, hooks })
  return { result, ledger, reporter }
}

/** What a later run compares with, as the receipt records it: every definition's hash and every table's fingerprint. */
function recorded(result: VerificationResult) {
  const receipt = JSON.parse(JSON.stringify(buildReceipt(result))) as { inventory: Record<string, unknown> }
  return receipt.inventory
}

/** postgres processes whose data folder is under `folder`, with their uid. */
async function serversUnder(folder: string): Promise<Array<{ pid: number; uid: number }>> {
  const found: Array<{ pid: number; uid: number }> = []
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    const data = cmdline[cmdline.indexOf('-D') + 1]
    if (!cmdline[0]?.endsWith('postgres') || cmdline.indexOf('-D') < 0 || !data?.startsWith(folder)) continue
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
    found.push({ pid, uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1) })
  }
  return found
}

/** The throwaway server a run recorded in its ledger: its socket folder and port, to look inside it during the run. */
async function throwawayOf(ledger: MemoryLedger, database: string): Promise<pg.Client> {
  const [recorded] = [...ledger.live.server]
  const dataDirectory = recorded.slice(recorded.indexOf(':') + 1)
  const socketDirectory = path.join(path.dirname(dataDirectory), 'socket')
  const socket = (await readdir(socketDirectory)).find((name) => /^\.s\.PGSQL\.\d+$/.test(name)) as string
  const client = new pg.Client({ host: socketDirectory, port: Number(socket.split('.').pop()), user: server.user, database })
  await client.connect()
  return client
}

describe('through the throwaway server', () => {
  test.each(['plain', 'custom', 'directory', 'tar'])(
    '%s: passes, with the definitions and fingerprints a restore on the source server gives; the owners and grantees made there',
    async (format) => {
      const through = await verify({ 'database-url': server.url('shop'), format, 'restore-server': 'throwaway' })
      expect(through.result.error).toBeUndefined()
      expect(through.result.status).toBe('passed')
      expect(through.result.restoreServer).toMatchObject({ kind: 'throwaway', version: expect.stringMatching(/^\d+/) })
      const facts = through.result.restoreServer as { rolesCreated: string[]; notDurable: string[] }
      expect(facts.rolesCreated).toEqual(expect.arrayContaining([OWNER, READER]))
      // Only roles the source has: never the characters of a role list read as text ("{", "}").
      const sourceRoles = (await server.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).map((row) => row.rolname)
      expect(facts.rolesCreated.filter((name) => !sourceRoles.includes(name))).toEqual([])
      expect(facts.notDurable).toContain('fsync = off')
      // Nothing of the restore on the source's server.
      expect(await temporaryDatabases(server)).toEqual([])
      const onSource = await verify({ 'database-url': server.url('shop'), format, 'restore-server': 'source' })
      expect(onSource.result.status).toBe('passed')
      expect(onSource.result.restoreServer).toEqual({ kind: 'source', reason: 'restore-server: source' })
      expect(recorded(through.result)).toEqual(recorded(onSource.result))
      expect(through.result.tables?.definitions.compared).toBe(onSource.result.tables?.definitions.compared)
      expect(through.result.tables?.rows.map((row) => [row.table, row.restoredFingerprint])).toEqual(
        onSource.result.tables?.rows.map((row) => [row.table, row.restoredFingerprint])
      )
      // Stopped and removed: no server process, no folder.
      expect(through.ledger.live.server.size).toBe(0)
      expect(await serversUnder(work)).toEqual([])
    },
    240_000
  )

  test.each(['schema', 'rows'])(
    'verify %s passes through the throwaway server',
    async (verifyLevel) => {
      const { result } = await verify({ 'database-url': server.url('shop'), verify: verifyLevel, 'restore-server': 'throwaway' })
      expect(result.error).toBeUndefined()
      expect(result.tables?.level).toBe(verifyLevel)
    },
    120_000
  )

  test('a change made to the restored copy on the throwaway server is caught: the comparison reads that server', async () => {
    const settings = settingsFrom({ 'database-url': server.url('shop'), 'min-size': '0', 'restore-server': 'throwaway' }, work)
    const ledger = new MemoryLedger()
    const result = await verifyBackup({
      settings,
      reporter: recordingReporter(),
      ledger,
      hooks: {
        afterRestore: async (database) => {
          const client = await throwawayOf(ledger, database)
          await client.query('DELETE FROM sales."Order Items" WHERE ctid = (SELECT min(ctid) FROM sales."Order Items")')
          await client.end()
        }
      }
    })
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(/^Row counts differ in 1 table\(s\): sales\."Order Items" \d+ in the source, \d+ restored/)
  }, 120_000)

  test('the throwaway server runs as an unprivileged account when the runner is root', async () => {
    let uids: number[] = []
    await verify(
      { 'database-url': server.url('shop'), 'restore-server': 'throwaway', verify: 'schema' },
      { afterRestore: async () => void (uids = (await serversUnder(work)).map((found) => found.uid)) }
    )
    expect(uids.length).toBeGreaterThan(0)
    if (process.getuid?.() === 0) expect(uids.every((uid) => uid !== 0)).toBe(true)
    else expect(uids.every((uid) => uid === process.getuid?.())).toBe(true)
  }, 120_000)
})

describe("the source database's encoding and collation", () => {
  /** A verification through the throwaway server, and what `sql` reads of its temporary database there after the restore. */
  async function restoredDatabase(database: string, sql: string) {
    let restored: Record<string, string> | undefined
    const ledger = new MemoryLedger()
    const result = await verifyBackup({
      settings: settingsFrom({ 'database-url': server.url(database), 'min-size': '0', 'restore-server': 'throwaway' }, work),
      reporter: recordingReporter(),
      ledger,
      hooks: {
        afterRestore: async (name) => {
          const client = await throwawayOf(ledger, name)
          restored = (await client.query(sql)).rows[0]
          await client.end()
        }
      }
    })
    return { result, restored }
  }

  test('a LATIN1 database restores into a LATIN1 database, its text compared without a false alarm', async () => {
    await server.query("CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
    await server.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'café'), (2, 'Øre £')", 'latin')
    const { result, restored } = await restoredDatabase(
      'latin',
      'SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate FROM pg_database WHERE datname = current_database()'
    )
    expect(result.error).toBeUndefined()
    expect(restored).toEqual({ encoding: 'LATIN1', collate: 'C' })
  }, 120_000)

  test('a database of ICU collation restores with that collation, and a nondeterministic column compares', async () => {
    const icu = await server.query<{ n: string }>("SELECT count(*) AS n FROM pg_collation WHERE collprovider = 'i'")
    if (Number(icu[0].n) === 0) return console.warn('this server has no ICU: the case is not tried here')
    await server.query("CREATE DATABASE icu_db TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LOCALE 'C'")
    await server.query(
      `CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
       CREATE TABLE words (id int PRIMARY KEY, w text COLLATE nocase);
       INSERT INTO words VALUES (1, 'Straße'), (2, 'STRASSE'), (3, 'äpfel')`,
      'icu_db'
    )
    const { result, restored } = await restoredDatabase(
      'icu_db',
      'SELECT datlocprovider AS provider, daticulocale AS locale FROM pg_database WHERE datname = current_database()'
    )
    expect(result.error).toBeUndefined()
    expect(restored).toEqual({ provider: 'i', locale: 'de-DE' })
  }, 120_000)
})

describe('an extension the throwaway binaries lack', () => {
  let extensionFiles: string[] = []

  beforeAll(async () => {
    // A tiny extension in the test server's own binaries only: the throwaway server's (the client
    // tools' major, installed elsewhere) cannot have it.
    const [{ setting }] = await server.query<{ setting: string }>("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
    const folder = path.join(setting, 'extension')
    extensionFiles = [path.join(folder, 'bv_probe.control'), path.join(folder, 'bv_probe--1.0.sql')]
    await writeFile(extensionFiles[0], "default_version = '1.0'\nrelocatable = true\ncomment = 'a test of backup-verify'\n")
    await writeFile(extensionFiles[1], 'CREATE FUNCTION bv_probe() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n')
    await server.query('CREATE DATABASE probed')
    await server.query('CREATE EXTENSION bv_probe; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)', 'probed')
  })

  afterAll(async () => {
    for (const file of extensionFiles) await rm(file, { force: true })
  })

  test("auto restores on the source's server, and says which extension kept it from the throwaway one", async () => {
    const { result, reporter } = await verify({ 'database-url': server.url('probed'), 'restore-server': 'auto' })
    expect(result.error).toBeUndefined()
    expect(result.restoreServer).toMatchObject({ kind: 'source', reason: expect.stringContaining('bv_probe') })
    expect(reporter.warnings.join('\n')).toMatch(
      /The restore runs on the source's server \(restore-server: auto\): .*lack extension\(s\) the source uses: bv_probe/
    )
    expect(await serversUnder(work)).toEqual([])
  }, 120_000)

  test('an existing backup that creates it, with no server named, fails naming it before anything is restored', async () => {
    const made = await verify({ 'database-url': server.url('probed'), 'restore-server': 'source', 'keep-backup': 'true' })
    expect(made.result.error).toBeUndefined()
    const { result } = await verify({ 'backup-file': made.result.backup!.path, 'restore-server': 'auto' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('extensions-missing')
    expect(result.error?.message).toMatch(
      /^No throwaway restore server: the server binaries in .* lack extension\(s\) the backup creates: bv_probe\.$/
    )
    expect(result.restoreDatabase).toBeUndefined()
    expect(await serversUnder(work)).toEqual([])
  }, 120_000)

  test('throwaway fails, naming the extension', async () => {
    const { result } = await verify({ 'database-url': server.url('probed'), 'restore-server': 'throwaway' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('extensions-missing')
    expect(result.error?.message).toMatch(
      /^No throwaway restore server: the server binaries in .* lack extension\(s\) the source uses: bv_probe\.$/
    )
    expect(await temporaryDatabases(server)).toEqual([])
    expect(await serversUnder(work)).toEqual([])
  }, 120_000)
})

describe('an existing backup', () => {
  const backups: Record<string, string> = {}

  beforeAll(async () => {
    // Backups of the shop database, kept by a run of the engine: a plain dump and a custom archive.
    for (const format of ['plain', 'custom']) {
      const { result } = await verify({ 'database-url': server.url('shop'), format, 'keep-backup': 'true' })
      backups[format] = result.backup!.path
    }
  }, 120_000)

  test.each(['plain', 'custom'])(
    '%s, with no server named: restored on a throwaway server, its owners and grantees made there, and passes',
    async (format) => {
      const { result, reporter } = await verify({ 'backup-file': backups[format], 'restore-server': 'auto' })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      expect(result.restoreServer).toMatchObject({ kind: 'throwaway' })
      const facts = result.restoreServer as { rolesCreated: string[] }
      expect(facts.rolesCreated).toEqual(expect.arrayContaining([OWNER, READER, 'backup_verify_restore']))
      expect(result.tables?.restored).toContain('"Grüße ""quoted"" ✓"."Tab;le --x"')
      expect(reporter.lines.join('\n')).toMatch(/No server named: the backup says it was made by pg_dump \d+/)
      expect(await serversUnder(work)).toEqual([])
    },
    120_000
  )

  test('with database-url and nothing to vouch for it: auto restores it on a throwaway server, not on the server named', async () => {
    const { result } = await verify({ 'backup-file': backups.plain, 'database-url': server.url('postgres'), 'restore-server': 'auto' })
    expect(result.error).toBeUndefined()
    expect(result.restoreServer?.kind).toBe('throwaway')
    expect(result.restoreTarget).toBeUndefined()
    expect(await temporaryDatabases(server)).toEqual([])
  }, 120_000)

  test('with database-url and its expected checksum: restored on the server named, as before', async () => {
    const checksum = createHash('sha256')
      .update(await readFile(backups.plain))
      .digest('hex')
    let onServer: string[] = []
    const settings = settingsFrom(
      {
        'backup-file': backups.plain,
        'database-url': server.url('postgres'),
        'restore-server': 'auto',
        'expected-checksum': checksum,
        'min-size': '0'
      },
      work
    )
    const result = await verifyBackup({
      settings,
      reporter: recordingReporter(),
      hooks: { afterRestore: async () => void (onServer = await temporaryDatabases(server)) }
    })
    expect(result.error).toBeUndefined()
    expect(result.restoreServer).toBeUndefined()
    expect(onServer).toHaveLength(1)
  }, 120_000)

  test('restore-server: source with no server named is refused before anything runs, naming what to give', () => {
    expect(() => settingsFrom({ 'backup-file': backups.plain, 'restore-server': 'source' }, work)).toThrow(
      /restore-database-url.*with backup-file, restore-server: source and no database-url the restore needs one/
    )
  })

  test("the command line verifies a dump file with no PostgreSQL server of the user's at all", async () => {
    const run = await runBundle('dist/cli/index.js', { args: ['--backup-file', backups.custom, '--min-size', '0'] })
    expect(run.stderr + run.stdout).toMatch(/PASSED: the backup .* restores/)
    expect(run.stdout + run.stderr).toMatch(/restored {2}on a throwaway PostgreSQL \d+/)
    expect(run.code).toBe(0)
  }, 120_000)
})

describe("the source's server sees only the dump's read", () => {
  /** The source server's databases, and the rows written and temporary files made in each, as its statistics count them. */
  async function sourceActivity() {
    const rows = await server.query<{ datname: string; written: string; temp_files: string }>(
      `SELECT d.datname, coalesce(s.tup_inserted + s.tup_updated + s.tup_deleted, 0) AS written, coalesce(s.temp_files, 0) AS temp_files
         FROM pg_database d LEFT JOIN pg_stat_database s ON s.datid = d.oid ORDER BY 1`
    )
    return rows
  }

  test.each([
    ['plain', '1'],
    ['plain', '4'],
    ['custom', '1'],
    ['custom', '4'],
    ['directory', '4'],
    ['tar', '1']
  ])(
    '%s, jobs %s: no database created there, no row written, no temporary file',
    async (format, jobs) => {
      // Statistics reach the shared counters within a second of a session's work; a session that ends flushes its own.
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const before = await sourceActivity()
      const seen = new Set<string>()
      let polling = true
      const poll = (async () => {
        while (polling) {
          for (const row of await server.query<{ datname: string }>('SELECT datname FROM pg_database')) seen.add(row.datname)
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
      })()
      const { result } = await verify({ 'database-url': server.url('shop'), format, jobs, 'restore-server': 'auto' })
      polling = false
      await poll
      expect(result.error).toBeUndefined()
      expect(result.restoreServer?.kind).toBe('throwaway')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const after = await sourceActivity()
      expect([...seen].sort()).toEqual(before.map((row) => row.datname))
      expect(after).toEqual(before)
    },
    180_000
  )
})

describe('interrupted', () => {
  test('killed (SIGKILL) while the throwaway server restores, then the post step: no process, no folder', async () => {
    const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-throwaway-kill-'))
    await chmod(temp, 0o711)
    const stateFile = path.join(temp, 'state')
    await writeFile(stateFile, '')
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RUNNER_TEMP: temp,
        'INPUT_DATABASE-URL': server.url('shop'),
        'INPUT_MIN-SIZE': '0',
        'INPUT_RESTORE-SERVER': 'throwaway',
        GITHUB_STATE: stateFile
      },
      stdio: 'ignore'
    })
    const closed = new Promise((resolve) => child.on('close', resolve))
    try {
      for (const started = Date.now(); (await serversUnder(temp)).length === 0;) {
        if (Date.now() - started > 60_000) throw new Error('the throwaway server never started')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      child.kill('SIGKILL')
      await closed
      const state = parseFileCommand(await readFile(stateFile, 'utf8'))
      expect(state['throwaway-servers']).toBeDefined()
      const post = await runBundle('dist/post/index.js', {
        inputs: { 'database-url': server.url('shop') },
        state: Object.fromEntries(Object.entries(state).filter(([name]) => !name.startsWith('isPost')))
      })
      expect(post.code).toBe(0)
      expect(await serversUnder(temp)).toEqual([])
      expect(await runFoldersIn(temp)).toEqual([])
    } finally {
      child.kill('SIGKILL')
      await rm(temp, { recursive: true, force: true })
    }
  }, 120_000)

  test('stopped (SIGTERM) while the throwaway server restores: the run stops it and removes its folder itself', async () => {
    const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-throwaway-term-'))
    await chmod(temp, 0o711)
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RUNNER_TEMP: temp,
        'INPUT_DATABASE-URL': server.url('shop'),
        'INPUT_MIN-SIZE': '0',
        'INPUT_RESTORE-SERVER': 'throwaway'
      },
      stdio: ['ignore', 'pipe', 'ignore']
    })
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      for (const started = Date.now(); (await serversUnder(temp)).length === 0;) {
        if (Date.now() - started > 60_000) throw new Error('the throwaway server never started')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      child.kill('SIGTERM')
      expect(await closed).not.toBe(0)
      expect(stdout).toContain('Interrupted by SIGTERM: the verification was stopped before it finished.')
      expect(await serversUnder(temp)).toEqual([])
      expect(await runFoldersIn(temp)).toEqual([])
    } finally {
      child.kill('SIGKILL')
      await rm(temp, { recursive: true, force: true })
    }
  }, 120_000)

  test('ten runs in a row leave no server process and no folder behind', async () => {
    const before = await runFoldersIn(work)
    for (let run = 0; run < 10; run++) {
      const { result } = await verify({ 'database-url': server.url('shop'), verify: 'schema', 'restore-server': 'throwaway' })
      expect(result.error).toBeUndefined()
    }
    expect(await serversUnder(work)).toEqual([])
    expect(await runFoldersIn(work)).toEqual(before)
  }, 300_000)
})
