// What a dump holds, from its own bytes as they stream past: each table's rows (the COPY data
// lines, counted and fingerprinted) and each large object's bytes (the lowrite calls, measured and
// hashed). This is exactly what pg_dump read from the source in its snapshot; the restore is
// compared with it row by row without reading the source a second time.

import { createHash, type Hash } from 'node:crypto'
import { parseCopyStatement, type CopyStatement } from './plain/statements.js'
import { RowFingerprint } from './row-fingerprint.js'

interface DumpedTable {
  /** The COPY statement's table and columns as written (latin1 text, one char a byte), and the statement that reads them back. */
  copy: CopyStatement
  rows: number
  /** Bytes of its data lines, for sharing out the work of reading it back. */
  bytes: number
  /** RowFingerprint of the COPY data lines ("copy:" and 16 hex digits). */
  fingerprint: string
}

export interface DumpedLargeObject {
  oid: string
  bytes: number
  /** As the restored side reports it: "md5 " and the MD5 of the bytes. */
  md5: string
}

export interface DumpContent {
  /** The client encoding the dump's text is in (its SET client_encoding). */
  clientEncoding: string
  tables: DumpedTable[]
  largeObjects: DumpedLargeObject[]
  /** COPY blocks whose statement is not one pg_dump writes: their rows are not fingerprinted. */
  unreadCopies: string[]
  /** "15.18 (Debian ...)": the server the dump was taken from, when the dump says so. */
  sourceVersion?: string
}

const LO_OPEN = /^SELECT pg_catalog\.lo_open\('(\d+)', \d+\);$/
const LO_CREATE = /^SELECT pg_catalog\.lo_create\('(\d+)'\);$/
const LO_WRITE = /^SELECT pg_catalog\.lowrite\(0, E?'\\{1,2}x([0-9a-fA-F]*)'\);$/
const LO_CLOSE = 'SELECT pg_catalog.lo_close(0);'
const DUMPED_FROM = '-- Dumped from database version '
const MAX_UNREAD_LISTED = 10

interface OpenObject {
  oid: string
  bytes: number
  hash: Hash
}

export class DumpContentCollector {
  private readonly tables = new Map<string, { copy: CopyStatement; print: RowFingerprint; bytes: number }>()
  private current?: { copy: CopyStatement; print: RowFingerprint; bytes: number }
  private readonly largeObjects = new Map<string, DumpedLargeObject>()
  private openObject?: OpenObject
  private readonly unreadCopies: string[] = []
  private sourceVersion?: string

  /** A COPY ... FROM stdin statement: the rows that follow belong to its table. */
  copyStarts(text: string): void {
    const copy = parseCopyStatement(text)
    if (!copy) {
      this.current = undefined
      if (this.unreadCopies.length < MAX_UNREAD_LISTED) this.unreadCopies.push(text.slice(0, 120))
      return
    }
    let entry = this.tables.get(copy.readBack)
    if (!entry) this.tables.set(copy.readBack, (entry = { copy, print: new RowFingerprint(), bytes: 0 }))
    this.current = entry
  }

  /** Whole lines of COPY data. */
  rows(bytes: Buffer): void {
    if (!this.current) return
    this.current.print.addLines(bytes)
    this.current.bytes += bytes.length
  }

  copyEnds(): void {
    this.current = undefined
  }

  /** Any other statement: large objects are created, opened, written and closed by statements. */
  statement(text: string): void {
    if (!text.startsWith('SELECT pg_catalog.lo')) return
    if (this.openObject) {
      const write = LO_WRITE.exec(text)
      if (write) {
        const bytes = Buffer.from(write[1], 'hex')
        this.openObject.hash.update(bytes)
        this.openObject.bytes += bytes.length
        return
      }
      if (text === LO_CLOSE) return this.closeObject()
    }
    const created = LO_CREATE.exec(text)
    if (created && !this.largeObjects.has(created[1])) {
      this.largeObjects.set(created[1], { oid: created[1], bytes: 0, md5: `md5 ${createHash('md5').digest('hex')}` })
      return
    }
    const opened = LO_OPEN.exec(text)
    if (opened) {
      this.closeObject()
      this.openObject = { oid: opened[1], bytes: 0, hash: createHash('md5') }
    }
  }

  comment(line: string): void {
    if (this.sourceVersion === undefined && line.startsWith(DUMPED_FROM)) this.sourceVersion = line.slice(DUMPED_FROM.length).trim()
  }

  result(clientEncoding: string): DumpContent {
    this.closeObject()
    return {
      clientEncoding,
      tables: [...this.tables.values()].map(({ copy, print, bytes }) => ({ copy, rows: print.rows, bytes, fingerprint: print.toString() })),
      largeObjects: [...this.largeObjects.values()],
      unreadCopies: this.unreadCopies,
      sourceVersion: this.sourceVersion
    }
  }

  private closeObject(): void {
    const open = this.openObject
    if (!open) return
    this.openObject = undefined
    this.largeObjects.set(open.oid, { oid: open.oid, bytes: open.bytes, md5: `md5 ${open.hash.digest('hex')}` })
  }
}
