// The row fingerprint: the published hash it is built on, the properties a content check needs, and
// what a dump's scan collects with it.

import { describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { murmur3x86_128, RowFingerprint, sumFingerprints } from '../../../src/backup/row-fingerprint.js'
import { PlainDumpScanner } from '../../../src/backup/plain-scanner.js'

describe('MurmurHash3_x86_128', () => {
  test("SMHasher's verification value: keys 0, 0 1, 0 1 2, ... hashed with seeds 256, 255, ..., then the hashes hashed", () => {
    const key = Uint8Array.from({ length: 256 }, (_, i) => i)
    const hashes = new Uint8Array(16 * 256)
    const out = new Uint32Array(4)
    for (let i = 0; i < 256; i++) {
      murmur3x86_128(key, 0, i, 256 - i, out)
      hashes.set(new Uint8Array(out.buffer), i * 16)
    }
    murmur3x86_128(hashes, 0, hashes.length, 0, out)
    expect(out[0]).toBe(0xb3ece62a)
  })

  test('a range of a larger buffer hashes as the same bytes on their own', () => {
    const bytes = Buffer.from('xx1234567890abcdefghijyy')
    const [a, b] = [new Uint32Array(4), new Uint32Array(4)]
    murmur3x86_128(bytes, 2, bytes.length - 2, 0, a)
    const alone = Buffer.from('1234567890abcdefghij')
    murmur3x86_128(alone, 0, alone.length, 0, b)
    expect([...a]).toEqual([...b])
  })
})

const fingerprint = (lines: string[]) => {
  const print = new RowFingerprint()
  print.addLines(Buffer.from(lines.map((line) => `${line}\n`).join('')))
  return `${print.rows} ${print.toString()}`
}

describe('RowFingerprint', () => {
  const rows = ['1\tapple\t\\N', '2\tpear\t', '3\t\\\\x00ff\t{1,2}']

  test('order does not matter; a changed, swapped or duplicated row does', () => {
    expect(fingerprint(rows)).toBe(fingerprint([...rows].reverse()))
    expect(fingerprint(rows)).not.toBe(fingerprint(['1\tapple\t\\N', '2\tpear\t', '3\t\\\\x00fe\t{1,2}']))
    expect(fingerprint(rows)).not.toBe(fingerprint(['1\tapple\t\\N', '2\tpear\t', '4\t\\\\x00ff\t{1,2}']))
    // A row duplicated in place of another: same count, other content.
    expect(fingerprint(rows)).not.toBe(fingerprint(['1\tapple\t\\N', '1\tapple\t\\N', '3\t\\\\x00ff\t{1,2}']))
    // NULL and the empty string are other rows.
    expect(fingerprint(['2\tpear\t'])).not.toBe(fingerprint(['2\tpear\t\\N']))
  })

  test('a carriage return before the line end is not part of the row', () => {
    const print = new RowFingerprint()
    print.addLines(Buffer.from('1\tapple\t\\N\r\n2\tpear\t\r\n3\t\\\\x00ff\t{1,2}\n'))
    expect(`${print.rows} ${print.toString()}`).toBe(fingerprint(rows))
  })

  test('parts merged are the whole', () => {
    const [first, second] = [new RowFingerprint(), new RowFingerprint()]
    first.addLines(Buffer.from(`${rows[0]}\n${rows[1]}\n`))
    second.addLines(Buffer.from(`${rows[2]}\n`))
    first.merge(second)
    expect(`${first.rows} ${first.toString()}`).toBe(fingerprint(rows))
    expect(new RowFingerprint().toString()).toBe('copy:0000000000000000')
  })

  test('a line at a time, as COPY messages carry them, gives the same fingerprint as the lines together', () => {
    const print = new RowFingerprint()
    for (const row of rows) print.addLine(Buffer.from(`${row}\n`))
    expect(`${print.rows} ${print.toString()}`).toBe(fingerprint(rows))
    // A message that is not one line is read as lines: the same rows either way.
    const odd = new RowFingerprint()
    odd.addLine(Buffer.from(`${rows.join('\n')}\n`))
    expect(`${odd.rows} ${odd.toString()}`).toBe(fingerprint(rows))
  })
})

describe("a dump's content, from its own bytes", () => {
  const dump = [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    '-- Dumped from database version 16.4 (Debian 16.4-1)',
    '-- Dumped by pg_dump version 16.4',
    "SET client_encoding = 'LATIN1';",
    "SET standard_conforming_strings = 'off';",
    'COPY public."Order Items" (id, "Note; FROM stdin;") FROM stdin;',
    '1\tone',
    '2\t\\N',
    '\\.',
    'COPY public."Order Items" (id, "Note; FROM stdin;") FROM stdin;',
    '3\tthree',
    '\\.',
    'COPY public.empty (x) FROM stdin;',
    '\\.',
    "SELECT pg_catalog.lo_create('16400');",
    "SELECT pg_catalog.lo_create('16401');",
    "SELECT pg_catalog.lo_open('16400', 131072);",
    "SELECT pg_catalog.lowrite(0, E'\\\\x616263');",
    "SELECT pg_catalog.lowrite(0, E'\\\\x64');",
    'SELECT pg_catalog.lo_close(0);',
    '--',
    '-- PostgreSQL database dump complete',
    '--',
    ''
  ].join('\n')

  test('rows per COPY target (blocks of one table summed), large objects by their bytes, the source version', () => {
    const scanner = new PlainDumpScanner({ content: true })
    // Fed in small pieces: rows split across chunks anywhere.
    const bytes = Buffer.from(dump, 'latin1')
    for (let at = 0; at < bytes.length; at += 7) scanner.update(bytes.subarray(at, at + 7))
    const content = scanner.finish().content!
    expect(content.clientEncoding).toBe('LATIN1')
    expect(content.sourceVersion).toBe('16.4 (Debian 16.4-1)')
    expect(content.tables.map(({ copy, rows }) => [copy.table, copy.readBack, rows])).toEqual([
      ['public."Order Items"', 'COPY public."Order Items" (id, "Note; FROM stdin;") TO STDOUT;', 3],
      ['public.empty', 'COPY public.empty (x) TO STDOUT;', 0]
    ])
    expect(content.tables[0].fingerprint).toBe(fingerprint(['1\tone', '2\t\\N', '3\tthree']).split(' ')[1])
    const md5 = (text: string) => `md5 ${createHash('md5').update(text).digest('hex')}`
    expect(content.largeObjects).toEqual([
      { oid: '16400', bytes: 4, md5: md5('abcd') },
      { oid: '16401', bytes: 0, md5: md5('') }
    ])
    expect(content.unreadCopies).toEqual([])
  })

  test('without content asked for, nothing is fingerprinted', () => {
    const scanner = new PlainDumpScanner()
    scanner.update(Buffer.from(dump, 'latin1'))
    expect(scanner.finish().content).toBeUndefined()
  })
})

describe('the parts of one table', () => {
  test('the sum of the parts’ fingerprints is the fingerprint of all their rows', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `${i}\tvalue ${i}\n`)
    const whole = new RowFingerprint()
    whole.addLines(Buffer.from(lines.join('')))
    const parts = [lines.slice(0, 10), lines.slice(10, 600), lines.slice(600)].map((part) => {
      const print = new RowFingerprint()
      print.addLines(Buffer.from(part.join('')))
      return print.toString()
    })
    expect(sumFingerprints(parts)).toBe(whole.toString())
    expect(sumFingerprints([whole.toString()])).toBe(whole.toString())
    expect(sumFingerprints(['copy:ffffffffffffffff', 'copy:0000000000000002'])).toBe('copy:0000000000000001')
  })
})
