// verify: data holds every restored row to the dump's own bytes: values that print in many ways
// pass in every format, and a row changed, swapped or duplicated in the restored copy fails,
// naming that table and no other.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { SourceSnapshot } from '../../src/compare/snapshot.js'
import { ReadBackPool } from '../../src/compare/read-back.js'
import { openSession } from '../../src/connection/session.js'
import { chooseConnection } from '../../src/inputs/connection.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'
import { DAMAGE, PROOF_SCHEMA } from '../support/proof-database.js'

const { server, work } = useServer('data-proof')

beforeAll(async () => {
  await server.query('CREATE DATABASE proof')
  await server.query("ALTER DATABASE proof SET timezone = 'America/New_York'")
  await server.query(PROOF_SCHEMA, 'proof')
})

async function verify(inputs: Record<string, string>, hooks?: EngineOptions['hooks']) {
  const all: Record<string, string> = { 'min-size': '0', verify: 'data', ...inputs }
  const settings = settingsFrom(all, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger: new MemoryLedger(), hooks, env: { PATH: process.env.PATH } })
  return { result, reporter }
}

function chooseTarget(url: string) {
  const choice = chooseConnection(url, {}, undefined)
  if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
  return choice.target
}

const damageAll = (database: string) => server.query(Object.values(DAMAGE).join(';\n'), database).then(() => {})

const FORMATS: Array<[string, Record<string, string>]> = [
  ['plain, streamed', { format: 'plain' }],
  ['plain, one session', { format: 'plain', pipeline: 'false', jobs: '1' }],
  ['custom', { format: 'custom' }],
  ['directory', { format: 'directory', jobs: '2' }],
  ['tar', { format: 'tar' }]
]

describe('every restored row against the dump', () => {
  test.each(FORMATS)('%s: the restore passes, every table compared by its rows as the dump holds them', async (_name, format) => {
    const { result, reporter } = await verify({ 'database-url': server.url('proof'), ...format })
    expect(result.error).toBeUndefined()
    const compared = result.tables!.rows.filter((entry) => entry.restoredFingerprint?.startsWith('copy:'))
    // Every table with rows in the dump: the partitioned parent holds none of its own.
    expect(compared.map((entry) => entry.table).sort()).toEqual(
      [
        'public."Empty Table"',
        'public.arrays',
        'public.blanks',
        'public.blobs',
        'public.bytes',
        'public.documents',
        'public.floats',
        'public.generated',
        'public.items',
        'public.measurements_2024',
        'public.measurements_2025',
        'public.pairs',
        'public.stamps',
        'public.typed'
      ].sort()
    )
    for (const entry of compared) expect(entry.restoredFingerprint).toBe(entry.sourceFingerprint)
    expect(reporter.lines.join('\n')).toMatch(/verify level data/)
  })

  test.each(FORMATS)('%s: a change in each table of the restored copy is caught, each table named, no other', async (_name, format) => {
    const { result } = await verify({ 'database-url': server.url('proof'), ...format }, { afterRestore: damageAll })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('restore-mismatch')
    const differs = result.tables!.contentMismatches.map((entry) => entry.table).sort()
    expect(differs).toEqual(
      [
        'public.arrays',
        'public.blanks',
        'public.bytes',
        'public.documents',
        'public.floats',
        'public.generated',
        'public.items',
        'public.measurements_2025',
        'public.pairs',
        'public.stamps'
      ].sort()
    )
    expect(result.tables!.rowMismatches).toEqual([])
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a row added to an empty table, and a large object rewritten, are caught', async () => {
    const { result } = await verify(
      { 'database-url': server.url('proof') },
      {
        afterRestore: (database) =>
          server
            .query('INSERT INTO "Empty Table" VALUES (1); SELECT lo_put(body, 10, \'\\x01\'::bytea) FROM blobs', database)
            .then(() => {})
      }
    )
    expect(result.status).toBe('failed')
    expect(result.tables!.rowMismatches.map((entry) => [entry.table, entry.source, entry.restored])).toEqual([
      ['public."Empty Table"', 0, 1]
    ])
    expect(result.error?.message).toMatch(/large object data \d+ is md5 [0-9a-f]{32} in the dump, but md5 [0-9a-f]{32} restored/)
  })

  test('writes to the source during the dump raise no alarm: the restore is held to the snapshot that was dumped', async () => {
    let writing = true
    const writer = (async () => {
      let writes = 0
      while (writing) {
        await server.query(
          `UPDATE items SET note = md5(random()::text) WHERE id = ${1 + (writes % 400)}; INSERT INTO pairs VALUES (${writes}, 'w')`,
          'proof'
        )
        writes++
      }
      return writes
    })()
    try {
      for (const format of [{ format: 'plain' }, { format: 'custom' }]) {
        const { result } = await verify({ 'database-url': server.url('proof'), ...format })
        expect(result.error).toBeUndefined()
      }
    } finally {
      writing = false
      expect(await writer).toBeGreaterThan(0)
    }
  })
})

describe('the restored rows as the server sends them', () => {
  test("a database in LATIN1, names and values outside ASCII: read back in the dump's encoding, held exactly, a changed value caught", async () => {
    await server.query("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    await server.query(
      `CREATE TABLE "Café" (id int PRIMARY KEY, "naïve" text, "größe" numeric);
       INSERT INTO "Café" SELECT g, 'crème brûlée ' || g || E' \\ tab\there', g * 1.5 FROM generate_series(1, 300) g;`,
      'latin'
    )
    for (const format of FORMATS.map(([, inputs]) => inputs)) {
      const { result } = await verify({ 'database-url': server.url('latin'), ...format })
      expect(result.error).toBeUndefined()
      const [entry] = result.tables!.rows
      expect([entry.table, entry.restored, entry.restoredFingerprint?.startsWith('copy:')]).toEqual(['public."Café"', 300, true])
      expect(entry.restoredFingerprint).toBe(entry.sourceFingerprint)
    }
    const { result } = await verify(
      { 'database-url': server.url('latin') },
      {
        afterRestore: (database) => server.query(`UPDATE "Café" SET "naïve" = 'crème brûlée 7 ' WHERE id = 7`, database).then(() => {})
      }
    )
    expect(result.error?.problem).toBe('restore-mismatch')
    expect(result.tables!.contentMismatches.map((entry) => entry.table)).toEqual(['public."Café"'])
  })

  test("a table that cannot be read back fails the verification, with the server's reason", async () => {
    const { result } = await verify(
      { 'database-url': server.url('proof') },
      { afterRestore: (database) => server.query('ALTER TABLE pairs RENAME COLUMN b TO renamed', database).then(() => {}) }
    )
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(
      /could not be read back to compare their content: public\.pairs: [^;]*column "b"[^;]*does not exist/
    )
    expect(await temporaryDatabases(server)).toEqual([])
  })
})

describe('the read-back sessions', () => {
  test('a statement that would read rows from the client is refused at once, the session still reads the next table', async () => {
    const pool = new ReadBackPool(
      {
        target: chooseTarget(server.url('proof')),
        database: 'proof',
        clientEncoding: 'UTF8',
        settings: { TimeZone: 'UTC', bytea_output: 'hex', lc_monetary: 'C' }
      },
      1
    )
    try {
      const refused = await pool.read({ key: 'in', statement: 'COPY public.pairs FROM STDIN;', weight: 2 })
      const read = await pool.read({ key: 'out', statement: 'COPY public.pairs (a, b) TO STDOUT;', weight: 1 })
      // Other tests of this file write to pairs: its count is taken now.
      const [{ count }] = await server.query<{ count: string }>('SELECT count(*) FROM pairs', 'proof')
      expect(refused).toEqual({ error: 'the statement asked to read rows from the client' })
      expect(read).toMatchObject({ rows: Number(count), fingerprint: expect.stringMatching(/^copy:[0-9a-f]{16}$/) })
    } finally {
      await pool.close()
    }
  })
})

describe('an existing backup', () => {
  test('without a receipt, its rows are its own reference: a restore that lost a value fails naming the table', async () => {
    const made = await verify({ 'database-url': server.url('proof'), format: 'custom', 'keep-backup': 'true' })
    expect(made.result.error).toBeUndefined()
    const existing = { 'backup-file': made.result.backup!.path, 'restore-database-url': server.url('postgres') }
    const clean = await verify(existing)
    expect(clean.result.error).toBeUndefined()
    expect(clean.result.tables?.reference).toBe('backup')
    // The backup does not say which time zone or monetary locale it was written in: those tables by rows only, said so.
    const notes = Object.fromEntries(
      clean.result.tables!.rows.filter((entry) => entry.contentNote).map((entry) => [entry.table, entry.contentNote])
    )
    expect(Object.keys(notes).sort()).toEqual(['public.bytes', 'public.stamps'])
    expect(notes['public.stamps']).toMatch(/^not compared by content: its timestamptz values print in the time zone/)
    const damaged = await verify(existing, { afterRestore: (database) => server.query(DAMAGE['public.items'], database).then(() => {}) })
    expect(damaged.result.status).toBe('failed')
    expect(damaged.result.tables!.contentMismatches.map((entry) => entry.table)).toEqual(['public.items'])
    expect(damaged.result.error?.message).toMatch(
      /^Content differs in 1 table\(s\) with the same row count: public\.items \(fingerprint copy:[0-9a-f]{16} in the backup/
    )
  })

  test('a receipt of another backup: the tables whose content changed since are named, that one and no other', async () => {
    await server.query('CREATE DATABASE evolving')
    await server.query(PROOF_SCHEMA, 'evolving')
    const first = await verify({ 'database-url': server.url('evolving'), format: 'custom', 'keep-backup': 'true' })
    expect(first.result.error).toBeUndefined()
    await server.query('UPDATE floats SET f8 = 2.5 WHERE f8 = 1e-300', 'evolving')
    const second = await verify({ 'database-url': server.url('evolving'), format: 'custom', 'keep-backup': 'true' })
    expect(second.result.error).toBeUndefined()
    const existing = {
      'backup-file': second.result.backup!.path,
      'restore-database-url': server.url('postgres'),
      receipt: first.result.receiptPath as string
    }
    const refused = await verify(existing)
    expect(refused.result.error?.problem).toBe('receipt-mismatch')
    expect(refused.result.error?.message).toMatch(/Content differs from it in 1 table: public\.floats\./)
    const compared = await verify({ ...existing, 'max-shrink': '10' })
    expect(compared.result.error).toBeUndefined()
    expect(compared.result.sinceReceipt?.changed.map((entry) => entry.table)).toEqual(['public.floats'])
    expect(compared.reporter.lines.join('\n')).toMatch(/changed in 1: public\.floats \(same \d+ rows\)/)
  })

  test('a receipt of the backup itself: its fingerprints are held against the restore, in the settings it records', async () => {
    const made = await verify({ 'database-url': server.url('proof'), format: 'directory', 'keep-backup': 'true' })
    const receipt = JSON.parse(await readFile(made.result.receiptPath as string, 'utf8'))
    expect(receipt.schemaVersion).toBe(4)
    // The database's own time zone, as pg_dump's session had it; the server's monetary locale.
    expect(receipt.inventory.outputSettings).toEqual({ TimeZone: 'America/New_York', bytea_output: 'hex', lc_monetary: expect.any(String) })
    const items = receipt.inventory.content.find((entry: { table: string }) => entry.table === 'public.items')
    expect(items).toMatchObject({ rows: 400, copyTarget: 'public.items' })
    expect(items.fingerprint).toMatch(/^copy:[0-9a-f]{16}$/)
    const receiptFile = path.join(work, 'own-receipt.json')
    await writeFile(receiptFile, JSON.stringify(receipt))
    const existing = { 'backup-file': made.result.backup!.path, 'restore-database-url': server.url('postgres'), receipt: receiptFile }
    const clean = await verify(existing)
    expect(clean.result.error).toBeUndefined()
    // Its settings are recorded: the time-zone-dependent table is compared by content too.
    expect(clean.result.tables!.rows.find((entry) => entry.table === 'public.stamps')?.restoredFingerprint).toMatch(/^copy:/)
    const damaged = await verify(existing, { afterRestore: (database) => server.query(DAMAGE['public.stamps'], database).then(() => {}) })
    expect(damaged.result.tables!.contentMismatches.map((entry) => entry.table)).toEqual(['public.stamps'])
  })
})

describe('a restore server of another major', () => {
  test('the source fingerprints in SQL, in the dumped snapshot, only the tables whose values that major may print otherwise', async () => {
    const snapshot = await SourceSnapshot.open(await openSession(chooseTarget(server.url('proof'))))
    try {
      const inventory = await snapshot.inventory('data', 14)
      const sql = inventory.content.filter((entry) => entry.fingerprint?.startsWith('sql:')).map((entry) => entry.table)
      expect(sql).toEqual(['public.typed'])
      expect(inventory.content.find((entry) => entry.table === 'public.items')).toEqual({ table: 'public.items', rows: 400 })
      // The same major: nothing is read but the counts.
      const same = await snapshot.inventory('data', 15)
      expect(same.content.filter((entry) => entry.fingerprint !== undefined)).toEqual([])
    } finally {
      await snapshot.close()
    }
  })

  test('an existing backup dumped from another major: the tables it may print otherwise are compared by rows, said so; the rest by content', async () => {
    const made = await verify({ 'database-url': server.url('proof'), format: 'plain', 'keep-backup': 'true' })
    const text = await readFile(made.result.backup!.path, 'utf8')
    expect(text).toMatch(/^-- Dumped from database version 15\./m)
    const older = path.join(work, 'from-14.sql')
    await writeFile(older, text.replace(/^-- Dumped from database version 15\.\d+.*$/m, '-- Dumped from database version 14.9'))
    const { result } = await verify({ 'backup-file': older, 'restore-database-url': server.url('postgres') })
    expect(result.error).toBeUndefined()
    const notes = Object.fromEntries(
      result.tables!.rows.filter((entry) => entry.contentNote).map((entry) => [entry.table, entry.contentNote])
    )
    expect(notes['public.typed']).toBe(
      'not compared by content: dumped from PostgreSQL 14, restored on PostgreSQL 15, which may print pg_catalog.regtype, pg_catalog.regclass otherwise'
    )
    expect(result.tables!.rows.find((entry) => entry.table === 'public.items')?.restoredFingerprint).toMatch(/^copy:/)
  })
})
