// backup-file: a backup made elsewhere (last night's, downloaded by an earlier step) is recognised
// from its content, validated and restored into a server of the user's choosing.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readFile, truncate, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { ROOT, runBundle } from '../support/runner.js'
import { loadSettings } from '../../src/inputs/inputs.js'
import { readReferences } from '../../src/engine/references.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { recordingReporter } from '../support/reporter.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'
import { settingsFrom, verifyInputs } from '../support/verify.js'

const { server, work } = useServer('existing')
const backups: Record<string, string> = {}

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
  const tools = (await findClientTools())[0]
  const env = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: 'postgres',
    PGPASSWORD: server.password,
    PGDATABASE: 'shop'
  }
  const dump = (name: string, args: string[]) => {
    backups[name] = path.join(work, name)
    execFileSync(tools.pgDump, [...args, `--file=${backups[name]}`], { env })
  }
  dump('nightly.sql', ['--format=plain'])
  dump('nightly.dump', ['--format=custom'])
  dump('nightly.tar', ['--format=tar'])
  dump('nightly.dir', ['--format=directory', '--jobs=2'])
  backups['nightly.sql.gz'] = path.join(work, 'nightly.sql.gz')
  await writeFile(backups['nightly.sql.gz'], gzipSync(await readFile(backups['nightly.sql'])))
})

function verifyExisting(file: string, extra: Record<string, string> = {}) {
  return verifyInputs({ 'backup-file': file, 'restore-database-url': server.url('postgres'), ...extra }, work)
}

describe('existing backups', () => {
  test('a COPY that must run in order and fails (psql then reads its rows as statements) fails the run; it does not hang', async () => {
    const text = await readFile(backups['nightly.sql'], 'utf8')
    const copy = /^COPY public\.customers .*FROM stdin;$/m.exec(text)?.[0] as string
    const broken = path.join(work, 'broken-in-order.sql')
    // Inside an explicit transaction the COPY stays in the schema session, which goes on after errors.
    await writeFile(
      broken,
      text
        .replace(copy, `BEGIN;\n${copy.replace('public.customers', 'public.no_such_table')}`)
        .replace(/^(COPY public\.no_such_table[\s\S]*?\n\\\.\n)/m, '$1COMMIT;\n')
    )
    const { result, ledger } = await verifyExisting(broken, { jobs: '2' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('restore-failed')
    expect(result.error?.message).toMatch(/relation "public\.no_such_table" does not exist/)
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test.each([
    ['nightly.sql', 'plain'],
    ['nightly.sql.gz', 'plain'],
    ['nightly.dump', 'custom'],
    ['nightly.tar', 'tar'],
    ['nightly.dir', 'directory']
  ])('%s is recognised as %s from its content, validated and restored', async (name, format) => {
    // A misleading name: the format comes from the bytes.
    const renamed = path.join(work, `renamed-${name.replace(/\./g, '-')}.bin`)
    await cp(backups[name], renamed, { recursive: true })
    const { result, ledger } = await verifyExisting(renamed)
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'passed', 'passed'])
    expect(result.phases[0].detail).toBe(`skipped: verifying the existing backup ${renamed}`)
    expect(result.backup).toMatchObject({ format, path: renamed, kept: false, existing: true })
    // Without a receipt, at the default level (data), the backup's own rows are what the restore is held to.
    expect(result.tables).toMatchObject({
      reference: 'backup',
      level: 'data',
      rowMismatches: [],
      contentMismatches: [],
      sequenceMismatches: []
    })
    expect(result.tables?.restored).toHaveLength(4)
    expect(result.tables?.rows.reduce((sum, entry) => sum + (entry.restored ?? 0), 0)).toBe(10365)
    // The user's backup stays where it was; the temporary database is gone.
    await expect(readFile(name === 'nightly.dir' ? path.join(renamed, 'toc.dat') : renamed)).resolves.toBeTruthy()
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test.each([
    ['a truncated plain dump', 'nightly.sql', (file: string) => truncate(file, 20_000), 'Completion trailer'],
    ['a truncated custom archive', 'nightly.dump', (file: string) => truncate(file, 20_000), 'Every block reads'],
    [
      'a flipped byte in a custom header',
      'nightly.dump',
      async (file: string) => {
        const bytes = await readFile(file)
        bytes[9] ^= 0xff
        await writeFile(file, bytes)
      },
      'Format signature'
    ],
    [
      'a corrupted gzip stream',
      'nightly.sql.gz',
      async (file: string) => {
        const bytes = await readFile(file)
        for (let i = 200; i < 260; i++) bytes[i] ^= 0x5a
        await writeFile(file, bytes)
      },
      'Compressed stream'
    ],
    ['an empty file', 'nightly.sql', (file: string) => writeFile(file, ''), 'Format signature'],
    [
      'a text file that is not a dump',
      'nightly.sql',
      (file: string) => writeFile(file, 'just some notes\n'.repeat(200)),
      'Format signature'
    ],
    ['a directory without toc.dat', 'nightly.dir', (folder: string) => unlink(path.join(folder, 'toc.dat')), 'Archive header (toc.dat)']
  ])('%s fails Validate with the reason, and nothing is restored', async (_what, name, damage, check) => {
    const copy = path.join(await mkdtemp(path.join(work, 'damaged-')), name)
    await cp(backups[name], copy, { recursive: true })
    await damage(copy)
    const { result, ledger } = await verifyExisting(copy)
    expect(result.status).toBe('failed')
    expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
    expect(result.error?.message).toContain(`${check}: `)
    expect(ledger.everCreated.map(([kind]) => kind)).toEqual(['folder'])
  })
})

describe('expected-checksum', () => {
  test('a matching SHA-256, given as hex or as a sha256sum file, passes; a different one fails before any restore', async () => {
    const file = backups['nightly.dump']
    const sha256 = createHash('sha256')
      .update(await readFile(file))
      .digest('hex')
    expect((await verifyExisting(file, { 'expected-checksum': sha256 })).result.status).toBe('passed')
    const sums = path.join(work, 'SHA256SUMS')
    await writeFile(sums, `${'0'.repeat(64)}  other.dump\n${sha256}  nightly.dump\n`)
    expect((await verifyExisting(file, { 'expected-checksum': sums })).result.status).toBe('passed')
    const { result, ledger } = await verifyExisting(file, { 'expected-checksum': 'ab'.repeat(32) })
    expect(result.status).toBe('failed')
    expect(result.error?.message).toContain(`Expected checksum: SHA-256 ${sha256}, but ${'ab'.repeat(32)} was expected`)
    expect(ledger.everCreated.map(([kind]) => kind)).toEqual(['folder'])
  })

  test('bad values are refused before any connection', async () => {
    // Parsed, then the files they name read, as the engine does before it connects.
    const load = async (inputs: Record<string, string>) =>
      readReferences(loadSettings({ get: (name) => inputs[name] ?? '', environment: {}, workingDirectory: work }))
    await expect(load({ 'backup-file': 'missing.dump', 'restore-database-url': 'postgresql://u@h/d' })).rejects.toThrow(
      'Input "backup-file" has an invalid value "missing.dump"'
    )
    // With no server named, a backup restores on a throwaway server; restore-server: source then needs one.
    await expect(load({ 'backup-file': backups['nightly.sql'], 'restore-server': 'source' })).rejects.toThrow(
      'Input "restore-database-url" has an invalid value ""'
    )
    await expect(
      load({ 'backup-file': backups['nightly.sql'], 'restore-database-url': 'postgresql://u@h/d', 'expected-checksum': 'xyz' })
    ).rejects.toThrow('Input "expected-checksum" has an invalid value "xyz"')
  })
})

describe('the verification receipt', () => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'receipt.schema.json'), 'utf8'))
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)

  async function dumpWithReceipt() {
    const inputs: Record<string, string> = { 'database-url': server.url('shop'), format: 'custom', 'keep-backup': 'true', verify: 'data' }
    const settings = settingsFrom(inputs, work)
    return verifyBackup({ settings, reporter: recordingReporter() })
  }

  test('every run writes one, and it validates against receipt.schema.json', async () => {
    const made = await dumpWithReceipt()
    const receipt = JSON.parse(await readFile(made.receiptPath!, 'utf8'))
    expect(validate(receipt)).toBe(true)
    expect(receipt).toMatchObject({
      schemaVersion: 4,
      verdict: 'passed',
      backup: { format: 'custom', sha256: made.backup?.sha256 },
      comparison: { reference: 'snapshot' }
    })
    expect(receipt.inventory.content).toEqual(expect.arrayContaining([expect.objectContaining({ table: 'sales.orders', rows: 3000 })]))
    const broken = await verifyExisting(backups['nightly.sql'], { 'expected-checksum': 'cd'.repeat(32) })
    const brokenReceipt = JSON.parse(await readFile(broken.result.receiptPath!, 'utf8'))
    expect(validate(brokenReceipt)).toBe(true)
    expect(brokenReceipt).toMatchObject({ verdict: 'failed', error: { problem: 'backup-invalid' } })
  })

  test('round trip: a kept backup verified later with its receipt passes; changed expectations or another backup fail, naming the tables', async () => {
    const made = await dumpWithReceipt()
    expect(made.status).toBe('passed')
    const receiptPath = made.receiptPath!
    const again = await verifyExisting(made.backup!.path, { receipt: receiptPath, verify: 'data' })
    expect(again.result.error).toBeUndefined()
    expect(again.result.tables).toMatchObject({ reference: 'receipt', rowMismatches: [], contentMismatches: [] })

    // Expectations that say more rows were dumped than the backup holds.
    const receipt = JSON.parse(await readFile(receiptPath, 'utf8'))
    const orders = receipt.inventory.content.find((entry: { table: string }) => entry.table === 'sales.orders')
    orders.rows += 5
    const altered = path.join(work, 'altered-receipt.json')
    await writeFile(altered, JSON.stringify(receipt))
    const mismatch = await verifyExisting(made.backup!.path, { receipt: altered })
    expect(mismatch.result.status).toBe('failed')
    expect(mismatch.result.error?.message).toBe('Row counts differ in 1 table(s): sales.orders 3005 in the receipt, 3000 restored')

    // Another database's backup against this receipt.
    await server.query('CREATE DATABASE other')
    await server.query('CREATE TABLE notes (id int); INSERT INTO notes VALUES (1)', 'other')
    const otherFile = path.join(work, 'other.dump')
    const tools = (await findClientTools())[0]
    execFileSync(tools.pgDump, ['--format=custom', `--file=${otherFile}`], {
      env: {
        ...process.env,
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: 'postgres',
        PGPASSWORD: server.password,
        PGDATABASE: 'other'
      }
    })
    // It is not the backup the receipt describes: that is said, and nothing is compared as if it were.
    const wrong = await verifyExisting(otherFile, { receipt: receiptPath })
    expect(wrong.result.status).toBe('failed')
    expect(wrong.result.error?.problem).toBe('receipt-mismatch')
    expect(wrong.result.error?.message).toMatch(
      /^The receipt does not describe this backup: the receipt describes another backup \(SHA-256 [0-9a-f]{12}…, verified .*\), not this one/
    )
    expect(wrong.result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
  })

  test('max-shrink: a backup much smaller than the one the receipt describes fails; within the limit it passes', async () => {
    const made = await dumpWithReceipt()
    const receipt = JSON.parse(await readFile(made.receiptPath!, 'utf8'))
    receipt.backup.sizeBytes *= 2
    const bigger = path.join(work, 'bigger-yesterday.json')
    await writeFile(bigger, JSON.stringify(receipt))
    const strictShrink = await verifyExisting(made.backup!.path, { receipt: bigger, 'max-shrink': '10' })
    expect(strictShrink.result.status).toBe('failed')
    expect(strictShrink.result.error?.message).toBe(
      `More than max-shrink (10%) since the receipt: the backup shrank from ${made.backup!.sizeBytes * 2} to ${made.backup!.sizeBytes} bytes (50.0%)`
    )
    expect((await verifyExisting(made.backup!.path, { receipt: bigger, 'max-shrink': '60%' })).result.status).toBe('passed')
    expect(() =>
      loadSettings({
        get: (name) => (({ 'database-url': 'postgresql://u@h/d', 'max-shrink': '10' }) as Record<string, string>)[name] ?? '',
        environment: {},
        workingDirectory: work
      })
    ).toThrow('Input "max-shrink" has an invalid value "10": expected a percentage used together with receipt')
  })

  test('from a terminal: a run names its kept backup and its receipt; a later run verifies that backup with them', async () => {
    const temp = await mkdtemp(path.join(work, 'terminal-'))
    const here = await mkdtemp(path.join(work, 'working-folder-'))
    const made = await runBundle('dist/cli/index.js', {
      args: ['--keep-backup', '--format', 'custom'],
      cwd: here,
      env: { DATABASE_URL: server.url('shop'), RUNNER_TEMP: temp }
    })
    expect(made.code).toBe(0)
    const kept = made.stdout.match(/^ {2}kept at {3}(.+)$/m)?.[1]
    const receipt = made.stdout.match(/^ {2}receipt {3}(.+)$/m)?.[1]
    expect(kept && path.dirname(kept).startsWith(temp)).toBe(true)
    // The receipt goes to the working folder (--receipt-dir chooses another), not the temporary one.
    expect(receipt && path.dirname(receipt)).toBe(here)
    expect(JSON.parse(await readFile(receipt!, 'utf8')).verdict).toBe('passed')
    const later = await runBundle('dist/cli/index.js', {
      args: ['--backup-file', kept!, '--receipt', receipt!],
      env: { DATABASE_URL: server.url('postgres'), RUNNER_TEMP: temp }
    })
    expect(later.stderr).toBe('')
    expect(later.code).toBe(0)
    expect(later.stdout).toContain(`PASSED: the backup ${kept} restores (`)
    expect(later.stdout).toMatch(/^ {2}receipt {3}\S+$/m)
  })

  test('a file that is not a receipt is refused, naming the input', async () => {
    await expect(
      readReferences(
        loadSettings({
          get: (name) =>
            (({ 'database-url': 'postgresql://u@h/d', receipt: backups['nightly.sql'] }) as Record<string, string>)[name] ?? '',
          environment: {},
          workingDirectory: work
        })
      )
    ).rejects.toThrow('Input "receipt" has an invalid value')
  })
})
