// An archive's table of contents, read entry by entry without holding it: which entries carry a
// table's data as statements (pg_dump --inserts) rather than a COPY. pg_restore --dbname cuts such
// data into statements with a splitter of its own, which knows no comment, no $$ or E'' string:
// what it sends is then not what its script (and the gate, reading it) shows.

import { open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { BackupFormat } from './formats.js'

export interface TableOfContents {
  entries: number
  /** Entries of table data without a COPY statement of their own, by tag ("public t"). */
  dataAsStatements: string[]
}

const CHUNK = 64 * 1024
/** Tar headers are 512 bytes; the first member of a pg_dump tar archive is toc.dat. */
const TAR_BLOCK = 512

/** Reads the table of contents of a custom, directory or tar archive. */
export async function readTableOfContents(archive: string, format: Exclude<BackupFormat, 'plain'>): Promise<TableOfContents> {
  const file = format === 'directory' ? path.join(archive, 'toc.dat') : archive
  const handle = await open(file, 'r')
  try {
    let start = 0
    let end = Number.POSITIVE_INFINITY
    if (format === 'tar') {
      const header = Buffer.alloc(TAR_BLOCK)
      await handle.read(header, 0, TAR_BLOCK, 0)
      if (header.toString('latin1', 0, 7) !== 'toc.dat') throw new Error('the first member of the tar archive is not toc.dat')
      start = TAR_BLOCK
      end = TAR_BLOCK + parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/, '').trim(), 8)
    }
    return await readToc(new ArchiveBytes(handle, start, end))
  } finally {
    await handle.close()
  }
}

/** The bytes of the archive's header and table of contents, read as they are asked for. */
class ArchiveBytes {
  private buffer = Buffer.alloc(0)
  private at = 0
  intSize = 4

  constructor(
    private readonly handle: FileHandle,
    private position: number,
    private readonly end: number
  ) {}

  private async need(count: number): Promise<void> {
    while (this.buffer.length - this.at < count) {
      const size = Math.min(CHUNK, this.end - this.position)
      if (size <= 0) throw new Error('the table of contents is cut short')
      const chunk = Buffer.alloc(size)
      const { bytesRead } = await this.handle.read(chunk, 0, size, this.position)
      if (bytesRead === 0) throw new Error('the table of contents is cut short')
      this.position += bytesRead
      this.buffer = Buffer.concat([this.buffer.subarray(this.at), chunk.subarray(0, bytesRead)])
      this.at = 0
    }
  }

  async byte(): Promise<number> {
    await this.need(1)
    return this.buffer[this.at++]
  }

  async skip(count: number): Promise<void> {
    for (let left = count; left > 0;) {
      const step = Math.min(left, CHUNK)
      await this.need(step)
      this.at += step
      left -= step
    }
  }

  /** pg_dump's integer: a sign byte, then intSize bytes, least significant first. */
  async int(): Promise<number> {
    const negative = (await this.byte()) !== 0
    let value = 0
    for (let i = 0; i < this.intSize; i++) value += (await this.byte()) * 2 ** (8 * i)
    return negative ? -value : value
  }

  /** A string: its length, then its bytes; null for length -1. Skipped ("" for it) when `keep` is false; "…" when too long to keep. */
  async string(keep = true): Promise<string | null> {
    const length = await this.int()
    if (length < 0) return null
    if (!keep || length > CHUNK) {
      await this.skip(length)
      return keep ? '…' : ''
    }
    await this.need(length)
    const text = this.buffer.toString('latin1', this.at, this.at + length)
    this.at += length
    return text
  }
}

const version = (major: number, minor: number) => major * 100 + minor

async function readToc(bytes: ArchiveBytes): Promise<TableOfContents> {
  const signature = Buffer.from([await bytes.byte(), await bytes.byte(), await bytes.byte(), await bytes.byte(), await bytes.byte()])
  if (signature.toString('latin1') !== 'PGDMP') throw new Error('no PGDMP signature')
  const major = await bytes.byte()
  const minor = await bytes.byte()
  await bytes.byte()
  const archiveVersion = version(major, minor)
  if (major !== 1 || minor < 10) throw new Error(`archive version ${major}.${minor} is older than this reader knows`)
  bytes.intSize = await bytes.byte()
  const offSize = await bytes.byte()
  const format = await bytes.byte()
  if (archiveVersion >= version(1, 15)) await bytes.byte()
  else await bytes.int()
  for (let i = 0; i < 7; i++) await bytes.int()
  for (let i = 0; i < 3; i++) await bytes.string(false)
  const count = await bytes.int()
  const dataAsStatements: string[] = []
  for (let i = 0; i < count; i++) {
    await bytes.int() // dump id
    await bytes.int() // had dumper
    await bytes.string(false) // table oid
    await bytes.string(false) // oid
    const tag = (await bytes.string()) ?? ''
    const desc = (await bytes.string()) ?? ''
    if (archiveVersion >= version(1, 11)) await bytes.int() // section
    await bytes.string(false) // defn
    await bytes.string(false) // drop statement
    const copy = await bytes.string()
    const namespace = (await bytes.string()) ?? ''
    await bytes.string(false) // tablespace
    if (archiveVersion >= version(1, 14)) await bytes.string(false) // table access method
    if (archiveVersion >= version(1, 16)) await bytes.int() // relkind
    await bytes.string(false) // owner
    await bytes.string(false) // with oids
    while ((await bytes.string(false)) !== null); // dependencies, to a null string
    // Format-specific: custom archives hold the data's offset (a flag byte, then offSize bytes); the others a file name.
    if (format === 1) await bytes.skip(1 + offSize)
    else await bytes.string(false)
    if (desc === 'TABLE DATA' && !copy) dataAsStatements.push(`${namespace} ${tag}`.trim())
  }
  return { entries: count, dataAsStatements }
}
