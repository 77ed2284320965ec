// Line numbers of a plain dump, counted only when something must be named by its line (a refused
// statement): the file is read again, decompressed if it is gzip, up to the last offset asked for.

import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import type { Readable } from 'node:stream'

/** The line (from 1) each offset of the dump's text falls on. */
export async function linesAt(file: string, gzipped: boolean, offsets: number[], signal?: AbortSignal): Promise<Map<number, number>> {
  const wanted = [...new Set(offsets)].sort((a, b) => a - b)
  const lines = new Map<number, number>()
  let read: Readable = createReadStream(file, { signal })
  if (gzipped) read = read.pipe(createGunzip())
  let position = 0
  let line = 1
  let next = 0
  try {
    for await (const chunk of read as AsyncIterable<Buffer>) {
      let from = 0
      while (next < wanted.length && wanted[next] < position + chunk.length) {
        const at = wanted[next] - position
        line += newlines(chunk, from, at)
        from = at
        lines.set(wanted[next++], line)
      }
      if (next >= wanted.length) break
      line += newlines(chunk, from, chunk.length)
      position += chunk.length
    }
  } finally {
    read.destroy()
  }
  return lines
}

/** The line ends in bytes (or text) from one offset to another. */
export function newlines(bytes: Buffer | string, from = 0, to = bytes.length): number {
  let count = 0
  if (typeof bytes === 'string') {
    for (let at = bytes.indexOf('\n', from); at !== -1 && at < to; at = bytes.indexOf('\n', at + 1)) count++
  } else {
    for (let at = bytes.indexOf(10, from); at !== -1 && at < to; at = bytes.indexOf(10, at + 1)) count++
  }
  return count
}
