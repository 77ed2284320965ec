// Runs a plain dump's jobs (see PlainDumpPlanner) over several psql sessions, the way pg_restore -j
// runs an archive: the schema first; then each table's rows, shared out in parts; each index or
// key as soon as its table's rows are in, the largest tables' first; the rest in the dump's order.
// The planner reads the file ahead of the sessions, so indexes of the first tables are built while
// later tables still load.

import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { DefinitionQueue } from './definition-queue.js'
import { PlainDumpPlanner, type ByteRange, type DefinitionJob, type ReplayJob, type RowsJob, type SerialJob } from './planner.js'
import type { GateOptions } from '../../backup/gate/dump-gate.js'
import type { CopyGuards } from '../psql.js'
import { followFile, openGrowingFile, rangeBuffers, readRange, type GrowingFile } from '../../backup/followed-file.js'
import { VerificationError } from '../../run/errors.js'

/**
 * What the scheduler needs of its sessions (psql processes; a recorder in tests). Session 0 runs
 * the statements that go in order and goes on after an error unless strict; the others load rows
 * and build definitions, and stop at their first error, before psql could read rows as statements.
 */
export interface ReplaySessions {
  readonly count: number
  /** Text or bytes for a session; resolves once they are taken (the caller may then fill the buffer again). */
  write(session: number, data: Buffer | string): Promise<void>
  /** Resolves once the session has executed everything queued for it so far. */
  sync(session: number): Promise<void>
  /** Runs what is queued to the end, then replaces the session by a new one. */
  restart(session: number): Promise<void>
}

interface ReplayStatistics {
  /** Tables whose rows were shared out, and the COPY statements they took. */
  tables: number
  copies: number
  /** Index and key definitions built beside other work. */
  definitions: number
}

export interface ReplayResult {
  /** SHA-256 of the file as the replay read it; none when it planned from chunks another reader hashed. */
  sha256: string | undefined
  statistics: ReplayStatistics & {
    /** Why part of the dump ran in one session. */
    serialBecause: string[]
    /** Settings the server does not know, left out. */
    removedSettings: string[]
  }
}

/** A session takes up to this much of a table's rows in one COPY. */
const PART_BYTES = 8 * 1024 * 1024
/** While the table is still being read, a session waits until at least this much is there. */
const MIN_PART_BYTES = 1024 * 1024

interface SessionState {
  busy: boolean
  /** What the session runs, in the user's words (for a stall's message). */
  doing?: string
  settings: Map<string, string>
  restricted: boolean
}

interface RowsProgress {
  job: RowsJob
  /** Ranges handed out so far. */
  next: number
  running: number
}

/** What the scheduler knows of a job, by its index (flags). */
const KNOWN = 1
const STARTED = 2
const FINISHED = 4

class ReplayScheduler {
  private readonly states: SessionState[]
  /** The jobs announced and not finished: a finished one is dropped (a dump may have hundreds of thousands). */
  private readonly jobs = new Map<number, ReplayJob>()
  /** KNOWN, STARTED and FINISHED of each job by index. */
  private flags = new Uint8Array(1024)
  /** One more than the highest index announced. */
  private jobCount = 0
  private finishedCount = 0
  private readonly rows = new Map<number, RowsProgress>()
  /** Per table: rows jobs not finished, the bytes of its rows, and its definitions not started. */
  private readonly pendingRows = new Map<string, number>()
  private readonly rowBytes = new Map<string, number>()
  private readonly definitions = new DefinitionQueue({
    rowsPending: (table) => (this.pendingRows.get(table) ?? 0) > 0,
    rowBytes: (table) => this.rowBytes.get(table) ?? 0,
    building: (table) => this.building.get(table),
    serialBefore: (index) => this.serialBefore(index)
  })
  /** Per table: index builds running (they share the table), or a key being added (it has it alone). */
  private readonly building = new Map<string, { indexes: number; exclusive: boolean }>()
  /** Each session's two buffers for the ranges it sends, made once. */
  private readonly buffers = new Map<number, [Buffer, Buffer]>()
  private rowsRunning = 0
  private firstUnfinished = 0
  private firstUnfinishedSerial = 0
  private planned = false
  private failure: unknown
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined
  readonly statistics: ReplayStatistics = { tables: 0, copies: 0, definitions: 0 }
  /** Bytes sent to the sessions, for the heartbeat. */
  bytesSent = 0

  constructor(
    private readonly sessions: ReplaySessions,
    private readonly file: FileHandle,
    private readonly restrictLine: () => string | undefined,
    /** A SET line as a session gets it, given the line the dump holds. */
    private readonly adjustSetting: (line: string) => string = (line) => line
  ) {
    this.states = Array.from({ length: sessions.count }, () => ({ busy: false, settings: new Map(), restricted: false }))
  }

  /** What each busy session runs, for a stall's message. */
  describeSessions(): string[] {
    return this.states.flatMap((state, session) => (state.busy && state.doing ? [`session ${session}: ${state.doing}`] : []))
  }

  /** The planner announced a job or more of one. */
  changed(job: ReplayJob): void {
    if (!this.has(job.index, KNOWN)) {
      this.mark(job.index, KNOWN)
      this.jobs.set(job.index, job)
      this.jobCount = Math.max(this.jobCount, job.index + 1)
      if (job.kind === 'rows') {
        this.rows.set(job.index, { job, next: 0, running: 0 })
        this.pendingRows.set(job.table, (this.pendingRows.get(job.table) ?? 0) + 1)
        this.statistics.tables++
      } else if (job.kind === 'definition') {
        this.definitions.add(job)
      }
    }
    if (job.kind === 'rows') {
      this.rowBytes.set(job.table, job.bytes)
      // A table without rows has nothing to run: it is done once the planner closes it.
      const progress = this.rows.get(job.index)
      if (progress) this.finishRowsIfComplete(job, progress)
    }
    this.advance()
    this.dispatch()
  }

  /** Everything is planned: the run ends once every job has. */
  planningEnded(): void {
    this.planned = true
    this.dispatch()
  }

  fail(error: unknown): void {
    this.failure ??= error
    this.dispatch()
  }

  get failed(): boolean {
    return this.failure !== undefined
  }

  /** Resolves once every job has run; rejects with the first failure. */
  done(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject }
      this.dispatch()
    })
  }

  private dispatch(): void {
    if (this.failure !== undefined) {
      // Sessions still busy are stopped by whoever started them.
      this.settle?.reject(this.failure)
      return
    }
    for (let session = 0; session < this.states.length; session++) {
      if (this.states[session].busy) continue
      const task = this.pick(session)
      if (!task) continue
      this.states[session].busy = true
      task()
        .then(() => {
          this.states[session].busy = false
          this.states[session].doing = undefined
          this.dispatch()
        })
        .catch((error: unknown) => {
          this.states[session].busy = false
          this.fail(error)
        })
    }
    if (this.planned && this.finishedCount === this.jobCount && this.states.every((state) => !state.busy)) this.settle?.resolve()
  }

  private pick(session: number): (() => Promise<void>) | undefined {
    if (session === 0) {
      const serial = this.jobs.get(this.firstUnfinishedSerial)
      if (serial?.kind !== 'serial' || this.has(serial.index, STARTED)) return undefined
      const ready = serial.independent || this.firstUnfinished === serial.index
      if (!ready || (serial.ranges.length === 0 && !serial.closed)) return undefined
      this.mark(serial.index, STARTED)
      this.states[session].doing =
        `statements in the dump's order (job ${serial.index + 1} of ${this.planned ? this.jobCount : 'those planned so far'})`
      return () => this.runWhole(session, serial)
    }
    const definition = this.definitions.next()
    if (definition) {
      this.mark(definition.index, STARTED)
      const building = this.building.get(definition.table) ?? { indexes: 0, exclusive: false }
      if (definition.shared) building.indexes++
      else building.exclusive = true
      this.building.set(definition.table, building)
      this.states[session].doing = `${definition.shared ? 'an index' : 'a key or index'} on ${definition.table}`
      return () => this.runWhole(session, definition)
    }
    return this.rowsPart(session)
  }

  /** A serial job before this index has not finished (rows and definitions wait for the schema). */
  private serialBefore(index: number): boolean {
    return this.firstUnfinishedSerial < index
  }

  /** The next part of the first table whose rows are waiting: whole lines, up to PART_BYTES. */
  private rowsPart(session: number): (() => Promise<void>) | undefined {
    // While pg_dump still writes, fewer sessions load rows: the dump finishes sooner, and with it
    // the definitions at its end, the long index builds, can start sooner.
    if (!this.planned && this.rowsRunning >= Math.max(1, Math.floor((this.states.length - 1) / 2))) return undefined
    for (const [index, progress] of this.rows) {
      const { job } = progress
      if (this.serialBefore(index)) break
      if (progress.next >= job.ranges.length) continue
      let bytes = 0
      let end = progress.next
      while (end < job.ranges.length && (end === progress.next || bytes + size(job.ranges[end]) <= PART_BYTES))
        bytes += size(job.ranges[end++])
      if (!job.closed && bytes < MIN_PART_BYTES && end === job.ranges.length) continue
      const ranges = job.ranges.slice(progress.next, end)
      progress.next = end
      progress.running++
      this.rowsRunning++
      this.states[session].doing = `rows of ${job.table} (bytes ${ranges[0].start}-${ranges[ranges.length - 1].end} of the file)`
      return async () => {
        await this.runRows(session, job, ranges)
        progress.running--
        this.rowsRunning--
        this.finishRowsIfComplete(job, progress)
      }
    }
    return undefined
  }

  private finishRowsIfComplete(job: RowsJob, progress: RowsProgress): void {
    if (!job.closed || progress.next < job.ranges.length || progress.running > 0 || this.has(job.index, FINISHED)) return
    this.rows.delete(job.index)
    const pending = (this.pendingRows.get(job.table) ?? 1) - 1
    if (pending > 0) this.pendingRows.set(job.table, pending)
    else this.pendingRows.delete(job.table)
    this.definitions.changed(job.table)
    this.finish(job)
  }

  private finish(job: ReplayJob): void {
    this.mark(job.index, FINISHED)
    this.finishedCount++
    // Closed and never read again: it goes, with its ranges.
    this.jobs.delete(job.index)
    this.advance()
  }

  private advance(): void {
    while (this.has(this.firstUnfinished, FINISHED)) this.firstUnfinished++
    const serial = this.firstUnfinishedSerial
    for (;;) {
      const index = this.firstUnfinishedSerial
      if (!this.has(index, FINISHED) && (!this.has(index, KNOWN) || this.jobs.get(index)?.kind === 'serial')) break
      this.firstUnfinishedSerial++
    }
    if (this.firstUnfinishedSerial !== serial) this.definitions.serialAdvanced()
  }

  private has(index: number, flag: number): boolean {
    return index < this.flags.length && (this.flags[index] & flag) !== 0
  }

  private mark(index: number, flag: number): void {
    if (index >= this.flags.length) {
      const grown = new Uint8Array(Math.max(this.flags.length * 2, index + 1))
      grown.set(this.flags)
      this.flags = grown
    }
    this.flags[index] |= flag
  }

  /** A serial job or a definition: all its ranges, in order, in one session. */
  private async runWhole(session: number, job: SerialJob | DefinitionJob): Promise<void> {
    await this.prepare(session, job.settings, job.kind === 'serial' && job.restricts)
    let sent = 0
    for (;;) {
      while (sent < job.ranges.length) await this.send(session, job.ranges[sent++])
      if (job.closed && sent === job.ranges.length) break
      // The planner is still reading this job (the schema, while pg_dump writes it).
      await this.more(job, sent)
    }
    const state = this.states[session]
    if (job.kind === 'serial' && job.copies) {
      // A COPY that failed would leave psql reading rows as statements, and a sync among them.
      await this.sessions.restart(session)
      this.states[session] = { busy: true, settings: new Map(), restricted: false }
    } else {
      await this.sessions.sync(session)
    }
    if (job.kind === 'serial') {
      if (!job.copies) {
        state.settings = new Map(job.settingsAfter)
        if (job.restricts) state.restricted = true
      }
    } else {
      const building = this.building.get(job.table) as { indexes: number; exclusive: boolean }
      if (job.shared) building.indexes--
      else building.exclusive = false
      if (building.indexes === 0 && !building.exclusive) this.building.delete(job.table)
      this.definitions.changed(job.table)
      this.statistics.definitions++
    }
    this.finish(job)
  }

  private async runRows(session: number, job: RowsJob, ranges: ByteRange[]): Promise<void> {
    await this.prepare(session, job.settings, false)
    await this.sessions.write(session, job.copyStatement)
    for (const range of ranges) await this.send(session, range)
    await this.sessions.write(session, '\\.\n')
    this.statistics.copies++
    await this.sessions.sync(session)
  }

  /** The session's state brought to what the job was written under: \restrict first, then SET lines. */
  private async prepare(session: number, settings: Map<string, string>, restrictsItself: boolean): Promise<void> {
    const state = this.states[session]
    let prefix = ''
    const restrict = this.restrictLine()
    if (!state.restricted && restrict && !restrictsItself) {
      prefix += restrict
      state.restricted = true
    }
    for (const [key, line] of settings) {
      if (state.settings.get(key) !== line) {
        prefix += this.adjustSetting(line)
        state.settings.set(key, line)
      }
    }
    // The dump's own bytes (latin1 keeps them as they were), whatever its encoding.
    if (prefix) await this.sessions.write(session, Buffer.from(prefix, 'latin1'))
  }

  /** One range of the file, read again and checked against what the planner read. */
  private async send(session: number, range: ByteRange): Promise<void> {
    if (range.replacement) {
      // What the gate let through of these bytes, in its own words.
      await this.sessions.write(session, range.replacement)
      this.bytesSent += range.end - range.start
      return
    }
    let crc = 0
    let buffers = this.buffers.get(session)
    if (!buffers) this.buffers.set(session, (buffers = rangeBuffers()))
    await readRange(this.file, range.start, range.end, buffers, async (chunk) => {
      crc = crc32(chunk, crc)
      await this.sessions.write(session, chunk)
      this.bytesSent += chunk.length
    })
    if (crc !== range.crc) {
      throw new VerificationError(
        'backup-invalid',
        `The backup changed while it was restored: bytes ${range.start}-${range.end} no longer read as they did a moment before.`,
        'Something wrote to the backup during the verification.'
      )
    }
  }

  private more(job: ReplayJob, seen: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure !== undefined) return reject(this.failure)
        if (job.ranges.length > seen || job.closed) return resolve()
        setTimeout(check, 2)
      }
      check()
    })
  }
}

function size(range: ByteRange): number {
  return range.end - range.start
}

export interface ReplayOptions {
  file: GrowingFile
  /** The file's chunks from a reader that hashes them (the Create phase), instead of a read of its own. */
  chunks?: AsyncIterable<Buffer>
  sessions: ReplaySessions
  unknownSettings: string[]
  signal?: AbortSignal
  /** Called with the scheduler once it exists, for a heartbeat. */
  onStart?: (scheduler: ReplayScheduler) => void
  /** Called once the whole file has been read (the sessions may still be at work). */
  onRead?: () => void
  /** A SET line as a session other than the schema's gets it (those stop at their first error). */
  adjustSetting?: (line: string) => string
  /** The gate every statement passes before a session gets it. */
  gate: GateOptions
  /** The run's own \restrict line, which every session runs first. */
  restrictLine?: string
  /** The session that runs in order goes on after errors: it stops at one from a COPY to its rows' end. */
  copyGuards?: CopyGuards
  /** psql 13 knows no BEGIN ATOMIC body. */
  noAtomicBodies?: boolean
}

/** Plans the dump while it is read and runs the jobs as they become ready. */
export async function replayPlainDump(options: ReplayOptions): Promise<ReplayResult> {
  const handle = await openGrowingFile(options.file, options.signal)
  try {
    // The planner announces jobs to the scheduler, which needs the planner's jobs: joined once both exist.
    const joined: { scheduler?: ReplayScheduler } = {}
    const planner = new PlainDumpPlanner(
      { changed: (job) => joined.scheduler?.changed(job) },
      {
        parallel: options.sessions.count > 1,
        unknownSettings: options.unknownSettings,
        hash: options.chunks === undefined,
        gate: options.gate,
        restrictLine: options.restrictLine,
        copyGuards: options.copyGuards,
        noAtomicBodies: options.noAtomicBodies
      }
    )
    const scheduler = (joined.scheduler = new ReplayScheduler(options.sessions, handle, () => planner.restrictLine, options.adjustSetting))
    options.onStart?.(scheduler)
    const running = scheduler.done()
    // It may fail while the file is still being read: the failure is awaited below.
    running.catch(() => {})
    try {
      for await (const chunk of options.chunks ?? followFile(options.file, options.signal)) {
        if (scheduler.failed) break
        planner.push(chunk)
      }
      planner.end()
      options.onRead?.()
      scheduler.planningEnded()
    } catch (error) {
      scheduler.fail(error)
    }
    await running
    const statistics = { ...scheduler.statistics, serialBecause: planner.serialBecause, removedSettings: planner.removedSettings }
    return { sha256: planner.digest(), statistics }
  } finally {
    await handle.close()
  }
}
