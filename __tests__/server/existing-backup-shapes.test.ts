// Existing backups of unusual but legitimate shapes: an empty database in every format, a directory
// backup with files of its own beside pg_dump's, min-size applied to a backup made elsewhere, and a
// pg_dumpall file named as what it is.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'
import { settingsFrom, verifyInputs } from '../support/verify.js'

const { server, work } = useServer('shapes')
let pgDump: string
const backups: Record<string, string> = {}

function clientEnv(database: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: 'postgres',
    PGPASSWORD: server.password,
    PGDATABASE: database
  }
}

beforeAll(async () => {
  await server.query('CREATE DATABASE empty')
  await createSampleDatabase(server, 'shop')
  await server.query('CREATE DATABASE pictures')
  await server.query(
    "CREATE TABLE picture (id int PRIMARY KEY, image oid); INSERT INTO picture VALUES (1, lo_from_bytea(0, 'a picture')), (2, lo_from_bytea(0, 'another'))",
    'pictures'
  )
  pgDump = (await findClientTools())[0].pgDump
  const dump = (name: string, database: string, args: string[]) => {
    backups[name] = path.join(work, name)
    execFileSync(pgDump, [...args, `--file=${backups[name]}`], { env: clientEnv(database) })
  }
  for (const format of ['plain', 'custom', 'tar', 'directory']) dump(`empty.${format}`, 'empty', [`--format=${format}`])
  backups['empty.plain.gz'] = path.join(work, 'empty.plain.gz')
  await writeFile(backups['empty.plain.gz'], gzipSync(await readFile(backups['empty.plain'])))
  dump('shop.dir', 'shop', ['--format=directory', '--jobs=2'])
  dump('shop-uncompressed.dir', 'shop', ['--format=directory', '--compress=0'])
  dump('pictures.dir', 'pictures', ['--format=directory'])
  backups['cluster.sql'] = path.join(work, 'cluster.sql')
  execFileSync(path.join(path.dirname(pgDump), 'pg_dumpall'), [`--file=${backups['cluster.sql']}`], { env: clientEnv('postgres') })
  backups['cluster.sql.gz'] = path.join(work, 'cluster.sql.gz')
  await writeFile(backups['cluster.sql.gz'], gzipSync(await readFile(backups['cluster.sql'])))
})

function verifyExisting(file: string, extra: Record<string, string> = {}) {
  return verifyInputs({ 'backup-file': file, 'restore-database-url': server.url('postgres'), ...extra }, work)
}

/** A copy of one of the backups, to change. */
async function copyOf(name: string): Promise<string> {
  const copy = path.join(await mkdtemp(path.join(work, 'copy-')), name)
  await cp(backups[name], copy, { recursive: true })
  return copy
}

/** The size the verification gives a backup: of the file, or of pg_dump's files in a folder. */
async function sizeOf(file: string): Promise<number> {
  if (!(await stat(file)).isDirectory()) return (await stat(file)).size
  const sizes = await Promise.all((await readdir(file)).map(async (name) => (await stat(path.join(file, name))).size))
  return sizes.reduce((a, b) => a + b, 0)
}

function failedIn(check: string, result: Awaited<ReturnType<typeof verifyExisting>>['result']) {
  expect(result.status).toBe('failed')
  expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
  expect(result.checks?.filter((entry) => !entry.passed).map((entry) => entry.name)).toContain(check)
}

const EMPTY_FORMATS = ['plain', 'plain.gz', 'custom', 'tar', 'directory']

describe('an empty database', () => {
  test.each(EMPTY_FORMATS)('its %s dump passes (min-size: 0, as such a tiny backup needs)', async (format) => {
    const { result, ledger } = await verifyExisting(backups[`empty.${format}`], { 'min-size': '0' })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.tables?.restored).toEqual([])
    if (!format.startsWith('plain')) {
      expect(result.checks).toContainEqual({ name: 'Table of contents', passed: true, detail: 'no entries: the dump of an empty database' })
    }
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test.each([
    ['custom', (file: string) => truncate(file, 400)],
    ['directory', (folder: string) => truncate(path.join(folder, 'toc.dat'), 400)],
    ['tar', (file: string) => truncate(file, 2048)]
  ])('its %s archive cut short still fails', async (format, damage) => {
    const copy = await copyOf(`empty.${format}`)
    await damage(copy)
    const { result } = await verifyExisting(copy, { 'min-size': '0' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
  })
})

describe('min-size, applied to a backup made elsewhere', () => {
  test('the default (1 KiB) fails the 600-odd-byte plain dump of an empty database, naming min-size, the sizes and the way out', async () => {
    const size = await sizeOf(backups['empty.plain'])
    expect(size).toBeLessThan(1024)
    const { result, ledger } = await verifyExisting(backups['empty.plain'])
    failedIn('Minimum size', result)
    expect(result.error?.problem).toBe('backup-too-small')
    expect(result.error?.message).toBe(
      `Backup (plain format) is suspiciously small: ${size} bytes, under min-size (1,024 bytes (1.00 KiB)) by ${1024 - size} bytes; ` +
        'set min-size: 0 if a backup this small is expected'
    )
    expect(result.error?.hint).toMatch(/set min-size: 0/)
    expect(ledger.everCreated.map(([kind]) => kind)).toEqual(['folder'])
  })

  test.each(EMPTY_FORMATS)('%s: a backup one byte under min-size fails Validate; at min-size it passes', async (format) => {
    const file = backups[`empty.${format}`]
    const size = await sizeOf(file)
    const under = await verifyExisting(file, { 'min-size': String(size + 1) })
    failedIn('Minimum size', under.result)
    expect(under.result.error?.message).toContain(`under min-size (${(size + 1).toLocaleString('en-US')} bytes`)
    const at = await verifyExisting(file, { 'min-size': String(size) })
    expect(at.result.error).toBeUndefined()
    expect(at.result.checks).toContainEqual(expect.objectContaining({ name: 'Minimum size', passed: true }))
  })

  test('with alert-mode: warn it warns when the run ends instead, as for a backup the run makes', async () => {
    const { result } = await verifyExisting(backups['empty.plain'], { 'alert-mode': 'warn' })
    expect(result.status).toBe('passed')
    expect(result.alerts).toEqual([expect.objectContaining({ input: 'min-size', failed: false })])
  })

  test('a damaged backup that is also small is failed for its damage', async () => {
    const copy = await copyOf('empty.plain')
    await truncate(copy, 300)
    const { result } = await verifyExisting(copy)
    failedIn('Completion trailer', result)
    expect(result.error?.problem).toBe('backup-invalid')
  })
})

describe("a directory backup with files of its own beside pg_dump's", () => {
  async function dumpWithReceipt() {
    const inputs: Record<string, string> = {
      'database-url': server.url('shop'),
      format: 'directory',
      'keep-backup': 'true',
      verify: 'data'
    }
    const settings = settingsFrom(inputs, work)
    return verifyBackup({ settings, reporter: recordingReporter() })
  }

  test('a notes file and a SHA256SUMS are ignored and named: its checksum and its receipt are still its own', async () => {
    const made = await dumpWithReceipt()
    expect(made.status).toBe('passed')
    const folder = made.backup!.path
    await writeFile(path.join(folder, 'SHA256SUMS'), 'not checked by anyone\n')
    await writeFile(path.join(folder, 'notes.txt'), 'nightly, before the migration\n')
    await writeFile(path.join(folder, 'toc.dat.orig'), 'an older table of contents\n')
    const { result, reporter } = await verifyExisting(folder, { receipt: made.receiptPath!, 'expected-checksum': made.backup!.sha256 })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.backup).toMatchObject({ sha256: made.backup!.sha256, sizeBytes: made.backup!.sizeBytes, files: made.backup!.files })
    expect(result.tables).toMatchObject({ reference: 'receipt', rowMismatches: [], contentMismatches: [] })
    const dataFiles = result.checks?.find((check) => check.name === 'Data files')
    expect(dataFiles).toMatchObject({ passed: true })
    expect(dataFiles?.detail).toMatch(
      /^\d+ data files, all present; ignored, not part of the backup \(pg_restore never reads them\): SHA256SUMS, notes\.txt, toc\.dat\.orig$/
    )
    expect(reporter.lines.join('\n')).toContain('SHA256SUMS, notes.txt, toc.dat.orig')
  })

  test.each(['shop.dir', 'shop-uncompressed.dir'])('%s: a data file the table of contents names, missing, still fails', async (name) => {
    const copy = await copyOf(name)
    await writeFile(path.join(copy, 'notes.txt'), 'notes\n')
    const data = (await readdir(copy)).filter((file) => /^\d+\.dat/.test(file)).sort()
    await unlink(path.join(copy, data[0]))
    const { result } = await verifyExisting(copy)
    failedIn('Data files', result)
    expect(result.error?.message).toContain(`Data files: missing data file(s): ${data[0].replace(/\.gz$/, '')}; ignored`)
  })

  test.each([
    ['shop.dir', 'Every block reads'],
    ['shop-uncompressed.dir', 'Data files']
  ])('%s: a data file cut short, at the end of a row, still fails Validate (%s)', async (name, check) => {
    const copy = await copyOf(name)
    await writeFile(path.join(copy, 'SHA256SUMS'), 'sums\n')
    const data = (await readdir(copy)).filter((file) => /^\d+\.dat/.test(file))
    const sizes = await Promise.all(data.map(async (file) => (await stat(path.join(copy, file))).size))
    const largest = path.join(copy, data[sizes.indexOf(Math.max(...sizes))])
    // Uncompressed, the cut falls after a whole row: the file still reads as rows.
    const bytes = await readFile(largest)
    await truncate(largest, name === 'shop.dir' ? bytes.length >> 1 : bytes.lastIndexOf(0x0a, bytes.length >> 1) + 1)
    const { result } = await verifyExisting(copy)
    failedIn(check, result)
    if (check === 'Data files')
      expect(result.error?.message).toContain(`Data files: data file(s) cut short: ${path.basename(largest)} end without`)
  })

  test.each([
    ['shop.dir', /^\d+\.dat\.gz$/, '99999.dat.gz'],
    ['shop-uncompressed.dir', /^\d+\.dat$/, '99999.dat'],
    ['pictures.dir', /^blob_\d+\.dat\.gz$/, 'blob_99999.dat.gz']
  ])("%s: a data file no entry names fails, as another dump's", async (name, pattern, extra) => {
    const copy = await copyOf(name)
    const data = (await readdir(copy)).filter((file) => pattern.test(file))
    await cp(path.join(copy, data[0]), path.join(copy, extra))
    const { result } = await verifyExisting(copy)
    failedIn('Data files', result)
    expect(result.error?.message).toContain(
      `Data files: data file(s) no entry of toc.dat names: ${extra}; pg_dump writes into an empty folder`
    )
  })

  test("large objects: their files, named by blobs.toc, are the backup's", async () => {
    const { result } = await verifyExisting(backups['pictures.dir'])
    expect(result.error).toBeUndefined()
    expect(result.checks).toContainEqual(expect.objectContaining({ name: 'Data files', passed: true }))
  })
})

describe('a pg_dumpall file', () => {
  test.each(['cluster.sql', 'cluster.sql.gz'])('%s is named as a cluster dump, which is not supported, with what to do', async (name) => {
    const { result, ledger } = await verifyExisting(backups[name])
    failedIn('One database', result)
    expect(result.error?.problem).toBe('backup-invalid')
    expect(result.error?.message).toMatch(/^Backup \(plain format\) is a pg_dumpall \(cluster\) dump, which is not supported/)
    expect(result.error?.hint).toMatch(/dump it with pg_dump/)
    expect(result.error?.hint).not.toMatch(/interrupted/)
    expect(ledger.everCreated.map(([kind]) => kind)).toEqual(['folder'])
  })
})
