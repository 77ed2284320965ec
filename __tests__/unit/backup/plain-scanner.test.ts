// Recognising and validating plain dumps from crafted files: valid, truncated, NULs, garbage, empty.

import { describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { PlainDumpScanner, type PlainScanReport } from '../../../src/backup/plain-scanner.js'
import { plainDumpChecks } from '../../../src/validate/plain-checks.js'

const KEY = 'AbCdEf0123456789'
const VALID = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  `\\restrict ${KEY}`,
  '',
  '-- Dumped from database version 15.18',
  "SET client_encoding = 'UTF8';",
  'CREATE TABLE public.items (id integer, name text);',
  '',
  'COPY public.items (id, name) FROM stdin;',
  '1\tfirst',
  '2\tsecond ünïcødé',
  '3\t-- PostgreSQL database dump complete',
  '4\tpg_dump: error: this is data, not an error',
  '\\.',
  '',
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
  `\\unrestrict ${KEY}`,
  ''
].join('\n')

function scan(data: Buffer | string, chunkSizes?: number[]): PlainScanReport {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')
  const scanner = new PlainDumpScanner()
  let offset = 0
  let i = 0
  while (offset < bytes.length) {
    const size = chunkSizes ? chunkSizes[i++ % chunkSizes.length] : bytes.length
    scanner.update(bytes.subarray(offset, offset + size))
    offset += size
  }
  return scanner.finish()
}

const failed = (report: PlainScanReport) =>
  plainDumpChecks(report)
    .filter((check) => !check.passed)
    .map((check) => check.name)

describe('a valid plain dump', () => {
  test('passes every check', () => {
    const report = scan(VALID)
    expect(failed(report)).toEqual([])
    expect(report).toMatchObject({
      hasHeader: true,
      hasTrailer: true,
      copyBlocks: 1,
      nulBytes: 0,
      restrictKeys: [KEY],
      unrestrictKeys: [KEY]
    })
  })

  test('data rows that look like a trailer or an error are data, not signs', () => {
    expect(scan(VALID).toolErrors).toEqual([])
  })

  test('the result does not depend on how the bytes are split into chunks', () => {
    const whole = scan(VALID)
    for (const sizes of [[1], [2, 3], [7], [64, 1, 13]]) expect(scan(VALID, sizes)).toEqual(whole)
  })

  test('a dump from a client before \\restrict existed passes too', () => {
    const old = VALID.replace(`\\restrict ${KEY}\n`, '').replace(`\\unrestrict ${KEY}\n`, '')
    expect(failed(scan(old))).toEqual([])
  })

  test('Windows line endings are accepted', () => {
    expect(failed(scan(VALID.replace(/\n/g, '\r\n')))).toEqual([])
  })
})

describe('damaged dumps', () => {
  test('truncation at any offset is caught', () => {
    const bytes = Buffer.from(VALID, 'utf8')
    // Past the end of the \unrestrict key only line breaks remain, which carry nothing.
    const meaningful = bytes.lastIndexOf(Buffer.from(KEY)) + KEY.length
    for (let cut = 0; cut < meaningful; cut++) {
      expect({ cut, failed: failed(scan(bytes.subarray(0, cut))).length > 0 }).toEqual({ cut, failed: true })
    }
  })

  test('a dump cut inside table data names the table and the missing trailer', () => {
    const cut = VALID.slice(0, VALID.indexOf('2\tsecond'))
    const checks = plainDumpChecks(scan(cut))
    expect(checks.find((check) => check.name === 'COPY blocks terminated')?.detail).toContain('COPY public.items (id, name) FROM stdin;')
    expect(checks.find((check) => check.name === 'Completion trailer')?.detail).toMatch(
      /^no completion trailer: the dump is truncated \(it ends at byte \d+\)$/
    )
  })

  test('NUL bytes are counted with the first offset', () => {
    const withNul = Buffer.from(VALID.replace('first', 'fi\0rst'), 'utf8')
    const report = scan(withNul)
    expect(report.nulBytes).toBe(1)
    expect(report.firstNulOffset).toBe(withNul.indexOf(0))
    expect(failed(report)).toEqual(['No NUL bytes'])
  })

  test('binary garbage is not a dump', () => {
    const checks = failed(scan(randomBytes(64 * 1024)))
    expect(checks).toContain('Format signature')
    expect(checks).toContain('Completion trailer')
    expect(checks).toContain('Readable text')
  })

  test('an empty file fails, saying it is empty', () => {
    const checks = plainDumpChecks(scan(''))
    expect(checks.find((check) => check.name === 'Format signature')?.detail).toBe('the file is empty')
    expect(checks.filter((check) => !check.passed).map((check) => check.name)).toEqual([
      'Format signature',
      'Completion trailer',
      'Readable text'
    ])
  })

  test('pg_dump error text inside the file is found', () => {
    const report = scan(
      VALID.replace('CREATE TABLE', 'pg_dump: error: query failed: server closed the connection unexpectedly\nCREATE TABLE')
    )
    expect(report.toolErrors).toEqual(['pg_dump: error: query failed: server closed the connection unexpectedly'])
    // The error text runs into the statement after it, which is then no statement pg_dump writes.
    expect(failed(report)).toEqual(['No tool errors inside', 'Nothing beyond its database'])
  })

  test('an unbalanced \\restrict is caught', () => {
    const report = scan(VALID.replace(`\\unrestrict ${KEY}`, '\\unrestrict SomeOtherKey'))
    expect(failed(report)).toEqual(['\\restrict pairs'])
  })

  test('statements after the completion trailer mean two dumps were glued or the file was appended to', () => {
    const report = scan(`${VALID}CREATE TABLE extra (id int);\n`)
    expect(failed(report)).toEqual(['Completion trailer'])
  })

  test('text that is mostly control characters is not readable', () => {
    const noisy = VALID + '\x01\x02\x03\x04\x05\x06\x07\x08'.repeat(200)
    expect(failed(scan(noisy))).toContain('Readable text')
  })
})
