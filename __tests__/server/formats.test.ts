// Every format, with and without compression, through all three phases against a real server; and
// crafted damage to each format, caught by validation before any restore is tried.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cp, mkdtemp, readdir, readFile, truncate, unlink, writeFile } from 'node:fs/promises'
import { ROOT } from '../support/runner.js'
import path from 'node:path'
import type { BackupFormat } from '../../src/backup/formats.js'
import { manifestText } from '../../src/backup/archive/manifest.js'
import { loadSettings } from '../../src/inputs/inputs.js'
import { settingsFrom } from '../support/verify.js'
import { VerificationError } from '../../src/run/errors.js'
import { describeBackupOnDisk } from '../../src/backup/on-disk.js'
import { requirePassed, validateBackup } from '../../src/validate/validate.js'
import type { VerificationResult } from '../../src/report/result.js'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter, testRun } from '../support/reporter.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('formats')
let local: ClientTools
let pgbin: string
let argvLog: string

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
  local = (await findClientTools())[0]
  // Wrappers in PGBIN record each tool's arguments, then run the real tool.
  pgbin = path.join(work, 'pgbin')
  argvLog = path.join(work, 'argv.log')
  await cp(local.directory, pgbin, { recursive: true, filter: (source) => source === local.directory })
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
    await writeFile(
      path.join(pgbin, tool),
      `#!/bin/sh\nprintf '%s ' "${tool}" "$@" >> "${argvLog}"; echo >> "${argvLog}"\nexec "${local.directory}/${tool}" "$@"\n`,
      { mode: 0o755 }
    )
  }
})

async function verify(inputs: Record<string, string>): Promise<VerificationResult> {
  await writeFile(argvLog, '')
  const all = { 'database-url': server.url('shop'), 'keep-backup': 'true', ...inputs }
  const settings = settingsFrom(all, work)
  return verifyBackup({
    settings,
    reporter: recordingReporter(),
    ledger: new MemoryLedger(),
    env: { PATH: process.env.PATH, PGBIN: pgbin }
  })
}

async function checksumOf(result: VerificationResult): Promise<string> {
  const backup = result.backup!
  if (backup.format !== 'directory')
    return createHash('sha256')
      .update(await readFile(backup.path))
      .digest('hex')
  const names = (await readdir(backup.path)).sort()
  const entries = await Promise.all(
    names.map(async (name) => ({
      name,
      sizeBytes: 0,
      sha256: createHash('sha256')
        .update(await readFile(path.join(backup.path, name)))
        .digest('hex')
    }))
  )
  return createHash('sha256').update(manifestText(entries)).digest('hex')
}

describe('every format, compressed or not, passes all three phases', () => {
  test.each([
    ['plain', '', '.sql'],
    ['plain', '6', '.sql.gz'],
    ['custom', '0', '.dump'],
    ['custom', '9', '.dump'],
    ['directory', '0', '.dir'],
    ['directory', 'gzip:5', '.dir'],
    ['tar', '', '.tar']
  ])('%s, compression %j', async (format, compression, extension) => {
    const result = await verify({ format, compression, jobs: '2' })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    // pg_restore -j, or the psql sessions of an uncompressed plain dump; a gzip dump and tar restore in one.
    const parallel = format === 'custom' || format === 'directory' || (format === 'plain' && compression === '')
    expect(result.backup).toMatchObject({ format, jobs: parallel ? 2 : 1 })
    expect(result.backup!.path.endsWith(extension)).toBe(true)
    expect(result.tables?.restored).toHaveLength(4)
    expect(result.backup!.sha256).toBe(await checksumOf(result))
    const argv = await readFile(argvLog, 'utf8')
    expect(argv).toMatch(new RegExp(`^pg_dump --no-password --format=${format}`, 'm'))
    // jobs: pg_dump -j for directory, pg_restore -j for custom and directory; never for plain or tar.
    expect(/^pg_dump .*--jobs=2/m.test(argv)).toBe(format === 'directory')
    expect(/^pg_restore .*--jobs=2 /m.test(argv)).toBe(format === 'custom' || format === 'directory')
    if (format !== 'plain') expect(argv).toMatch(/^pg_restore --verbose --file=- /m)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a damaged archive fails Validate, and no restore is tried', async () => {
    const all: Record<string, string> = { 'database-url': server.url('shop'), format: 'custom' }
    const settings = settingsFrom(all, work)
    const ledger = new MemoryLedger()
    const hooks = { afterCreate: async (file: string) => truncate(file, Math.floor((await readFile(file)).length / 2)) }
    const result = await verifyBackup({ settings, reporter: recordingReporter(), ledger, hooks })
    expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'failed', 'not run'])
    expect(result.error?.message).toMatch(/^Backup \(custom format\) failed validation: /)
    expect(ledger.everCreated.map(([kind]) => kind)).toEqual(['folder'])
  })

  test('long phases say how far they are: a percentage of the whole where it is known, else the bytes so far', async () => {
    const lines: string[] = []
    for (const format of ['plain', 'directory']) {
      const all: Record<string, string> = { 'database-url': server.url('shop'), format }
      const settings = settingsFrom(all, work)
      const reporter = recordingReporter()
      const result = await verifyBackup({ settings, reporter, heartbeatMs: 2 })
      expect(result.status).toBe('passed')
      lines.push(...reporter.lines)
    }
    const percent = /^(pg_dump|psql restoring): (\d+)% \(.+ of .+\)(, about \d+ s left)?, \d+ s elapsed$/
    // An uncompressed dump against the database's table data; the plain restore against the file's bytes.
    const dumped = lines.filter((line) => percent.exec(line)?.[1] === 'pg_dump').map((line) => Number(percent.exec(line)![2]))
    expect(dumped.length).toBeGreaterThan(0)
    expect(dumped.every((value, index) => value <= 99 && (index === 0 || value >= dumped[index - 1] || value === 0))).toBe(true)
    expect(
      lines.some((line) => /^psql restoring: (\d+% \(.+ of .+\)(, about \d+ s left)?|still running, .+ so far), \d+ s elapsed$/.test(line))
    ).toBe(true)
    // The rows read back, against the rows the dump holds of the tables read.
    expect(
      lines.some((line) => /^reading the rows back: \d+% \([\d,]+ rows of [\d,]+ rows\)(, about \d+ s left)?, \d+ s elapsed$/.test(line))
    ).toBe(true)
    // pg_restore says nothing of how far it is: only that it is alive.
    expect(lines.some((line) => /^pg_restore restoring: still running, \d+ s elapsed$/.test(line))).toBe(true)
  })

  test('bad values are refused before any connection, naming the input', () => {
    const load = (inputs: Record<string, string>) => () =>
      loadSettings({
        get: (name) => (({ 'database-url': 'postgresql://u@h/d', ...inputs }) as Record<string, string>)[name] ?? '',
        environment: {},
        workingDirectory: work
      })
    expect(load({ format: 'zip' })).toThrow('Input "format" has an invalid value "zip": expected plain, custom, directory, tar.')
    expect(load({ jobs: '0' })).toThrow('Input "jobs" has an invalid value "0": expected a whole number from 1 to 64')
    expect(load({ jobs: 'many' })).toThrow('Input "jobs" has an invalid value "many"')
    expect(load({ compression: 'brotli' })).toThrow('Input "compression" has an invalid value "brotli"')
    expect(load({ format: 'tar', compression: '6' })).toThrow('pg_dump cannot compress the tar format')
    expect(load({ format: 'plain', compression: 'zstd' })).toThrow('gzip or a level 0-9 for a plain backup')
  })

  test('a compression the client does not know is a clear error', async () => {
    const result = await verify({ format: 'custom', compression: 'zstd:3' })
    if (local.version.major >= 16) {
      expect(result.status).toBe('passed')
    } else {
      expect(result.status).toBe('failed')
      expect(result.error?.message).toBe(
        `Input "compression" has an invalid value "zstd:3": expected gzip or a level 0-9: pg_dump ${local.version.major} knows no zstd (it needs 16 or newer).`
      )
    }
  })
})

describe('a database rich in what dumps get wrong', () => {
  test.each([
    ['plain', 'data', {}],
    ['plain', 'data', { jobs: '1' }],
    ['plain', 'data', { jobs: '4', pipeline: 'false' }],
    ['plain', 'schema', {}],
    ['custom', 'data', {}],
    ['directory', 'rows', {}],
    ['tar', 'data', {}]
  ])(
    '%s format, verify %s, %j: passes, every object kind and table accounted for',
    async (format, level, extra: Record<string, string>) => {
      if (!(await server.query("SELECT 1 FROM pg_database WHERE datname = 'rich'")).length) {
        await server.query('CREATE DATABASE rich')
        await server.query(readFileSync(path.join(ROOT, '__tests__', 'fixtures', 'rich-database.sql'), 'utf8'), 'rich')
      }
      const all: Record<string, string> = { 'database-url': server.url('rich'), format, verify: level, 'min-size': '0', ...extra }
      const settings = settingsFrom(all, work)
      const reporter = recordingReporter()
      const result = await verifyBackup({ settings, reporter })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      // The summary's "Parallel jobs": what restored side by side.
      if (extra.jobs) expect(result.backup?.jobs).toBe(Number(extra.jobs))
      if (format === 'plain' && extra.jobs === '4') {
        // The sessions shared the rows and built the indexes and keys beside each other.
        expect(reporter.lines.find((line) => line.startsWith('Restored with'))).toMatch(
          /^Restored with 4 psql sessions beside the one for the schema: the rows of \d+ table\(s\) in \d+ COPY statement\(s\), [1-9]\d* index and key definition\(s\)/
        )
      }
      const objects = Object.fromEntries((result.tables?.objects ?? []).map((entry) => [entry.kind, entry.source]))
      expect(objects).toMatchObject({ 'materialized views': 1, views: 1, policies: 1, 'large objects': 1, triggers: 1 })
      expect(objects.types).toBeGreaterThanOrEqual(3)
      expect(result.tables?.source).toContain('"Odd ""Schema"" ünï"."Table With Spaces"')
      if (level !== 'schema') {
        const rows = Object.fromEntries((result.tables?.rows ?? []).map((entry) => [entry.table, entry.source]))
        expect(rows).toMatchObject({
          'inventory.items': 501,
          'inventory.empty_table': 0,
          'inventory.measurements': 0,
          'inventory.measurements_2025': 214,
          'inventory.animals': 2,
          'inventory.dogs': 2
        })
      }
      expect(await temporaryDatabases(server)).toEqual([])
    }
  )
})

describe('the streamed restore of a plain backup', () => {
  const run = async (inputs: Record<string, string>, hooks?: Parameters<typeof verifyBackup>[0]['hooks']) => {
    const all: Record<string, string> = { 'database-url': server.url('shop'), ...inputs }
    const settings = settingsFrom(all, work)
    const reporter = recordingReporter()
    const ledger = new MemoryLedger()
    const result = await verifyBackup({ settings, reporter, ledger, hooks })
    return { result, reporter, ledger }
  }

  test('by default psql restores while pg_dump writes; the file is read back and must match', async () => {
    const { result, reporter } = await run({})
    expect(result.error).toBeUndefined()
    expect(result.backup?.streamed).toBe(true)
    expect(reporter.lines.some((line) => /^Streaming: psql restores into backup_verify_\w+ while pg_dump writes$/.test(line))).toBe(true)
    expect(result.checks?.find((check) => check.name === 'File on disk')).toMatchObject({ passed: true })
    expect(result.tables?.restored).toHaveLength(4)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('pipeline: false runs the phases one after the other', async () => {
    const { result, reporter } = await run({ pipeline: 'false' })
    expect(result.status).toBe('passed')
    expect(result.backup?.streamed).toBe(false)
    expect(reporter.lines.some((line) => line.startsWith('Streaming:'))).toBe(false)
    expect(result.checks?.find((check) => check.name === 'Size on disk')).toMatchObject({ passed: true })
  })

  test('a file that differs from what was streamed fails Validate; the restore is stopped and its database dropped', async () => {
    const hooks = {
      afterCreate: async (file: string) => {
        const text = await readFile(file, 'utf8')
        await writeFile(file, text.replace('Customer 1\t', 'Customer X\t'))
      }
    }
    const { result } = await run({}, hooks)
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(
      /^Backup \(plain format\) failed validation: File on disk: the file on disk has SHA-256 [0-9a-f]{64}, but pg_dump wrote [0-9a-f]{64}/
    )
    expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'failed', 'not run'])
    expect(result.restoreDatabase?.dropped).toBe(true)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('a restore that cannot start does not hold pg_dump back: the dump completes, the failure is named', async () => {
    await server.query("CREATE ROLE nocreate LOGIN PASSWORD 'nocreate-pw' NOCREATEDB")
    await server.query('CREATE DATABASE bulky OWNER nocreate')
    await server.query(
      "GRANT ALL ON SCHEMA public TO nocreate; SET ROLE nocreate; CREATE TABLE filler AS SELECT g AS id, repeat('x', 200) AS padding FROM generate_series(1, 20000) g",
      'bulky'
    )
    const url = `postgresql://nocreate:nocreate-pw@127.0.0.1:${server.port}/bulky`
    const { result } = await run({ 'database-url': url })
    expect(result.error?.problem).toBe('create-database-denied')
    expect(result.backup?.sizeBytes).toBeGreaterThan(4_000_000)
    expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'failed'])
  })

  test('a table the user may not read fails the streamed run cleanly: the restore is stopped and its database dropped', async () => {
    await server.query("CREATE ROLE streamer LOGIN PASSWORD 'streamer-pw'")
    await server.query('CREATE DATABASE streamed OWNER streamer')
    await server.query(
      'CREATE TABLE secret (id int); INSERT INTO secret SELECT generate_series(1, 100); REVOKE ALL ON secret FROM PUBLIC',
      'streamed'
    )
    const url = `postgresql://streamer:streamer-pw@127.0.0.1:${server.port}/streamed`
    await server.query('ALTER ROLE streamer CREATEDB')
    const { result, ledger } = await run({ 'database-url': url, 'min-size': '0' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('permission-denied')
    expect(result.error?.message).toBe('Cannot read the source: permission denied for table secret.')
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })
})

describe('damage is caught by validation, naming the format and what is wrong', () => {
  const kept = new Map<BackupFormat | 'plain-gz', string>()

  beforeAll(async () => {
    for (const [key, format, compression] of [
      ['plain', 'plain', ''],
      ['plain-gz', 'plain', '6'],
      ['custom', 'custom', '6'],
      ['directory', 'directory', '6'],
      ['tar', 'tar', '']
    ] as const) {
      const result = await verify({ format, compression })
      kept.set(key, result.backup!.path)
    }
  })

  const damaged = async (key: BackupFormat | 'plain-gz', damage: (copy: string) => Promise<void>) => {
    const original = kept.get(key)!
    const copy = path.join(await mkdtemp(path.join(work, 'damaged-')), path.basename(original))
    await cp(original, copy, { recursive: true })
    await damage(copy)
    const format = key === 'plain-gz' ? 'plain' : key
    const backup = await describeBackupOnDisk(copy, format, key === 'plain-gz' ? { method: 'gzip', level: 6 } : undefined)
    const checks = await validateBackup(testRun(), backup, { tools: local, env: { PATH: process.env.PATH } })
    let message = ''
    try {
      requirePassed(checks, format)
    } catch (error) {
      expect(error).toBeInstanceOf(VerificationError)
      message = (error as Error).message
    }
    return { checks, message, failed: checks.filter((check) => !check.passed).map((check) => check.name) }
  }

  const cutAt = (fraction: number) => async (file: string) => {
    const size = (await readFile(file)).length
    await truncate(file, Math.max(1, Math.floor(size * fraction)))
  }
  const flipByte = (at: (size: number) => number) => async (file: string) => {
    const bytes = await readFile(file)
    const index = at(bytes.length)
    bytes[index] ^= 0xff
    await writeFile(file, bytes)
  }

  test.each([0.1, 0.5, 0.9, 0.999])('plain, truncated at %f', async (fraction) => {
    const { message, failed } = await damaged('plain', cutAt(fraction))
    expect(failed).toContain('Completion trailer')
    expect(message).toMatch(/^Backup \(plain format\) failed validation: .*no completion trailer: the dump is truncated/)
  })

  test('plain, a flipped byte in the header', async () => {
    const { failed } = await damaged(
      'plain',
      flipByte(() => 8)
    )
    expect(failed).toContain('Format signature')
  })

  test.each([0.2, 0.6, 0.95])('gzip-compressed plain, truncated at %f', async (fraction) => {
    const { failed } = await damaged('plain-gz', cutAt(fraction))
    expect(failed).toContain('Compressed stream')
  })

  test('gzip-compressed plain, a corrupt compressed block', async () => {
    const { failed, message } = await damaged(
      'plain-gz',
      flipByte((size) => Math.floor(size / 2))
    )
    expect(failed.length).toBeGreaterThan(0)
    expect(message).toMatch(/^Backup \(plain format\) failed validation: /)
  })

  test.each([0.05, 0.3, 0.6, 0.9, 0.999])('custom, truncated at %f', async (fraction) => {
    const { failed, message } = await damaged('custom', cutAt(fraction))
    expect(failed.length).toBeGreaterThan(0)
    expect(message).toMatch(/^Backup \(custom format\) failed validation: /)
  })

  test('custom, a flipped byte in the header', async () => {
    const signature = await damaged(
      'custom',
      flipByte(() => 1)
    )
    expect(signature.failed).toEqual(['Format signature'])
    expect(signature.checks[0].detail).toBe('no "PGDMP" signature at the start: not a pg_dump archive')
    const sizes = await damaged(
      'custom',
      flipByte(() => 8)
    )
    expect(sizes.checks[0].detail).toMatch(/^implausible integer\/offset sizes/)
  })

  test('custom, a corrupt compressed block', async () => {
    const { failed, checks } = await damaged(
      'custom',
      flipByte((size) => Math.floor(size * 0.6))
    )
    expect(failed).toContain('Every block reads')
    expect(checks.find((check) => check.name === 'Every block reads')?.detail).toMatch(/^pg_restore cannot read the whole custom archive: /)
  })

  test('directory, a missing data file', async () => {
    const { failed, checks } = await damaged('directory', async (folder) => {
      const data = (await readdir(folder)).filter((name) => /^\d+\.dat/.test(name)).sort()
      await unlink(path.join(folder, data[data.length - 1]))
    })
    expect(failed).toContain('Data files')
    expect(checks.find((check) => check.name === 'Data files')?.detail).toMatch(/^missing data file\(s\): \d+\.dat$/)
  })

  test('directory, a truncated data file and a damaged toc.dat', async () => {
    const truncated = await damaged('directory', async (folder) => {
      const data = (await readdir(folder)).filter((name) => /^\d+\.dat/.test(name))
      const biggest = (
        await Promise.all(data.map(async (name) => ({ name, size: (await readFile(path.join(folder, name))).length })))
      ).sort((a, b) => b.size - a.size)[0]
      await truncate(path.join(folder, biggest.name), Math.floor(biggest.size / 2))
    })
    expect(truncated.failed).toContain('Every block reads')
    const toc = await damaged('directory', async (folder) => flipByte(() => 2)(path.join(folder, 'toc.dat')))
    expect(toc.failed).toEqual(['Archive header (toc.dat)'])
  })

  test.each([0.1, 0.5, 0.9, 0.999])('tar, truncated at %f', async (fraction) => {
    const { failed, message } = await damaged('tar', cutAt(fraction))
    expect(failed).toEqual(['Tar structure'])
    expect(message).toMatch(/^Backup \(tar format\) failed validation: Tar structure: /)
  })

  test('tar, a flipped byte in a header', async () => {
    const { failed, checks } = await damaged(
      'tar',
      flipByte(() => 3)
    )
    expect(failed.length).toBeGreaterThan(0)
    expect(checks.find((check) => check.name === 'Tar structure')?.detail).toMatch(/bad header checksum at offset 0/)
  })
})
