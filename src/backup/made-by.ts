// Which PostgreSQL an existing backup came from and which pg_dump wrote it, from its own first bytes:
// the header lines of a plain dump, the header of an archive's table of contents. A restore with no
// server of the user's chooses its client tools and its throwaway server by them.

import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { createGunzip } from 'node:zlib'
import { parseArchiveHeader } from './archive/archive-header.js'
import type { DetectedFormat } from './detect.js'

export interface MadeBy {
  /** "16.4 (Debian 16.4-1)": the server the backup was taken from, when the backup says. */
  dumpedFrom?: string
  /** The pg_dump that wrote it. */
  dumpedBy?: string
  /** When the dump started: a verbose plain dump's "-- Started on" line (with its zone), an archive header's time (the dumping host's clock, no zone). */
  startedOn?: string
}

const HEAD_BYTES = 64 * 1024

export async function readMadeBy(file: string, detected: DetectedFormat): Promise<MadeBy> {
  if (detected.format === 'plain') {
    const head = await readHead(file, detected.compression !== undefined)
    const text = head.toString('latin1')
    return {
      dumpedFrom: /^-- Dumped from database version (.+)$/m.exec(text)?.[1]?.trim(),
      dumpedBy: /^-- Dumped by pg_dump version (.+)$/m.exec(text)?.[1]?.trim(),
      startedOn: /^-- Started on (.+)$/m.exec(text)?.[1]?.trim()
    }
  }
  // A tar archive's first member is its table of contents, after a 512-byte header.
  const toc = detected.format === 'directory' ? path.join(file, 'toc.dat') : file
  const head = await readHead(toc, false)
  const header = parseArchiveHeader(detected.format === 'tar' ? head.subarray(512) : head)
  return 'problem' in header ? {} : { dumpedFrom: header.serverVersion, dumpedBy: header.dumpVersion, startedOn: header.created }
}

/** The major of a version as PostgreSQL prints it: "16.4 (Debian ...)" is 16, "9.6.24" is 9.6. */
export function majorOfVersion(version: string | undefined): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?/.exec(version ?? '')
  if (!match) return undefined
  const major = Number(match[1])
  return major >= 10 ? major : Number(`${major}.${match[2] ?? 0}`)
}

async function readHead(file: string, gzipped: boolean): Promise<Buffer> {
  if (!gzipped) {
    const handle = await open(file, 'r')
    try {
      const buffer = Buffer.alloc(HEAD_BYTES)
      const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }
  const chunks: Buffer[] = []
  let length = 0
  const stream = createReadStream(file).pipe(createGunzip())
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      length += chunk.length
      if (length >= HEAD_BYTES) break
    }
  } catch {
    // A damaged gzip stream: what came before the damage is read; Validate names the damage.
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks).subarray(0, HEAD_BYTES)
}
