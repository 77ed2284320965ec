// Reads a plain dump once, in order, and divides it into jobs over byte ranges of the file, as
// pg_restore -j divides an archive: the schema, each table's rows (which several sessions can share),
// each index or key definition (which waits only for its own table's rows), and the rest, which
// runs in the dump's order. The jobs are run by the replay scheduler; the bytes are read again from
// the file, each range checked against the CRC-32 it had when planned.

import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { isCopyStart, terminatorAt } from './plain-scanner.js'

export interface ByteRange {
  start: number
  end: number
  crc: number
  /** Complete: later bytes go into a range of their own. */
  sealed?: boolean
}

interface JobBase {
  index: number
  /** Ranges of the file, in order; the last one may still grow while the job is open. */
  ranges: ByteRange[]
  /** No more ranges will be added. */
  closed: boolean
  /** The session settings (SET lines) the job's statements were written under. */
  settings: Map<string, string>
}

/** Statements run in the dump's order. Independent ones (sequence values, large objects) do not wait for rows or indexes. */
export interface SerialJob extends JobBase {
  kind: 'serial'
  independent: boolean
  /** Holds the dump's \restrict line. */
  restricts: boolean
  /** Holds a COPY with its rows, run in order: if it fails, psql reads the rows as statements. */
  copies: boolean
  /** The settings once its own SET lines have run. */
  settingsAfter: Map<string, string>
}

/** A table's rows: the ranges are whole lines, shared out among sessions, each part its own COPY. */
export interface RowsJob extends JobBase {
  kind: 'rows'
  table: string | undefined
  copyStatement: string
  bytes: number
}

/** An index or key on one table: runs after that table's rows, beside other tables' definitions. */
export interface DefinitionJob extends JobBase {
  kind: 'definition'
  table: string
  /** CREATE INDEX: shares its table with other index builds (a key being added needs it alone). */
  shared: boolean
}

export type ReplayJob = SerialJob | RowsJob | DefinitionJob

export interface PlanListener {
  /** A new job, or new bytes (or the end) of an open one. */
  changed(job: ReplayJob): void
}

export interface PlannerOptions {
  /** More than one session: rows and definitions can be shared out. */
  parallel: boolean
  /** Settings the server does not know (a newer pg_dump's preamble): left out of what runs. */
  unknownSettings?: string[]
  /** Hash what is read (not when the chunks come from a reader that hashes them already). */
  hash?: boolean
}

/** Post-data entries that touch one table only: safe to run beside other tables' entries. */
const PER_TABLE_TYPES = new Set(['INDEX', 'CONSTRAINT'])
/** Data-section entries that touch no table: they need not wait for rows. */
const INDEPENDENT_TYPES = new Set(['SEQUENCE SET', 'BLOB', 'BLOBS', 'BLOB DATA', 'LARGE OBJECT', 'LARGE OBJECTS', 'LARGE OBJECT DATA'])
const ENTRY_HEADER = /^-- (?:Data for )?Name: .*?; Type: ([A-Z][A-Z ]*?); Schema: /
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`
const QUALIFIED = String.raw`${IDENTIFIER}(?:\.${IDENTIFIER})?`
const INDEX_ON = new RegExp(String.raw`^CREATE (?:UNIQUE )?INDEX ${IDENTIFIER} ON (?:ONLY )?(${QUALIFIED}) USING `)
const CONSTRAINT_ON = new RegExp(String.raw`^ALTER TABLE (?:ONLY )?(${QUALIFIED})$`)
const COPY_TABLE = new RegExp(String.raw`^COPY (${QUALIFIED})[ (]`)
/** Session state pg_dump sets with SET lines: its preamble, then default_tablespace and the like. */
const SETTING =
  /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout|client_encoding|standard_conforming_strings|check_function_bodies|xmloption|client_min_messages|row_security|default_tablespace|default_table_access_method|default_with_oids|escape_string_warning|session_replication_role|search_path) = .*;$/
const SESSION_AUTHORIZATION = /^(?:SET|RESET) SESSION AUTHORIZATION\b.*;$/
const SEARCH_PATH = /^SELECT pg_catalog\.set_config\('search_path', '.*', false\);$/
const TRANSACTION_START = /^(?:BEGIN|START TRANSACTION)\b/i
const TRANSACTION_END = /^(?:COMMIT|END|ROLLBACK|ABORT)\b/i
/** Only so much of a line is decoded to recognise it; rows and long values are never decoded. */
const RECOGNISED_BYTES = 4096

export class PlainDumpPlanner {
  readonly jobs: ReplayJob[] = []
  /** The dump's \restrict line, which every session runs before anything else. */
  restrictLine: string | undefined
  private readonly hash = createHash('sha256')
  private offset = 0
  /** schema: before the first shared rows; parallel: sharing; serial: all the rest in one session. */
  private phase: 'schema' | 'parallel' | 'serial'
  private pieces: Buffer[] = []
  private pieceStart = 0
  private current: ReplayJob | undefined
  /** The rows being read: a job of their own, or part of a serial job (a COPY psql runs in order). */
  private copy: { job: ReplayJob; carry: Buffer[]; carryStart: number; carryLength: number } | undefined
  private readonly settings = new Map<string, string>()
  private entryType: string | undefined
  private inTransaction = false
  private definitionStatement: string | undefined
  private definitionLines = 0
  /** Jobs given bytes by the chunk being read: their ranges are sealed and announced at its end. */
  private readonly touched = new Set<ReplayJob>()
  /** SET lines left out because the server does not know them. */
  readonly removedSettings: string[] = []
  /** Why the dump was not shared out among the sessions from some point on. */
  readonly serialBecause: string[] = []

  constructor(
    private readonly listener: PlanListener,
    private readonly options: PlannerOptions
  ) {
    this.phase = options.parallel ? 'schema' : 'serial'
  }

  /** The SHA-256 of every byte read, in order (unless told not to hash). */
  digest(): string | undefined {
    return this.options.hash === false ? undefined : this.hash.digest('hex')
  }

  push(chunk: Buffer): void {
    if (this.options.hash !== false) this.hash.update(chunk)
    const base = this.offset
    this.offset += chunk.length
    let position = 0
    while (position < chunk.length) {
      if (this.copy) {
        position = this.copyRows(chunk, base, position)
        continue
      }
      const newline = chunk.indexOf(10, position)
      if (newline === -1) {
        if (this.pieces.length === 0) this.pieceStart = base + position
        this.pieces.push(chunk.subarray(position))
        break
      }
      const start = this.pieces.length === 0 ? base + position : this.pieceStart
      this.pieces.push(chunk.subarray(position, newline + 1))
      const line = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces)
      this.pieces = []
      position = newline + 1
      this.onLine(line, start)
    }
    // What was read is available to run: the scheduler hears of it once per chunk.
    for (const job of this.touched) {
      const last = job.ranges[job.ranges.length - 1]
      if (last) last.sealed = true
      if (job.index >= 0) this.listener.changed(job)
    }
    this.touched.clear()
  }

  end(): void {
    if (this.copy) {
      // Cut inside a table's rows: what there is runs, and psql reports the rest missing.
      const { job, carry, carryStart, carryLength } = this.copy
      if (carryLength > 0) this.append(job, Buffer.concat(carry), carryStart)
      this.copy = undefined
    } else if (this.pieces.length > 0) {
      const line = Buffer.concat(this.pieces)
      this.pieces = []
      this.onLine(line, this.pieceStart)
    }
    this.finishEntry()
    this.closeCurrent()
    for (const job of this.jobs) if (!job.closed) this.close(job)
  }

  private onLine(line: Buffer, start: number): void {
    const text = line.toString('utf8', 0, Math.min(line.length, RECOGNISED_BYTES)).replace(/\r?\n$/, '')
    // Inside an explicit transaction everything stays together, in order.
    const header = this.inTransaction ? null : ENTRY_HEADER.exec(text)
    if (header) {
      this.entryType = header[1]
      if (this.phase === 'parallel') return this.startEntry(header[1], line, start)
    }
    if (line.length <= RECOGNISED_BYTES && (SETTING.test(text) || SESSION_AUTHORIZATION.test(text) || SEARCH_PATH.test(text))) {
      // Only in the preamble, before the first entry: text further down (a function's body) is never touched.
      if (this.entryType === undefined && this.options.unknownSettings?.some((name) => text.startsWith(`SET ${name} = `))) {
        this.removedSettings.push(text)
        return
      }
      const key = settingKey(text)
      this.settings.set(key, `${text}\n`)
      // In a serial job the line runs in order; otherwise it is state for the next job.
      const current = this.openSerial()
      if (current) {
        current.settingsAfter.set(key, `${text}\n`)
        this.append(current, line, start)
      }
      return
    }
    if (this.current?.kind === 'definition') {
      if (text.trim() !== '' && !text.startsWith('--')) {
        this.definitionStatement ??= text
        this.definitionLines++
      }
      this.append(this.current, line, start)
      return
    }
    if (text.startsWith('\\restrict ')) {
      this.restrictLine = `${text}\n`
      const job = this.serialJob(false)
      job.restricts = true
      this.append(job, line, start)
      return
    }
    if (text.startsWith('\\') && !text.startsWith('\\unrestrict ')) {
      // A meta-command (\connect, ...) changes one session: all that follows runs in that session.
      if (this.phase !== 'serial') {
        this.serialBecause.push(`the dump runs a psql meta-command (${text.split(' ')[0]})`)
        this.phase = 'serial'
        this.closeCurrent()
      }
      this.append(this.serialJob(false), line, start)
      return
    }
    const ending = line.toString('latin1', Math.max(0, line.length - 16)).replace(/\r?\n$/, '')
    if (isCopyStart(text, ending)) return this.startCopy(line, start, text)
    const statement = !(text.trim() === '' || text.startsWith('--'))
    if (statement) {
      if (TRANSACTION_START.test(text)) this.inTransaction = true
      else if (TRANSACTION_END.test(text)) this.inTransaction = false
    }
    // Comments between jobs run nowhere; everything else runs in order.
    if (statement || this.openSerial()) this.append(this.serialJob(false), line, start)
  }

  private openSerial(): SerialJob | undefined {
    return this.current?.kind === 'serial' && !this.current.closed ? this.current : undefined
  }

  private startEntry(type: string, line: Buffer, start: number): void {
    this.finishEntry()
    if (PER_TABLE_TYPES.has(type)) {
      this.closeCurrent()
      // Announced once read whole: its statement names its table.
      this.current = { kind: 'definition', table: '', shared: false, index: -1, ranges: [], closed: false, settings: new Map(this.settings) }
      this.definitionStatement = undefined
      this.definitionLines = 0
      this.append(this.current, line, start)
    } else if (type === 'TABLE DATA') {
      this.closeCurrent()
    } else {
      this.append(this.serialJob(INDEPENDENT_TYPES.has(type), true), line, start)
    }
  }

  /** A definition whose table is recognised joins its table's lane; any other runs in order. */
  private finishEntry(): void {
    const job = this.current
    if (job?.kind !== 'definition') return
    this.current = undefined
    const statement = this.definitionStatement
    const table = statement === undefined ? undefined : (INDEX_ON.exec(statement)?.[1] ?? CONSTRAINT_ON.exec(statement)?.[1])
    if (table) {
      job.table = table
      // A lone CREATE INDEX (pg_dump writes it on one line); ALTER lines after it need more of the table.
      job.shared = this.definitionLines === 1 && INDEX_ON.test(statement as string)
      this.announce(job)
      this.close(job)
      return
    }
    const serial: SerialJob = { ...job, kind: 'serial', independent: false, restricts: false, copies: false, settingsAfter: new Map(job.settings) }
    this.announce(serial)
    this.close(serial)
  }

  /** The serial job to append to: the open one, or (at a new entry, or none open) a new one. */
  private serialJob(independent: boolean, entry = false): SerialJob {
    const open = this.openSerial()
    // After a meta-command everything is one job: it all depends on what came before.
    if (open && (!entry || open.independent === independent || this.phase === 'serial')) return open
    this.closeCurrent()
    const job: SerialJob = {
      kind: 'serial',
      index: -1,
      ranges: [],
      closed: false,
      settings: new Map(this.settings),
      independent: independent && this.phase !== 'serial',
      restricts: false,
      copies: false,
      settingsAfter: new Map(this.settings)
    }
    this.announce(job)
    this.current = job
    return job
  }

  private announce(job: ReplayJob): void {
    job.index = this.jobs.length
    this.jobs.push(job)
    this.touched.add(job)
  }

  private closeCurrent(): void {
    const current = this.current
    this.current = undefined
    if (current && !current.closed && current.index >= 0) this.close(current)
  }

  private startCopy(line: Buffer, start: number, text: string): void {
    const shared = this.phase !== 'serial' && !this.inTransaction && this.entryType === 'TABLE DATA'
    if (!shared) {
      const job = this.serialJob(false)
      job.copies = true
      this.append(job, line, start)
      this.copy = { job, carry: [], carryStart: 0, carryLength: 0 }
      return
    }
    this.closeCurrent()
    this.phase = 'parallel'
    const job: RowsJob = {
      kind: 'rows',
      index: -1,
      ranges: [],
      closed: false,
      settings: new Map(this.settings),
      table: COPY_TABLE.exec(text)?.[1],
      copyStatement: line.toString('utf8').replace(/\r?\n$/, '\n'),
      bytes: 0
    }
    this.announce(job)
    this.current = job
    this.copy = { job, carry: [], carryStart: 0, carryLength: 0 }
  }

  /** Rows up to the "\." line; ranges end at line ends so that each can be a COPY of its own. */
  private copyRows(chunk: Buffer, base: number, from: number): number {
    const copy = this.copy as NonNullable<PlainDumpPlanner['copy']>
    // A long row split across chunks: wait for its end without copying it again and again.
    if (copy.carryLength >= 4) {
      const newline = chunk.indexOf(10, from)
      if (newline === -1) {
        copy.carry.push(chunk.subarray(from))
        copy.carryLength += chunk.length - from
        return chunk.length
      }
      const row = Buffer.concat([...copy.carry, chunk.subarray(from, newline + 1)])
      this.append(copy.job, row, copy.carryStart, true)
      copy.carry = []
      copy.carryLength = 0
      return newline + 1
    }
    let data = chunk.subarray(from)
    let dataStart = base + from
    if (copy.carryLength > 0) {
      data = Buffer.concat([...copy.carry, data])
      dataStart = copy.carryStart
      copy.carry = []
      copy.carryLength = 0
    }
    const terminator = findTerminator(data)
    const rowsEnd = terminator ? terminator.start : data.lastIndexOf(10) + 1
    if (rowsEnd > 0) this.append(copy.job, data.subarray(0, rowsEnd), dataStart, true)
    if (terminator) {
      this.copy = undefined
      if (copy.job.kind === 'rows') this.closeCurrent()
      else this.append(copy.job, data.subarray(terminator.start, terminator.end), dataStart + terminator.start)
      return dataStart + terminator.end - base
    }
    // The last line is not complete: it waits for the next chunk (a line is one row).
    copy.carry = [Buffer.from(data.subarray(rowsEnd))]
    copy.carryLength = data.length - rowsEnd
    copy.carryStart = dataStart + rowsEnd
    return chunk.length
  }

  private append(job: ReplayJob, bytes: Buffer, start: number, rows = false): void {
    const last = job.ranges[job.ranges.length - 1]
    // Each chunk of rows is a range of its own: a session can take it as soon as it is read.
    if (last && last.end === start && !last.sealed && !(rows && job.kind === 'rows')) {
      last.crc = crc32(bytes, last.crc)
      last.end += bytes.length
    } else {
      job.ranges.push({ start, end: start + bytes.length, crc: crc32(bytes) })
    }
    if (job.kind === 'rows') job.bytes += bytes.length
    this.touched.add(job)
  }

  private close(job: ReplayJob): void {
    job.closed = true
    const last = job.ranges[job.ranges.length - 1]
    if (last) last.sealed = true
    this.listener.changed(job)
  }
}

function settingKey(text: string): string {
  if (SEARCH_PATH.test(text)) return 'search_path'
  if (SESSION_AUTHORIZATION.test(text)) return 'session authorization'
  return (SETTING.exec(text) as RegExpExecArray)[1]
}

/** The complete "\." line among data that starts at a line start: where it starts and ends. */
function findTerminator(data: Buffer): { start: number; end: number } | undefined {
  // Searching on from at + 1 is safe: that byte is the '.', so no "\." can start there.
  for (let at = terminatorAt(data, 0); at !== -1; at = terminatorAt(data, at + 1)) {
    if (data[at + 2] === 10) return { start: at, end: at + 3 }
    if (data[at + 2] === 13 && data[at + 3] === 10) return { start: at, end: at + 4 }
  }
  return undefined
}
