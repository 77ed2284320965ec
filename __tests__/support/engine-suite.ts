// The engine's integration suite, run once per server major by the engine.pgNN test files.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from './verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { chooseConnection } from '../../src/inputs/connection.js'
import { takeInventory } from '../../src/compare/inventory.js'
import { openSession } from '../../src/connection/session.js'

function chooseTarget(url: string) {
  const choice = chooseConnection(url, {}, undefined)
  if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
  return choice.target
}
import { MemoryLedger, recordingReporter } from './reporter.js'
import { createSampleDatabase, startServer, temporaryDatabases, unavailableReason, type TestServer } from './server.js'

export function engineSuite(major: number): void {
  const reason = unavailableReason(major)
  if (reason) {
    test.skip(`PostgreSQL ${major}: ${reason}`, () => {})
    console.warn(`Skipping the PostgreSQL ${major} engine suite: ${reason}`)
    return
  }

  describe(`engine against PostgreSQL ${major}`, () => {
    let server: TestServer
    let tempRoot: string
    const env = { PATH: process.env.PATH } as NodeJS.ProcessEnv

    beforeAll(async () => {
      server = await startServer({ major })
      await createSampleDatabase(server, 'shop')
      tempRoot = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-engine-'))
    })

    afterAll(async () => {
      await server?.stop()
      if (tempRoot) await rm(tempRoot, { recursive: true, force: true })
    })

    const run = (inputs: Record<string, string>) => {
      const settings = settingsFrom(inputs, tempRoot, { environment: env })
      const reporter = recordingReporter()
      const ledger = new MemoryLedger()
      return verifyBackup({ settings, reporter, ledger, env }).then((result) => ({ result, reporter, ledger }))
    }

    test('a database with schemas, quoted names, an enum, a view and a sequence passes all three phases', async () => {
      const { result, reporter, ledger } = await run({ 'database-url': server.url('shop'), 'keep-backup': 'true' })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      expect(result.phases.map((phase) => [phase.name, phase.status])).toEqual([
        ['Create', 'passed'],
        ['Validate', 'passed'],
        ['Restore', 'passed']
      ])
      expect(result.serverVersion).toMatch(new RegExp(`^${major}\\.`))
      expect(result.tables?.source).toEqual(['"Reporting Data"."Daily Totals"', 'public.customers', 'sales."Order Items"', 'sales.orders'])
      expect(result.tables?.restored).toEqual(result.tables?.source)
      // Exact row counts, from the dumped snapshot and from the restored database; at the default
      // level, data, every table's rows read back and matched to the dump's own.
      expect(result.tables?.level).toBe('data')
      expect(result.tables?.rows.map(({ table, source, restored }) => ({ table, source, restored }))).toEqual([
        { table: '"Reporting Data"."Daily Totals"', source: 365, restored: 365 },
        { table: 'public.customers', source: 1000, restored: 1000 },
        { table: 'sales."Order Items"', source: 6000, restored: 6000 },
        { table: 'sales.orders', source: 3000, restored: 3000 }
      ])
      for (const entry of result.tables!.rows) {
        expect(entry.restoredFingerprint).toMatch(/^copy:[0-9a-f]{16}$/)
        expect(entry.restoredFingerprint).toBe(entry.sourceFingerprint)
      }
      expect(reporter.groups).toHaveLength(3)
      expect(reporter.lines.some((line) => /^Database: .+ \(table data .+\); free where the backup goes: .+$/.test(line))).toBe(true)
      // The kept backup is the file the checksum and size describe.
      const backup = result.backup!
      expect(backup.kept).toBe(true)
      const bytes = await readFile(backup.path)
      expect(bytes.length).toBe(backup.sizeBytes)
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(backup.sha256)
      expect(bytes.toString('utf8')).toContain('«ünïcødé»')
      // pg_dump writes it, but into a file made private before pg_dump opened it.
      expect((await stat(backup.path)).mode & 0o777).toBe(0o600)
      // Nothing else is left: the temporary database is gone, the password file too.
      expect(await temporaryDatabases(server)).toEqual([])
      expect(ledger.live.database.size).toBe(0)
      expect(existsSync(path.join(path.dirname(backup.path), '.pgpass'))).toBe(false)
      expect(reporter.lines.join('\n')).not.toContain(server.password)
    })

    test('without keep-backup the temporary folder is removed', async () => {
      const { result, ledger } = await run({ 'database-url': server.url('shop') })
      expect(result.status).toBe('passed')
      expect(result.backup?.kept).toBe(false)
      expect(existsSync(path.dirname(result.backup!.path))).toBe(false)
      expect(ledger.live.folder.size).toBe(0)
      expect(ledger.everCreated.map(([kind]) => kind).sort()).toEqual(['database', 'folder'])
    })

    test('a backup below min-size fails the Create phase with the size and the minimum', async () => {
      const { result } = await run({ 'database-url': server.url('shop'), 'min-size': '100MB' })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('backup-too-small')
      expect(result.error?.message).toMatch(
        /^Backup file is suspiciously small: [\d,]+ bytes.*, under min-size \(100,000,000 bytes \(95\.4 MiB\)\) by [\d,]+ bytes/
      )
      expect(result.phases.map((phase) => phase.status)).toEqual(['failed', 'not run', 'not run'])
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('a role missing at restore: harmless by default (counted and shown), fatal with strict', async () => {
      await server.query('CREATE ROLE doomed_owner')
      await server.query('CREATE DATABASE owned')
      await server.query(
        'CREATE TABLE t (id int); ALTER TABLE t OWNER TO doomed_owner; INSERT INTO t SELECT generate_series(1, 500)',
        'owned'
      )
      // The owner disappears between the dump and the restore, as when restoring onto another server.
      const hooks = {
        beforeRestore: async () => {
          await server.query('ALTER TABLE t OWNER TO postgres', 'owned')
          await server.query('DROP ROLE doomed_owner')
        }
      }
      // Sequential: the role goes away after the dump and before the restore starts.
      const lenient = settingsFrom({ 'database-url': server.url('owned'), 'min-size': '0', pipeline: 'false' }, tempRoot, {
        environment: env
      })
      const reporter = recordingReporter()
      const passed = await verifyBackup({ settings: lenient, reporter, env, hooks })
      expect(passed.error).toBeUndefined()
      expect(passed.ignoredRestoreErrors).toEqual({
        total: 1,
        detail: 'a role the dump names does not exist (ownership or privileges not restored) (1x)'
      })
      expect(reporter.warnings.join('\n')).toContain('The restore reported 1 harmless error(s), ignored (strict: true would fail on them)')

      await server.query('CREATE ROLE doomed_owner; ALTER TABLE t OWNER TO doomed_owner', 'owned')
      const strict = settingsFrom({ 'database-url': server.url('owned'), 'min-size': '0', pipeline: 'false', strict: 'true' }, tempRoot, {
        environment: env
      })
      const ledger = new MemoryLedger()
      const result = await verifyBackup({ settings: strict, reporter: recordingReporter(), ledger, env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('restore-failed')
      expect(result.error?.message).toMatch(
        /^Restore failed: psql stopped at the first error \(exit code 3\): .*role "doomed_owner" does not exist/
      )
      expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'failed'])
      expect(await temporaryDatabases(server)).toEqual([])
      expect(ledger.live.database.size).toBe(0)
      expect(ledger.live.folder.size).toBe(0)
    })

    test('any other restore error fails, even when not strict, naming the error', async () => {
      const hooks = {
        beforeRestore: async (backupFile: string) => {
          const text = await readFile(backupFile, 'utf8')
          await writeFile(backupFile, text.replace('CREATE TABLE public.customers (', 'CREATE TABLE public.customerz ('))
        }
      }
      const settings = settingsFrom({ 'database-url': server.url('shop'), pipeline: 'false' }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('restore-failed')
      expect(result.error?.message).toMatch(
        /^Restore failed: (an error that leaves|\d+ errors that leave) the restore incomplete: .*relation "public\.customers" does not exist/
      )
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('a backup changed between validation and restore is caught by the checksum of what psql read', async () => {
      const hooks = {
        beforeRestore: async (backupFile: string) => {
          const text = await readFile(backupFile, 'utf8')
          // Same length, still valid SQL, still restores: only the checksum can tell.
          await writeFile(backupFile, text.replace('Customer 1\t', 'Customer X\t'))
        }
      }
      const settings = settingsFrom({ 'database-url': server.url('shop'), pipeline: 'false' }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('backup-invalid')
      expect(result.error?.message).toMatch(
        /^The backup changed after it was validated: the restore read bytes with SHA-256 [0-9a-f]{64}, the backup had [0-9a-f]{64}\.$/
      )
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('a backup that vanished before the restore fails cleanly, and the temporary database is dropped', async () => {
      const hooks = { beforeRestore: (backupFile: string) => rm(backupFile) }
      const settings = settingsFrom({ 'database-url': server.url('shop'), pipeline: 'false' }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.message).toContain('ENOENT')
      expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'failed'])
      expect(result.restoreDatabase?.dropped).toBe(true)
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('a table missing from the restored database is named', async () => {
      const hooks = {
        afterRestore: async (databaseName: string) => {
          await server.query('DROP TABLE "Reporting Data"."Daily Totals"', databaseName)
        }
      }
      const settings = settingsFrom({ 'database-url': server.url('shop') }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('restore-mismatch')
      // The table's columns, keys and indexes are missing with it: the message names the table alone.
      expect(result.error?.message).toBe('Restored database has 3 tables, the source has 4: missing "Reporting Data"."Daily Totals"')
      expect(result.tables?.definitions.differences.map((difference) => difference.kind)).toContain('column')
      expect(result.tables?.missing).toEqual(['"Reporting Data"."Daily Totals"'])
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('a row deleted from the restored database is named, with both counts', async () => {
      const hooks = {
        afterRestore: (databaseName: string) =>
          server.query('DELETE FROM sales."Order Items" WHERE order_id = 1 AND line = 1', databaseName).then(() => {})
      }
      const settings = settingsFrom({ 'database-url': server.url('shop') }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.error?.message).toBe('Row counts differ in 1 table(s): sales."Order Items" 6000 in the source, 5999 restored')
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test.each([
      [
        'data',
        'UPDATE sales.orders SET total = total + 0.01 WHERE id = 42',
        /^Content differs in 1 table\(s\) with the same row count: sales\.orders \(fingerprint copy:[0-9a-f]{16} in the dump, copy:[0-9a-f]{16} restored\)$/
      ],
      [
        'schema',
        'DROP INDEX sales.orders_customer_idx',
        /^Definitions differ for 1 object\(s\): index sales\.orders_customer_idx is missing after the restore \(in the dump: CREATE INDEX orders_customer_idx ON sales\.orders USING btree \(customer_id\)\)$/
      ],
      [
        'rows',
        "SELECT setval('public.invoice_number_seq', 7)",
        /^Sequence values differ: public\.invoice_number_seq 5000 in the dump, 7 restored$/
      ]
    ])('verify %s: tampering with the restored database (%s) is caught and named', async (level, tamper, message) => {
      const hooks = { afterRestore: (databaseName: string) => server.query(tamper, databaseName).then(() => {}) }
      const settings = settingsFrom({ 'database-url': server.url('shop'), verify: level }, tempRoot, { environment: env })
      const result = await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })
      expect(result.status).toBe('failed')
      expect(result.tables?.level).toBe(level)
      expect(result.error?.message).toMatch(message)
    })

    test('each verify level passes on an untouched restore, and a value change passes unnoticed below data', async () => {
      for (const level of ['schema', 'rows', 'data']) {
        const settings = settingsFrom({ 'database-url': server.url('shop'), verify: level }, tempRoot, { environment: env })
        const result = await verifyBackup({ settings, reporter: recordingReporter(), env })
        expect(result.error).toBeUndefined()
        expect(result.tables?.objects.find((entry) => entry.kind === 'tables')).toEqual({ kind: 'tables', source: 4, restored: 4 })
      }
      const hooks = {
        afterRestore: (databaseName: string) =>
          server.query('UPDATE sales.orders SET total = total + 0.01 WHERE id = 42', databaseName).then(() => {})
      }
      const settings = settingsFrom({ 'database-url': server.url('shop'), verify: 'rows' }, tempRoot, { environment: env })
      expect((await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })).status).toBe('passed')
    })

    test('writes to the source while it is dumped never cause a mismatch: the counts come from the dumped snapshot', async () => {
      await server.query('CREATE DATABASE busy')
      await server.query(
        'CREATE TABLE events (id bigserial PRIMARY KEY, payload text); INSERT INTO events (payload) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 50000) g',
        'busy'
      )
      let writing = true
      const writer = (async () => {
        let rounds = 0
        while (writing && rounds < 2000) {
          await server.query(
            "INSERT INTO events (payload) SELECT 'new' FROM generate_series(1, 50); DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY random() LIMIT 20)",
            'busy'
          )
          rounds++
        }
        return rounds
      })()
      try {
        for (const pipeline of ['true', 'false']) {
          const settings = settingsFrom({ 'database-url': server.url('busy'), pipeline }, tempRoot, { environment: env })
          const result = await verifyBackup({ settings, reporter: recordingReporter(), env })
          expect(result.error).toBeUndefined()
          expect(result.tables?.rowMismatches).toEqual([])
        }
      } finally {
        writing = false
        expect(await writer).toBeGreaterThan(0)
      }
    })

    test('ten runs at once against one server all pass, each with its own temporary database, and leave nothing behind', async () => {
      const runs = await Promise.all(Array.from({ length: 10 }, () => run({ 'database-url': server.url('shop') })))
      expect(runs.map(({ result }) => result.error?.message ?? result.status)).toEqual(Array(10).fill('passed'))
      expect(new Set(runs.map(({ result }) => result.restoreDatabase?.name)).size).toBe(10)
      expect(await temporaryDatabases(server)).toEqual([])
    })

    test('the source is only read: its inventory, content included, is the same after passing and failing runs', async () => {
      const fingerprint = async () => {
        const client = await openSession(chooseTarget(server.url('shop')))
        try {
          return await takeInventory(client, 'data', true)
        } finally {
          await client.end()
        }
      }
      const before = await fingerprint()
      await run({ 'database-url': server.url('shop'), format: 'custom' })
      await run({ 'database-url': server.url('shop'), 'min-size': '1GB' })
      const hooks = { afterRestore: async () => Promise.reject(new Error('a fault in the middle of the restore')) }
      const settings = settingsFrom({ 'database-url': server.url('shop') }, tempRoot, { environment: env })
      expect((await verifyBackup({ settings, reporter: recordingReporter(), env, hooks })).status).toBe('failed')
      expect(await fingerprint()).toEqual(before)
    })

    test('over the Unix socket and over IPv6 loopback, the URL forms pass too', async () => {
      const password = encodeURIComponent(server.password)
      const socket = await run({
        'database-url': `postgresql://postgres:${password}@${encodeURIComponent(server.socketDirectory)}:${server.port}/shop`
      })
      expect(socket.result.error).toBeUndefined()
      expect(socket.result.target).toBe(`postgres@${server.socketDirectory}:${server.port}/shop`)
      if (!server.ipv6) {
        console.warn('No IPv6 loopback on this machine: the [::1] case is not run')
        return
      }
      const ipv6 = await run({ 'database-url': `postgresql://postgres:${password}@[::1]:${server.port}/shop?sslmode=disable` })
      expect(ipv6.result.error).toBeUndefined()
      expect(ipv6.result.status).toBe('passed')
    })

    test('a user who may not create databases is told so, with the GRANT that fixes it', async () => {
      await server.query("CREATE ROLE limited LOGIN PASSWORD 'limited-pw' NOCREATEDB")
      await server.query('CREATE DATABASE limited_db OWNER limited')
      await server.query('GRANT ALL ON SCHEMA public TO limited', 'limited_db')
      const url = `postgresql://limited:limited-pw@127.0.0.1:${server.port}/limited_db`
      const { result } = await run({ 'database-url': url, 'min-size': '0' })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('create-database-denied')
      expect(result.error?.message).toBe(
        'Permission denied to create database: user "limited" cannot create the temporary restore database.'
      )
      expect(result.error?.hint).toBe('Grant it with: ALTER USER "limited" CREATEDB; (or run the verification as a superuser)')
      expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'failed'])
      expect(JSON.stringify(result)).not.toContain('limited-pw')
    })

    test('wrong password: authentication failed, and the password is in no message', async () => {
      const url = server.url('shop').replace(encodeURIComponent(server.password), 'not-the-password')
      const { result } = await run({ 'database-url': url })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('authentication-failed')
      expect(result.error?.message).toContain('Authentication failed for user "postgres"')
      expect(JSON.stringify(result)).not.toContain('not-the-password')
    })

    test('a database that does not exist is named', async () => {
      const { result } = await run({ 'database-url': server.url('no_such_db') })
      expect(result.error?.problem).toBe('database-missing')
      expect(result.error?.message).toContain('Database "no_such_db" does not exist')
    })
  })
}
