// The read-back reads a COPY's rows off the session's socket itself: wherever the socket's chunks
// happen to end (inside a message's header, inside a row, between messages), every row is hashed
// once, exactly as the dump's lines are, and the driver gets back every byte after the rows.

import { describe, expect, test } from '@jest/globals'
import { EventEmitter } from 'node:events'
import { RowFingerprint } from '../../src/backup/row-fingerprint.js'
import { CopyRowReader } from '../../src/compare/read-back.js'

function message(code: string, body: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1')
  const header = Buffer.alloc(5)
  header[0] = code.charCodeAt(0)
  header.writeUInt32BE(bytes.length + 4, 1)
  return Buffer.concat([header, bytes])
}

const ROWS = ['1\tcafé\t\\N', '2\t\t3.5', '3\ta\\tb\\nc\t-0', '', '4\t' + 'x'.repeat(300) + '\t1e+100', '2\t\t3.5']
const rowsText = Buffer.from(ROWS.map((row) => `${row}\n`).join(''), 'utf8')
const expected = new RowFingerprint()
expected.addLines(rowsText)

const protocol = Buffer.concat([
  message('H', Buffer.from([0, 0, 3, 0, 0, 0, 0, 0, 0])),
  ...ROWS.map((row) => message('d', Buffer.from(`${row}\n`, 'utf8'))),
  message('c', ''),
  message('C', 'COPY 6\0'),
  message('Z', 'I')
])
const afterRows = protocol.subarray(protocol.indexOf(message('C', 'COPY 6\0')))

/** A socket as the driver listens to it: its own 'data' listener records what it is given. */
function feed(chunks: Buffer[]) {
  const stream = new EventEmitter() as EventEmitter & NodeJS.ReadWriteStream
  const driver: Buffer[] = []
  stream.on('data', (chunk: Buffer) => driver.push(chunk))
  const print = new RowFingerprint()
  new CopyRowReader(stream, print)
  for (const chunk of chunks) stream.emit('data', chunk)
  return { print, driver: Buffer.concat(driver), listeners: stream.listenerCount('data') }
}

describe('CopyRowReader', () => {
  test('chunks split at every byte, and at every pair of bytes: the same rows, the driver given the rest', () => {
    const splits: number[][] = []
    for (let i = 1; i < protocol.length; i++) splits.push([i])
    for (let i = 1; i < protocol.length; i += 3) for (let j = i + 1; j < protocol.length; j += 2) splits.push([i, j])
    splits.push(Array.from({ length: protocol.length - 1 }, (_, i) => i + 1))
    for (const cuts of [[], ...splits]) {
      const bounds = [0, ...cuts, protocol.length]
      const { print, driver, listeners } = feed(bounds.slice(1).map((end, k) => protocol.subarray(bounds[k], end)))
      expect([print.rows, print.toString()]).toEqual([expected.rows, expected.toString()])
      expect(driver.equals(afterRows)).toBe(true)
      expect(listeners).toBe(1)
    }
  })

  test('a row of 8 MB arriving 1 KB at a time is hashed whole, as one row', () => {
    const big = `7\t${'v'.repeat(8 * 1024 * 1024)}\n`
    const stream = Buffer.concat([message('H', Buffer.from([0, 0, 0])), message('d', big), message('C', 'COPY 1\0'), message('Z', 'I')])
    const chunks: Buffer[] = []
    for (let at = 0; at < stream.length; at += 1024) chunks.push(stream.subarray(at, at + 1024))
    const { print, driver } = feed(chunks)
    const alone = new RowFingerprint()
    alone.addLines(Buffer.from(big))
    expect([print.rows, print.toString()]).toEqual([1, alone.toString()])
    expect(driver.equals(Buffer.concat([message('C', 'COPY 1\0'), message('Z', 'I')]))).toBe(true)
  })

  test('a COPY that fails at once: the error and all after it go to the driver, no row counted', () => {
    const failure = Buffer.concat([message('E', 'SERROR\0Mrelation does not exist\0\0'), message('Z', 'I')])
    for (let i = 1; i < failure.length; i++) {
      const { print, driver } = feed([failure.subarray(0, i), failure.subarray(i)])
      expect(print.rows).toBe(0)
      expect(driver.equals(failure)).toBe(true)
    }
  })

  test('an error in the middle of the rows: the rows before it counted, the error handed to the driver', () => {
    const broken = Buffer.concat([
      message('H', Buffer.from([0, 0, 0])),
      message('d', '1\ta\n'),
      message('E', 'SERROR\0Mterminating connection\0\0')
    ])
    const { print, driver } = feed([broken])
    expect(print.rows).toBe(1)
    expect(driver.equals(broken.subarray(broken.indexOf(message('E', 'SERROR\0Mterminating connection\0\0'))))).toBe(true)
  })
})
