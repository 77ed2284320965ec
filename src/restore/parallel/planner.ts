// Reads a plain dump once, in order, and divides it into jobs over byte ranges of the file, as
// pg_restore -j divides an archive: the schema, each table's rows (which several sessions can share),
// each index or key definition (which waits only for its own table's rows), and the rest, which
// runs in the dump's order. The dump is read as psql reads it (PlainDumpLexer): jobs are cut only
// where psql holds no unfinished statement, a statement is recognised by its tokens, never by how a
// line looks, and from the first thing that cannot be followed with certainty, everything runs in
// one session, in order. The bytes are read again from the file, each range checked against the
// CRC-32 it had when planned.

import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { PlainDumpLexer } from '../../backup/plain/lexer.js'
import { copyTable, definitionTable } from '../../backup/plain/statements.js'
import { tokenize } from '../../backup/plain/tokens.js'
import type { DumpStatement, DumpUnit } from '../../backup/plain/units.js'
import { admit, DumpGate, type GateOptions } from '../../backup/gate/dump-gate.js'
import { refusedStatement } from '../../backup/gate/refusal.js'
import type { CopyGuards } from '../psql.js'

export interface ByteRange {
  start: number
  end: number
  crc: number
  /** Complete: later bytes go into a range of their own. */
  sealed?: boolean
  /** Sent instead of the file's bytes start-end: what the gate let through of them (a --create preamble). */
  replacement?: Buffer
}

interface JobBase {
  index: number
  /** Ranges of the file, in order; the last one may still grow while the job is open. */
  ranges: ByteRange[]
  /** No more ranges will be added. */
  closed: boolean
  /** The session settings (SET statements, latin1 text with their line end) the job was written under. */
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
  /** The settings once its own SET statements have run. */
  settingsAfter: Map<string, string>
}

/** A table's rows: the ranges are whole lines, shared out among sessions, each part its own COPY. */
export interface RowsJob extends JobBase {
  kind: 'rows'
  table: string
  /** The COPY statement's own bytes, as the dump has them. */
  copyStatement: Buffer
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
  /** The gate every statement passes (its mode is restore). */
  gate: GateOptions
  /** The run's own \restrict line, which every session runs first (when psql knows \restrict). */
  restrictLine?: string
  /** The session that runs in order goes on after errors: it stops at one from a COPY to its rows' end. */
  copyGuards?: CopyGuards
  /** psql 13 knows no BEGIN ATOMIC body: a semicolon inside one ends its statement there. */
  noAtomicBodies?: boolean
}

/** Post-data entries that touch one table only: safe to run beside other tables' entries. */
const PER_TABLE_TYPES = new Set(['INDEX', 'CONSTRAINT'])
/** Data-section entries that touch no table: they need not wait for rows. */
const INDEPENDENT_TYPES = new Set(['SEQUENCE SET', 'BLOB', 'BLOBS', 'BLOB DATA', 'LARGE OBJECT', 'LARGE OBJECTS', 'LARGE OBJECT DATA'])
/** pg_dump's comment before each entry. A name may hold "; Type: " itself: the entry's statements are checked all the same. */
const ENTRY_HEADER = /^-- (Data for )?Name: .*?; Type: ([A-Z][A-Z ]*?); Schema: /
/** Session state pg_dump sets with SET statements: its preamble, then default_tablespace and the like. */
const SETTING =
  /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout|client_encoding|standard_conforming_strings|check_function_bodies|xmloption|client_min_messages|row_security|default_tablespace|default_table_access_method|default_with_oids|escape_string_warning|session_replication_role|search_path) = [^;\n]*;$/
const SESSION_AUTHORIZATION = /^(?:SET|RESET) SESSION AUTHORIZATION\b[^;\n]*;$/
const SEARCH_PATH = /^SELECT pg_catalog\.set_config\('search_path', '(?:[^'\n]|'')*', false\);$/

interface Entry {
  type: string
  /** "-- Data for Name:": the entry carries a table's rows or large objects' data. */
  data: boolean
}

export class PlainDumpPlanner {
  /** Jobs announced so far; each is the listener's to keep (the planner holds only those still open). */
  private jobCount = 0
  private readonly unclosed = new Set<ReplayJob>()
  /** The run's own \restrict line, else the dump's: every session runs it before anything else. */
  restrictLine: string | undefined
  /** SET statements left out because the server does not know them. */
  readonly removedSettings: string[] = []
  /** Why the dump was not shared out among the sessions from some point on. */
  readonly serialBecause: string[] = []
  private readonly hash = createHash('sha256')
  private readonly lexer: PlainDumpLexer
  private readonly gate: DumpGate
  /** Bytes read so far. */
  private offset = 0
  /** schema: before the first shared rows; parallel: sharing; serial: all the rest in one session. */
  private phase: 'schema' | 'parallel' | 'serial'
  private current: ReplayJob | undefined
  /** The job taking the rows being read: a job of their own, or the job that runs their COPY in order. */
  private copyJob: ReplayJob | undefined
  /** The job that took the first part of a unit handed over in parts. */
  private continuing: ReplayJob | undefined
  private readonly settings = new Map<string, string>()
  private readonly tableNames = new Map<string, string>()
  /** The settings as jobs record them, one map shared by every job until a SET changes them (never changed itself). */
  private settingsSnapshot?: Map<string, string>
  private entry: Entry | undefined
  private seenEntry = false
  private inTransaction = false
  /** The statements of the definition being read, checked when its entry ends. */
  private definitionStatements: DumpStatement[] = []
  private definitionDoubtful = false
  private definitionCopies = false
  /** Jobs given bytes by the chunk being read: their ranges are sealed and announced at its end. */
  private readonly touched = new Set<ReplayJob>()

  constructor(
    private readonly listener: PlanListener,
    private readonly options: PlannerOptions
  ) {
    this.phase = options.parallel ? 'schema' : 'serial'
    this.restrictLine = options.restrictLine
    this.gate = new DumpGate(options.gate)
    this.lexer = new PlainDumpLexer((unit) => this.onUnit(unit), {
      keepBytes: true,
      tokens: this.gate,
      noAtomicBodies: options.noAtomicBodies
    })
  }

  /** The SHA-256 of every byte read, in order (unless told not to hash). */
  digest(): string | undefined {
    return this.options.hash === false ? undefined : this.hash.digest('hex')
  }

  push(chunk: Buffer): void {
    // psql reads a line only up to a NUL byte: what follows it on the line is not what the gate read.
    const nul = chunk.indexOf(0)
    if (nul !== -1)
      throw refusedStatement({
        text: '',
        reason: 'a NUL byte, up to which psql reads a line (the gate reads past it)',
        offset: this.offset + nul
      })
    this.offset += chunk.length
    if (this.options.hash !== false) this.hash.update(chunk)
    this.lexer.push(chunk)
    // What was read is available to run: the scheduler hears of it once per chunk.
    for (const job of this.touched) {
      const last = job.ranges[job.ranges.length - 1]
      if (last) last.sealed = true
      if (job.index >= 0) this.listener.changed(job)
    }
    this.touched.clear()
  }

  end(): void {
    this.lexer.end()
    // What could only be decided at the end (a DROP DATABASE of a name no CREATE DATABASE followed) was left out; it still fails the restore.
    const refused = this.gate.finish().refused[0]
    if (refused) throw refusedStatement(refused)
    this.finishEntry()
    this.closeCurrent()
    for (const job of [...this.unclosed]) this.close(job)
  }

  private onUnit(unit: DumpUnit): void {
    const admission = admit(unit, this.gate.judge(unit))
    // Thrown before any part of it is planned: the scheduler stops every session (killed, never their input ended).
    if ('refused' in admission)
      throw refusedStatement(this.gate.firstRefusal() ?? { text: unit.line, reason: admission.refused, offset: unit.start })
    if (admission.bytes !== unit.chunks) return this.onAdmitted(unit, admission.bytes)
    if (unit.uncertain) this.goSerial(unit.uncertain)
    if (unit.continued && this.continuing) {
      this.appendUnit(this.continuing, unit)
      if (unit.kind !== 'partial') this.continuing = undefined
      return
    }
    switch (unit.kind) {
      case 'partial':
        // Too long to be anything but a statement run in order.
        this.continuing = this.current?.kind === 'definition' ? this.current : this.serialJob(false)
        if (this.current?.kind === 'definition') this.definitionDoubtful = true
        return this.appendUnit(this.continuing, unit)
      case 'rows': {
        const job = this.copyJob ?? this.serialJob(false)
        if (job.kind === 'serial') job.copies = true
        return this.appendUnit(job, unit, true)
      }
      case 'end-of-rows':
        return this.endRows(unit)
      case 'comment':
        return this.onComment(unit)
      case 'meta':
        return this.onMeta(unit)
      case 'statements':
        return this.onStatements(unit)
    }
  }

  /** A unit the gate let through in another form (the --create preamble): run in order, as the gate wrote it. */
  private onAdmitted(unit: DumpUnit, bytes: Buffer[]): void {
    if (bytes.length === 0) return
    const job = this.serialJob(false)
    job.ranges.push({ start: unit.start, end: unit.end, crc: 0, sealed: true, replacement: Buffer.concat(bytes) })
    this.touched.add(job)
  }

  private onComment(unit: DumpUnit): void {
    const header = this.inTransaction ? null : ENTRY_HEADER.exec(unit.line)
    if (header) {
      this.seenEntry = true
      this.finishEntry()
      this.entry = { type: header[2], data: header[1] !== undefined }
      if (this.phase === 'parallel') return this.startEntry(unit)
    }
    // Comments between jobs run nowhere.
    const open = this.openJob()
    if (open) this.appendUnit(open, unit)
  }

  /** The gate lets only the dump's \\restrict and \\unrestrict through, when psql runs under no key of the run's own. */
  private onMeta(unit: DumpUnit): void {
    if (unit.line.startsWith('\\restrict ')) {
      this.restrictLine ??= `${unit.line}\n`
      const job = this.serialJob(false)
      job.restricts = true
      return this.appendUnit(job, unit)
    }
    this.appendUnit(this.serialJob(false), unit)
  }

  private onStatements(unit: DumpUnit): void {
    const { statements } = unit
    for (const statement of statements) {
      const first = tokenize(statement.text, 1)[0]?.text
      if (first === 'begin' || first === 'start') this.inTransaction = true
      else if (first === 'commit' || first === 'end' || first === 'rollback' || first === 'abort') this.inTransaction = false
    }
    const only = statements.length === 1 ? statements[0] : undefined
    if (only && !only.truncated && isSessionSetting(only.text)) return this.onSetting(unit, only.text)
    const copy = statements[statements.length - 1]?.copyIn ? statements[statements.length - 1] : undefined
    if (copy) return this.startCopy(unit, only === copy ? copy : undefined)
    if (this.current?.kind === 'definition') {
      this.definitionStatements.push(...statements)
      return this.appendUnit(this.current, unit)
    }
    this.appendUnit(this.serialJob(false), unit)
  }

  private onSetting(unit: DumpUnit, text: string): void {
    // Only in the preamble, before the first entry: a statement further down is never touched.
    if (!this.seenEntry && this.options.unknownSettings?.some((name) => text.startsWith(`SET ${name} = `))) {
      this.removedSettings.push(text)
      return
    }
    const key = settingKey(text)
    const line = `${text}\n`
    if (this.settings.get(key) !== line) this.settingsSnapshot = undefined
    this.settings.set(key, line)
    // In a serial job the statement runs in order; otherwise (pg_dump writes it before the entry
    // that needs it) it is state for the next job.
    const open = this.openSerial()
    if (open) {
      open.settingsAfter.set(key, line)
      this.appendUnit(open, unit)
    }
  }

  private currentSettings(): Map<string, string> {
    return (this.settingsSnapshot ??= new Map(this.settings))
  }

  private goSerial(reason: string): void {
    if (this.phase === 'serial') return
    this.serialBecause.push(reason)
    this.phase = 'serial'
    this.finishEntry()
    this.closeCurrent()
  }

  private openSerial(): SerialJob | undefined {
    return this.current?.kind === 'serial' && !this.current.closed ? this.current : undefined
  }

  private openJob(): SerialJob | DefinitionJob | undefined {
    return this.current && this.current.kind !== 'rows' && !this.current.closed ? this.current : undefined
  }

  private startEntry(header: DumpUnit): void {
    const type = this.entry?.type ?? ''
    if (PER_TABLE_TYPES.has(type)) {
      this.closeCurrent()
      // Announced once read whole: its statements name its table.
      this.current = {
        kind: 'definition',
        table: '',
        shared: false,
        index: -1,
        ranges: [],
        closed: false,
        settings: this.currentSettings()
      }
      this.definitionStatements = []
      this.definitionDoubtful = false
      this.definitionCopies = false
      this.appendUnit(this.current, header)
    } else if (type === 'TABLE DATA') {
      this.closeCurrent()
    } else {
      this.appendUnit(this.serialJob(INDEPENDENT_TYPES.has(type), true), header)
    }
  }

  /** A definition whose statements all touch one recognised table joins its table's lane; any other runs in order. */
  private finishEntry(): void {
    const job = this.current
    if (job?.kind !== 'definition') return
    this.current = undefined
    const on = this.definitionDoubtful ? undefined : definitionTable(this.definitionStatements)
    if (on) {
      job.table = this.tableName(on.table)
      // A lone CREATE INDEX; statements after it (CLUSTER ON, ...) need more of the table.
      job.shared = on.shared
      this.announce(job)
      this.close(job)
      return
    }
    const serial: SerialJob = {
      ...job,
      kind: 'serial',
      independent: false,
      restricts: false,
      copies: this.definitionCopies,
      settingsAfter: new Map(job.settings)
    }
    this.announce(serial)
    this.close(serial)
  }

  /** The serial job to append to: the open one, or (at a new entry, or none open) a new one. */
  private serialJob(independent: boolean, entry = false): SerialJob {
    const open = this.openSerial()
    // Once serial, everything is one job: it all depends on what came before.
    if (open && (!entry || open.independent === independent || this.phase === 'serial')) return open
    this.closeCurrent()
    const job: SerialJob = {
      kind: 'serial',
      index: -1,
      ranges: [],
      closed: false,
      settings: this.currentSettings(),
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
    job.index = this.jobCount++
    this.unclosed.add(job)
    this.touched.add(job)
  }

  private closeCurrent(): void {
    const current = this.current
    this.current = undefined
    if (current?.kind === 'definition' && current.index < 0) {
      // An entry cut short (the next one began): decided now.
      this.current = current
      this.finishEntry()
      return
    }
    if (current && !current.closed && current.index >= 0) this.close(current)
  }

  /**
   * A COPY: its rows are shared out when it is one of pg_dump's table-data COPY statements
   * (COPY table (columns) FROM stdin;) outside a transaction; any other runs in order, as psql runs it.
   */
  private startCopy(unit: DumpUnit, statement: DumpStatement | undefined): void {
    const table =
      statement && this.phase !== 'serial' && !this.inTransaction && this.entry?.data && this.entry.type === 'TABLE DATA'
        ? copyTable(statement.text)
        : undefined
    if (!table) {
      const definition = this.current?.kind === 'definition' ? this.current : undefined
      if (definition) this.definitionCopies = this.definitionDoubtful = true
      const job = definition ?? this.serialJob(false)
      if (job.kind === 'serial') job.copies = true
      // A job with a COPY runs in order (a definition holding one becomes such a job), in the session that goes on after errors.
      this.guard(job, unit.start, 'stopAtError')
      this.appendUnit(job, unit)
      this.copyJob = job
      return
    }
    this.closeCurrent()
    this.phase = 'parallel'
    const job: RowsJob = {
      kind: 'rows',
      index: -1,
      ranges: [],
      closed: false,
      settings: this.currentSettings(),
      table: this.tableName(table),
      copyStatement: Buffer.concat(unit.chunks),
      bytes: 0
    }
    this.announce(job)
    this.current = job
    this.copyJob = job
  }

  private endRows(unit: DumpUnit): void {
    const job = this.copyJob
    this.copyJob = undefined
    // A rows job ends here: each part of it gets its own "\." line from the scheduler.
    if (job?.kind === 'rows') return this.closeCurrent()
    const runs = job ?? this.serialJob(false)
    this.appendUnit(runs, unit)
    this.guard(runs, unit.end, 'goOn')
  }

  /** One of the guards' lines, in a range of its own at this place of the job. */
  private guard(job: ReplayJob, at: number, which: keyof CopyGuards): void {
    const guards = this.options.copyGuards
    if (!guards) return
    job.ranges.push({ start: at, end: at, crc: 0, sealed: true, replacement: guards[which] })
    this.touched.add(job)
  }

  private appendUnit(job: ReplayJob, unit: DumpUnit, rows = false): void {
    let position = unit.start
    for (const bytes of unit.chunks) {
      this.append(job, bytes, position, rows)
      position += bytes.length
    }
  }

  private append(job: ReplayJob, bytes: Buffer, start: number, rows: boolean): void {
    if (bytes.length === 0) return
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
    this.unclosed.delete(job)
    const last = job.ranges[job.ranges.length - 1]
    if (last) last.sealed = true
    // Exactly as long as it is: an array that grew by push keeps room for more, per job.
    job.ranges = job.ranges.slice()
    this.listener.changed(job)
  }

  /** One string per table, however many jobs name it (tens of thousands of tables). */
  private tableName(table: string): string {
    const kept = this.tableNames.get(table)
    if (kept !== undefined) return kept
    this.tableNames.set(table, table)
    return table
  }
}

function isSessionSetting(text: string): boolean {
  return SETTING.test(text) || SESSION_AUTHORIZATION.test(text) || SEARCH_PATH.test(text)
}

function settingKey(text: string): string {
  if (SEARCH_PATH.test(text)) return 'search_path'
  if (SESSION_AUTHORIZATION.test(text)) return 'session authorization'
  return (SETTING.exec(text) as RegExpExecArray)[1]
}
