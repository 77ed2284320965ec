// The bytes-level checks a backup goes through before any tool reads it, on real files and no server:
// the tar structure check, the archive header, and format detection.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { TarChecker, type TarReport } from '../../../src/backup/archive/tar-check.js'
import { parseArchiveHeader, type ArchiveHeader } from '../../../src/backup/archive/archive-header.js'
import { detectBackupFormat } from '../../../src/backup/detect.js'
import { ROOT } from '../../support/runner.js'

let folder: string

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-bytes-'))
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

/** A real ustar archive, written by the system's tar, of files with the given sizes. */
async function tarOf(name: string, sizes: Record<string, number>): Promise<Buffer> {
  const members = path.join(folder, `${name}.members`)
  await mkdir(members, { recursive: true })
  for (const [file, size] of Object.entries(sizes)) {
    await writeFile(path.join(members, file), Buffer.alloc(size, file.charCodeAt(0)))
  }
  const archive = path.join(folder, `${name}.tar`)
  execFileSync('tar', ['--format=ustar', '-cf', archive, '-C', members, ...Object.keys(sizes)])
  return readFile(archive)
}

/** The checker fed the bytes in chunks of the given size, as a stream would. */
function check(bytes: Buffer, chunk = bytes.length || 1): TarReport {
  const checker = new TarChecker()
  for (let at = 0; at < bytes.length; at += chunk) checker.update(bytes.subarray(at, at + chunk))
  return checker.finish()
}

describe('the tar structure check', () => {
  let archive: Buffer
  beforeAll(async () => {
    archive = await tarOf('good', { 'toc.dat': 1038, '3001.dat': 0, '3002.dat': 70_000, 'restore.sql': 1477 })
  })

  test('a whole archive passes and lists its members, however the stream is cut into chunks', () => {
    for (const chunk of [1, 7, 511, 512, 513, 4096, archive.length]) {
      expect(check(archive, chunk)).toEqual({ members: ['toc.dat', '3001.dat', '3002.dat', 'restore.sql'], problem: undefined })
    }
  })

  test('an archive cut anywhere fails, naming how', () => {
    // The end-of-archive blocks start after the last member's data.
    const endOfData = 512 + 1536 + 512 + 512 + 70_144 + 512 + 1536
    const cuts = [1, 100, 511, 512, 1000, 2048, 30_000, endOfData - 1, endOfData, endOfData + 512]
    for (const cut of cuts) {
      const report = check(archive.subarray(0, cut), 4096)
      expect(report.problem).toMatch(/cut short|truncated/)
    }
    expect(check(archive.subarray(0, 30_000)).problem).toMatch(/^cut short inside member "3002.dat" \(\d+ bytes missing\)$/)
    expect(check(archive.subarray(0, endOfData)).problem).toBe('no end-of-archive blocks: the archive is truncated')
    expect(check(archive.subarray(0, 1000)).problem).toBe('cut short inside member "toc.dat" (1048 bytes missing)')
  })

  test('a damaged header fails on its checksum, wherever the damage is', () => {
    const headerOffsets = [0, 2048, 2560]
    for (const header of headerOffsets) {
      for (const byte of [0, 99, 124, 148, 257, 511]) {
        const damaged = Buffer.from(archive)
        damaged[header + byte] ^= 0x01
        expect(check(damaged, 512).problem).toMatch(/bad header checksum at offset|unreadable member size/)
      }
    }
    const damaged = Buffer.from(archive)
    damaged[2048 + 3] ^= 0x01
    expect(check(damaged).problem).toBe('bad header checksum at offset 2048 ("3000.dat"): the archive is corrupt')
  })

  test('bytes after the end, a lone zero block and an empty stream are each named', () => {
    const endOfData = 512 + 1536 + 512 + 512 + 70_144 + 512 + 1536
    const trailing = Buffer.concat([archive.subarray(0, endOfData + 1024), Buffer.from('more')])
    expect(check(trailing, 100).problem).toBe('data after the end-of-archive blocks')
    const lone = Buffer.concat([archive.subarray(0, 2048), Buffer.alloc(512), archive.subarray(2048)])
    expect(check(lone).problem).toBe('a lone zero block at offset 2048')
    expect(check(Buffer.alloc(0))).toEqual({ members: [], problem: 'no tar members at all' })
  })

  test("pg_dump's own tar archive passes whole and fails cut by one block", async () => {
    // pg_dump -Ft of PostgreSQL 15.18, as it wrote it: no padding to a 10 KiB record, unlike tar(1).
    const real = await readFile(path.join(ROOT, '__tests__', 'fixtures', 'pg_dump-15.tar'))
    expect(check(real, 333)).toEqual({ members: ['toc.dat', 'restore.sql'], problem: undefined })
    expect(check(real.subarray(0, real.length - 512)).problem).toBe('no end-of-archive blocks: the archive is truncated')
  })
})

/** A header as pg_dump's WriteHead writes it: archive version, sizes, format, compression, date, names. */
function header(options: { version: [number, number, number]; format?: number; compression?: number; database?: string | null }) {
  const intSize = 4
  const int = (value: number) => {
    const bytes = Buffer.alloc(1 + intSize)
    bytes[0] = value < 0 ? 1 : 0
    bytes.writeUInt32LE(Math.abs(value), 1)
    return bytes
  }
  const string = (text: string | null) => (text === null ? int(-1) : Buffer.concat([int(Buffer.byteLength(text)), Buffer.from(text)]))
  const [major, minor, revision] = options.version
  const modern = major * 10000 + minor * 100 + revision >= 11500
  return Buffer.concat([
    Buffer.from('PGDMP'),
    Buffer.from([major, minor, revision, intSize, 8, options.format ?? 1]),
    modern ? Buffer.from([options.compression ?? 0]) : int(options.compression ?? 0),
    ...[5, 4, 3, 2, 0, 124, 0].map(int),
    string(options.database === undefined ? 'shop' : options.database),
    string('17.2'),
    string('17.2 (Debian 17.2-1)')
  ])
}

describe('the archive header', () => {
  // The first 120 bytes of `pg_dump -Fc` of PostgreSQL 15.18, as written (archive 1.14.0).
  const PG_DUMP_15 = Buffer.from(
    'UEdETVABDgAECAEBAQAAAAAzAAAAAA8AAAAAFgAAAAABAAAAAAsAAAAAfgAAAAAAAAAAAAgAAABwb3N0Z3JlcwAFAAAAMTUuMTgAHgAAADE1LjE4IChEZWJpYW4gMTUuMTgtMCtkZWIxMnUxKQAFAAAAALUMAAAA',
    'base64'
  )

  test("pg_dump 15's header: who wrote it, when, from which database", () => {
    expect(parseArchiveHeader(PG_DUMP_15)).toEqual({
      archiveVersion: '1.14.0',
      intSize: 4,
      offSize: 8,
      format: 'custom',
      compression: 'gzip (default level)',
      created: '2026-12-01 22:15:51',
      database: 'postgres',
      serverVersion: '15.18',
      dumpVersion: '15.18 (Debian 15.18-0+deb12u1)'
    })
  })

  test('archive 1.15 and later name the compression method; older ones give a level', () => {
    const methods = ['none', 'gzip', 'lz4', 'zstd', 'unknown']
    methods.forEach((method, code) => {
      expect(parseArchiveHeader(header({ version: [1, 16, 0], compression: code }))).toMatchObject({ compression: method })
    })
    expect(parseArchiveHeader(header({ version: [1, 14, 0], compression: 0 }))).toMatchObject({ compression: 'none' })
    expect(parseArchiveHeader(header({ version: [1, 13, 0], compression: 6 }))).toMatchObject({ compression: 'gzip level 6' })
  })

  test('the format code of custom, tar and directory archives; a date in the calendar', () => {
    const formats: [number, ArchiveHeader['format']][] = [
      [1, 'custom'],
      [3, 'tar'],
      [5, 'directory'],
      [2, 'unknown']
    ]
    for (const [code, format] of formats)
      expect(parseArchiveHeader(header({ version: [1, 15, 0], format: code }))).toMatchObject({ format })
    expect(parseArchiveHeader(header({ version: [1, 15, 0] }))).toMatchObject({ created: '2024-01-02 03:04:05', database: 'shop' })
    expect(parseArchiveHeader(header({ version: [1, 15, 0], database: null }))).toMatchObject({ database: undefined })
  })

  test('what is not an archive, or a damaged one, is named, never thrown', () => {
    expect(parseArchiveHeader(Buffer.alloc(0))).toEqual({ problem: 'the file is empty' })
    expect(parseArchiveHeader(Buffer.from('--\n-- PostgreSQL database dump\n'))).toEqual({
      problem: 'no "PGDMP" signature at the start: not a pg_dump archive'
    })
    expect(parseArchiveHeader(header({ version: [2, 0, 0] }))).toEqual({ problem: 'unknown archive version 2.0.0' })
    const sizes = Buffer.from(PG_DUMP_15)
    sizes[8] = 3
    expect(parseArchiveHeader(sizes)).toEqual({ problem: 'implausible integer/offset sizes 3/8: the header is damaged' })
    const huge = Buffer.from(PG_DUMP_15)
    huge.writeUInt32LE(1 << 20, 0x34)
    expect(parseArchiveHeader(huge)).toEqual({ problem: 'the header is cut short or damaged' })
  })

  test('a header cut at any length is reported, not misread', () => {
    const whole = header({ version: [1, 15, 0] })
    for (let length = 1; length < whole.length; length++) {
      expect(parseArchiveHeader(whole.subarray(0, length))).toHaveProperty('problem')
    }
    expect(parseArchiveHeader(whole)).not.toHaveProperty('problem')
  })
})

describe('format detection from content, not the name', () => {
  const write = async (name: string, bytes: Buffer | string) => {
    const file = path.join(folder, name)
    await writeFile(file, bytes)
    return file
  }

  test('custom, gzipped plain, tar, directory and plain, each under a misleading name', async () => {
    const tar = await tarOf('detect', { 'toc.dat': 10 })
    const directory = path.join(folder, 'looks-like.dump')
    await mkdir(directory, { recursive: true })
    await writeFile(path.join(directory, 'toc.dat'), header({ version: [1, 15, 0], format: 5 }))
    const cases: [string, Buffer | string | undefined, object][] = [
      ['custom.sql', header({ version: [1, 15, 0] }), { format: 'custom' }],
      ['gzipped.tar', gzipSync('SELECT 1;\n'), { format: 'plain', compression: { method: 'gzip' } }],
      ['archive.sql.gz', tar, { format: 'tar' }],
      ['plain.dump', '--\n-- PostgreSQL database dump\n--\n', { format: 'plain' }],
      ['empty.dump', '', { format: 'plain' }],
      ['short.tar', 'ustar', { format: 'plain' }]
    ]
    for (const [name, bytes, expected] of cases) {
      expect(await detectBackupFormat(await write(name, bytes ?? ''))).toEqual(expected)
    }
    expect(await detectBackupFormat(directory)).toEqual({ format: 'directory' })
  })

  test('a missing file is an error, not a guess', async () => {
    await expect(detectBackupFormat(path.join(folder, 'absent.dump'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
