// A streamed plain dump is read once, into buffers that are filled again once every reader is done
// with them: the Create phase's scan and the restore's planner must see every byte as it is on disk,
// whatever spans the chunks (a statement or a row longer than a chunk), and a range read again for a
// session must not be overwritten before the session has taken it.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChunkRelay, followFile, rangeBuffers, readRange } from '../../src/backup/followed-file.js'
import { InspectingStream, plainObserver, type PlainObservation } from '../../src/backup/inspect.js'
import { recordingPlanner, type RecordedPlanner } from '../support/planner.js'
import type { GateOptions } from '../../src/backup/gate/dump-gate.js'

/** The gate as a restore runs it, vouching for nothing. */
const GATE: GateOptions = { untrustedCode: 'refuse' }

const MiB = 1024 * 1024

/** A plain dump of about 13 MiB: a statement of 3 MiB and a row of 2.5 MiB in the middle, rows around them. */
function syntheticDump(): Buffer {
  const rows = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `${from + i}\tvalue ${from + i} ${'r'.repeat((from + i) % 97)}\t\\N`).join('\n')
  const parts = [
    '--\n-- PostgreSQL database dump\n--\n\n',
    "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n",
    'CREATE TABLE public.t (id integer, v text, w text);\n\n',
    'COPY public.t (id, v, w) FROM stdin;\n',
    rows(1, 60_000),
    '\n\\.\n\n',
    `COMMENT ON TABLE public.t IS '${'c'.repeat(3 * MiB)}';\n\n`,
    'COPY public.t (id, v, w) FROM stdin;\n',
    `0\t${'L'.repeat(2.5 * MiB)}\tlong\n`,
    rows(60_001, 60_000),
    '\n\\.\n\n',
    'CREATE INDEX t_id ON public.t USING btree (id);\n\n',
    '--\n-- PostgreSQL database dump complete\n--\n\n'
  ]
  return Buffer.from(parts.join(''))
}

/** What a planner made of the dump: each job, its ranges with their checksums, and its COPY statement. */
function planOf(planner: RecordedPlanner) {
  return planner.jobs.map((job) => ({
    kind: job.kind,
    ranges: job.ranges.map(({ start, end, crc }) => [start, end, crc]),
    copy: job.kind === 'rows' ? job.copyStatement.toString() : undefined
  }))
}

describe('one read of a growing dump, into buffers used again', () => {
  let folder: string
  let file: string
  let dump: Buffer
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-chunks-'))
    file = path.join(folder, 'dump.sql')
    dump = syntheticDump()
    await writeFile(file, dump)
  })
  afterAll(() => rm(folder, { recursive: true, force: true }))

  test('the scan and the planner behind the relay see every byte as on disk, long statements and rows included', async () => {
    // The reference: the whole file in memory, in chunks of its own.
    const expectedPlanner = recordingPlanner({ parallel: true, unknownSettings: [], gate: GATE })
    const expectedScan = new InspectingStream<PlainObservation>(plainObserver(false, { content: true }))
    const whole = await readFile(file)
    for (let at = 0; at < whole.length; at += MiB) expectedPlanner.push(whole.subarray(at, at + MiB))
    expectedPlanner.end()
    await pipeline(Readable.from([whole]), expectedScan, new Writable({ write: (_chunk, _encoding, done) => done() }))

    // The engine's way: followFile into the relay's pool, the scan, then the relay to the planner.
    // The reader is the slower one here: the planner waits for each chunk, which is read into the
    // buffer of the chunk just before it (the moment a part kept from that chunk would be lost).
    const relay = new ChunkRelay()
    const scan = new InspectingStream<PlainObservation>(plainObserver(false, { content: true }))
    const slowly = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        await sleep(2)
        yield chunk
      }
    }
    const read = pipeline(
      Readable.from(followFile({ path: file, size: Promise.resolve(dump.length) }, undefined, relay.pool)),
      scan,
      slowly,
      relay.writable()
    )
    read.catch((error: unknown) => relay.fail(error))
    const planner = recordingPlanner({ parallel: true, unknownSettings: [], gate: GATE })
    const buffers = new Set<ArrayBufferLike>()
    let chunks = 0
    for await (const chunk of relay) {
      buffers.add(chunk.buffer)
      chunks++
      planner.push(chunk)
    }
    planner.end()
    await read

    expect(chunks).toBe(Math.ceil(dump.length / MiB))
    // Buffers were filled again: far fewer of them than chunks.
    expect(buffers.size).toBeLessThan(chunks / 2)
    expect(planOf(planner)).toEqual(planOf(expectedPlanner))
    const observed = scan.result()
    expect(observed.sha256).toBe(expectedScan.result().sha256)
    expect(observed.observed.content?.tables).toEqual(expectedScan.result().observed.content?.tables)
    expect(observed.observed.content?.tables[0].rows).toBe(120_001)
    expect(observed.observed.unfinishedStatement).toBeUndefined()
  })

  test('a range read again goes through two buffers, neither filled again before its chunk was taken', async () => {
    const handle = await open(file, 'r')
    try {
      const start = 12_345
      const end = start + 5 * MiB + 777
      const taken: Buffer[] = []
      await readRange(handle, start, end, rangeBuffers(), async (chunk) => {
        const before = Buffer.from(chunk)
        // The session takes its time; the next chunk is read meanwhile, into the other buffer.
        await sleep(5)
        expect(chunk.equals(before)).toBe(true)
        taken.push(before)
      })
      expect(Buffer.concat(taken).equals(dump.subarray(start, end))).toBe(true)

      // A session that fails stops the read; a range past the end of the file says where it ends.
      await expect(
        readRange(handle, 0, 3 * MiB, rangeBuffers(), async () => {
          throw new Error('session gone')
        })
      ).rejects.toThrow('session gone')
      await expect(readRange(handle, dump.length - 10, dump.length + 10, rangeBuffers(), async () => {})).rejects.toThrow(
        `the file ends at byte ${dump.length}`
      )
    } finally {
      await handle.close()
    }
  })
})
