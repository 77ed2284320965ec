// Recognises a plain-format pg_dump file while its bytes stream past, in constant memory:
// the signature, the completion trailer, readability and the signs of corruption or truncation.
// The dump is read as psql reads it (PlainDumpLexer): a COPY is a statement, not a line that
// looks like one.

import { PlainDumpLexer } from './plain/lexer.js'
import type { DumpUnit } from './plain/units.js'
import { DumpContentCollector, type DumpContent } from './dump-content.js'
import { DumpGate, type GateReport } from './gate/dump-gate.js'
import { decodeDumpText } from './dump-text.js'

export interface PlainScanReport {
  bytes: number
  printableBytes: number
  nulBytes: number
  firstNulOffset?: number
  hasHeader: boolean
  hasTrailer: boolean
  /** Text after the completion trailer that a complete dump never has. */
  contentAfterTrailer?: string
  /** The COPY statement whose data never reached its "\." terminator. */
  unterminatedCopy?: string
  /** Where psql still was when the dump ended, when that was inside a statement (a string, a comment, ...). */
  unfinishedStatement?: string
  copyBlocks: number
  toolErrors: string[]
  restrictKeys: string[]
  unrestrictKeys: string[]
  /** The sequence values the dump sets (pg_catalog.setval statements): "42", or "next 1" when not yet called. */
  sequences: Array<{ sequence: string; value: string }>
  /** Each table's rows and each large object's bytes, fingerprinted (when the scanner was asked to). */
  content?: DumpContent
  /** What the gate made of every statement: refused, left out, code for the server's host. */
  gate: GateReport
}

export interface ScanOptions {
  /** Fingerprint every table's rows and every large object's bytes as they pass (verify level data). */
  content: boolean
  /** The script pg_restore writes for an archive, whose statements pg_restore itself then runs. */
  archive?: boolean
}

export const MIN_PRINTABLE_RATIO = 0.9
const HEADER = '-- PostgreSQL database dump'
const TRAILER = '-- PostgreSQL database dump complete'
/** The header is among the dump's first units (its comment lines). */
const HEADER_WITHIN_UNITS = 5
const MAX_REPORTED = 3
const MAX_SEQUENCES = 100_000
const SETVAL = /^SELECT pg_catalog\.setval\('((?:[^']|'')+)', (-?\d+), (true|false)\);$/
const TOOL_ERROR = /^pg_dump: (error|fatal|warning: could not|\[)|^pg_dump: .*(aborting|could not)/i

// Tab, LF, CR, printable ASCII, and bytes of multi-byte (UTF-8 and other server encodings) characters.
const PRINTABLE = new Uint8Array(256)
for (let b = 0; b < 256; b++) PRINTABLE[b] = b === 9 || b === 10 || b === 13 || (b >= 0x20 && b !== 0x7f) ? 1 : 0
/** Printable bytes in each pair of bytes: half the lookups of a byte at a time. */
const PRINTABLE_PAIRS = new Uint8Array(65536)
for (let pair = 0; pair < 65536; pair++) PRINTABLE_PAIRS[pair] = PRINTABLE[pair & 0xff] + PRINTABLE[pair >>> 8]

/** The printable bytes of a chunk, read four at a time where the chunk is aligned for it. */
function countPrintable(chunk: Uint8Array): number {
  let printable = 0
  let i = 0
  const head = Math.min(chunk.length, (4 - (chunk.byteOffset & 3)) & 3)
  for (; i < head; i++) printable += PRINTABLE[chunk[i]]
  const words = (chunk.length - i) >>> 2
  const aligned = words > 0 ? new Uint32Array(chunk.buffer, chunk.byteOffset + i, words) : new Uint32Array(0)
  for (let w = 0; w < words; w++) {
    const word = aligned[w]
    printable += PRINTABLE_PAIRS[word & 0xffff] + PRINTABLE_PAIRS[word >>> 16]
  }
  for (i += words * 4; i < chunk.length; i++) printable += PRINTABLE[chunk[i]]
  return printable
}

export class PlainDumpScanner {
  private bytes = 0
  private printable = 0
  private nulBytes = 0
  private firstNulOffset?: number
  private readonly lexer: PlainDumpLexer
  private readonly gate: DumpGate
  private readonly content?: DumpContentCollector
  private units = 0
  private beforeFirstStatement = true
  private hasHeader = false
  private trailerSeen = false
  private contentAfterTrailer?: string
  private clientEncoding = 'UTF8'
  private toolErrors: string[] = []
  private restrictKeys: string[] = []
  private unrestrictKeys: string[] = []
  private sequences: Array<{ sequence: string; value: string }> = []
  private finished?: PlainScanReport

  constructor(options: ScanOptions = { content: false }) {
    this.gate = new DumpGate({ untrustedCode: 'report', archive: options.archive })
    this.lexer = new PlainDumpLexer((unit) => this.onUnit(unit), { keepBytes: false, rowBytes: options.content, tokens: this.gate })
    if (options.content) this.content = new DumpContentCollector()
  }

  update(chunk: Buffer): void {
    this.printable += countPrintable(chunk)
    for (let nul = chunk.indexOf(0); nul !== -1; nul = chunk.indexOf(0, nul + 1)) {
      if (this.firstNulOffset === undefined) this.firstNulOffset = this.bytes + nul
      this.nulBytes++
    }
    this.lexer.push(chunk)
    this.bytes += chunk.length
  }

  finish(): PlainScanReport {
    if (this.finished) return this.finished
    const unterminatedCopy = this.lexer.inRows ? this.lexer.openCopy : undefined
    this.lexer.end()
    this.finished = {
      bytes: this.bytes,
      printableBytes: this.printable,
      nulBytes: this.nulBytes,
      firstNulOffset: this.firstNulOffset,
      hasHeader: this.hasHeader,
      hasTrailer: this.trailerSeen && this.contentAfterTrailer === undefined,
      contentAfterTrailer: this.contentAfterTrailer,
      unterminatedCopy,
      unfinishedStatement: unterminatedCopy === undefined ? this.lexer.unfinished : undefined,
      copyBlocks: this.lexer.copies,
      toolErrors: this.toolErrors,
      restrictKeys: this.restrictKeys,
      unrestrictKeys: this.unrestrictKeys,
      sequences: this.sequences,
      content: this.content?.result(this.clientEncoding),
      gate: this.gate.finish()
    }
    return this.finished
  }

  private onUnit(unit: DumpUnit): void {
    this.units++
    this.gate.judge(unit)
    if (unit.kind === 'rows') return this.content?.rows(unit.chunks[0])
    if (unit.kind === 'end-of-rows') return this.content?.copyEnds()
    if (unit.kind === 'partial') return
    if (unit.kind === 'comment') {
      this.content?.comment(unit.line)
      return this.onComment(unit.line)
    }
    this.beforeFirstStatement = false
    if (unit.kind === 'meta') {
      const [command, key = ''] = unit.line.trim().split(/\s+/, 2)
      if (command === '\\restrict') this.restrictKeys.push(key)
      else if (command === '\\unrestrict') this.unrestrictKeys.push(key)
      // After the trailer only the \unrestrict line may come.
      else this.afterTrailer(unit.line)
      return
    }
    for (const statement of unit.statements) {
      if (this.content) {
        if (statement.copyIn) this.content.copyStarts(statement.text)
        else this.content.statement(statement.text)
      }
      this.afterTrailer(statement.text)
      // Text that is not SQL (a tool's error output) runs into the statement after it.
      if (TOOL_ERROR.test(statement.text) && this.toolErrors.length < MAX_REPORTED)
        this.toolErrors.push(statement.text.split('\n')[0].slice(0, 120))
      if (statement.text.startsWith('SET client_encoding')) {
        this.clientEncoding = /'([^']*)'/.exec(statement.text)?.[1] ?? this.clientEncoding
      } else if (statement.text.startsWith('SELECT pg_catalog.setval(') && this.sequences.length < MAX_SEQUENCES) {
        const set = SETVAL.exec(statement.text)
        if (set) {
          const sequence = decodeDumpText(set[1].replace(/''/g, "'"), this.clientEncoding)
          this.sequences.push({ sequence, value: set[3] === 'true' ? set[2] : `next ${set[2]}` })
        }
      }
    }
  }

  private onComment(line: string): void {
    if (this.beforeFirstStatement && this.units <= HEADER_WITHIN_UNITS && line === HEADER) this.hasHeader = true
    if (line === TRAILER) {
      this.trailerSeen = true
      this.contentAfterTrailer = undefined
      return
    }
    if (TOOL_ERROR.test(line) && this.toolErrors.length < MAX_REPORTED) this.toolErrors.push(line.slice(0, 120))
  }

  private afterTrailer(text: string): void {
    if (this.trailerSeen && this.contentAfterTrailer === undefined) this.contentAfterTrailer = text.split('\n')[0].slice(0, 80)
  }
}
