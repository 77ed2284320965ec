// A plain dump on its way into one psql session, through the gate (DumpGate): what may run is passed
// on as the dump has it, the --create preamble as the temporary database needs it, and a refused
// statement stops the restore before psql has it whole. psql starts under a \restrict key of the
// run's own, so that no meta-command can run whatever reached it.

import { Transform, type TransformCallback } from 'node:stream'
import { admit, DumpGate, type GateOptions } from '../backup/gate/dump-gate.js'
import { PlainDumpLexer } from '../backup/plain/lexer.js'
import type { DumpUnit } from '../backup/plain/units.js'
import { refusedStatement } from '../backup/gate/refusal.js'
import type { VerificationError } from '../run/errors.js'
import { readerStopped } from '../tools/process.js'
import type { CopyGuards } from './psql.js'
import { StatementLines } from './statement-lines.js'

export class GatedScript extends Transform {
  private readonly gate: DumpGate
  private readonly lexer: PlainDumpLexer
  private admitted: Buffer[] = []
  /** The whole script went through: its end may reach psql. */
  private flushed = false
  private offset = 0
  private refusal: VerificationError | undefined
  private started = false
  /** Which statement ends on each line psql reads, for the errors psql reports by line. */
  readonly lines = new StatementLines()

  /**
   * onRefused stops psql before this stream fails: psql runs an unfinished statement it holds once
   * its input ends, so its input must not end while it holds part of a refused one.
   */
  constructor(
    options: GateOptions,
    private readonly restrictLine: string | undefined,
    private readonly onRefused: (error: Error) => void,
    /** For a psql that goes on after errors: it stops at one from a COPY to its rows' end. */
    private readonly guards?: CopyGuards,
    /** How psql reads: psql 13 knows no BEGIN ATOMIC body. */
    reading: { noAtomicBodies?: boolean } = {}
  ) {
    super()
    this.gate = new DumpGate(options)
    this.lexer = new PlainDumpLexer((unit) => this.onUnit(unit), { keepBytes: true, tokens: this.gate, ...reading })
    if (restrictLine) this.lines.passed(restrictLine)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.started) {
      this.started = true
      if (this.restrictLine) this.push(Buffer.from(this.restrictLine))
    }
    // psql reads a line only up to a NUL byte: what follows it on the line is not what the gate read.
    const nul = chunk.indexOf(0)
    if (nul !== -1 && !this.refusal)
      this.refuse('a NUL byte, up to which psql reads a line (the gate reads past it)', undefined, this.offset + nul)
    this.offset += chunk.length
    if (!this.refusal) {
      try {
        this.lexer.push(chunk)
      } catch (error) {
        this.onRefused(error as Error)
        return callback(error as Error)
      }
    }
    this.pass(callback)
  }

  override _flush(callback: TransformCallback): void {
    this.lexer.end()
    const report = this.gate.finish()
    // What only the dump's end decides (a DROP DATABASE no CREATE DATABASE followed) was left out; it still stops the restore.
    if (!this.refusal && report.refusedTotal > 0) this.refusal = refusedStatement(report.refused[0])
    this.flushed = !this.refusal
    this.pass(callback)
  }

  /**
   * The script stops before its end (the backup could not be read or decompressed, the run was
   * stopped): psql is stopped first, for it would run an unfinished statement it holds once its
   * input ended. psql that stopped reading itself (at its first error) tells why by its exit.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.flushed && !this.refusal && !readerStopped(error)) this.onRefused(error ?? new Error('the backup stopped before its end'))
    callback(error)
  }

  private pass(callback: TransformCallback): void {
    if (this.refusal) {
      this.onRefused(this.refusal)
      return callback(this.refusal)
    }
    for (const bytes of this.admitted) this.push(bytes)
    this.admitted = []
    callback()
  }

  private onUnit(unit: DumpUnit): void {
    if (this.refusal) return
    const admission = admit(unit, this.gate.judge(unit))
    if ('refused' in admission) return this.refuse(admission.refused, unit)
    // The lexer's bytes are views of the chunk being read, which is the stream's own: passed on as they are.
    // The gate lets a COPY through only on a line of its own (neither shared nor cut in parts).
    const copies = this.guards && unit.kind === 'statements' && unit.statements.length === 1 && unit.statements[0].copyIn
    if (copies) this.ownLine(this.guards!.stopAtError)
    for (const bytes of admission.bytes) this.admitted.push(bytes)
    this.lines.unit(unit, admission.bytes)
    if (this.guards && unit.kind === 'end-of-rows') this.ownLine(this.guards.goOn)
  }

  /** A line of the run's own. */
  private ownLine(bytes: Buffer): void {
    this.admitted.push(bytes)
    this.lines.passed(bytes)
  }

  private refuse(reason: string, unit?: DumpUnit, offset = unit?.start ?? 0): void {
    this.refusal = refusedStatement((unit && this.gate.firstRefusal()) || { text: unit?.line ?? '', reason, offset })
  }
}
