// Recognises a plain-format pg_dump file while its bytes stream past, in constant memory:
// the signature, the completion trailer, readability and the signs of corruption or truncation.

export interface ValidationCheck {
  name: string
  passed: boolean
  detail: string
}

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
  copyBlocks: number
  toolErrors: string[]
  restrictKeys: string[]
  unrestrictKeys: string[]
  /** The sequence values the dump sets (pg_catalog.setval lines): "42", or "next 1" when not yet called. */
  sequences: Array<{ sequence: string; value: string }>
}

export const MIN_PRINTABLE_RATIO = 0.9
const HEADER = '-- PostgreSQL database dump'
const TRAILER = '-- PostgreSQL database dump complete'
/** The first bytes of each line are all the checks need; long lines (COPY rows) are only counted. */
const PREFIX_BYTES = 320
const SUFFIX_BYTES = 16
const HEADER_WITHIN_LINES = 5
const MAX_REPORTED = 3
const MAX_SEQUENCES = 100_000
const SETVAL = /^SELECT pg_catalog\.setval\('((?:[^']|'')+)', (-?\d+), (true|false)\);$/

// Tab, LF, CR, printable ASCII, and bytes of multi-byte (UTF-8 and other server encodings) characters.
const PRINTABLE = new Uint8Array(256)
for (let b = 0; b < 256; b++) PRINTABLE[b] = b === 9 || b === 10 || b === 13 || (b >= 0x20 && b !== 0x7f) ? 1 : 0
/** Printable bytes in each pair of bytes: half the lookups of a byte at a time. */
const PRINTABLE_PAIRS = new Uint8Array(65536)
for (let pair = 0; pair < 65536; pair++) PRINTABLE_PAIRS[pair] = PRINTABLE[pair & 0xff] + PRINTABLE[pair >>> 8]
const TERMINATOR = Buffer.from('\\.')

/** The printable bytes of a chunk, read four at a time where the chunk is aligned for it. */
export function countPrintable(chunk: Uint8Array): number {
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
  /** Lines read one by one (rows inside COPY data are skipped, not counted). */
  private linesRead = 0
  private prefix = Buffer.alloc(PREFIX_BYTES)
  private prefixLength = 0
  private suffix = Buffer.alloc(SUFFIX_BYTES)
  private suffixLength = 0
  private lineBytes = 0
  private inCopy: string | undefined
  private copyBlocks = 0
  private hasHeader = false
  private trailerLine = 0
  private contentAfterTrailer?: string
  private toolErrors: string[] = []
  private restrictKeys: string[] = []
  private unrestrictKeys: string[] = []
  private sequences: Array<{ sequence: string; value: string }> = []

  update(chunk: Buffer): void {
    this.printable += countPrintable(chunk)
    for (let nul = chunk.indexOf(0); nul !== -1; nul = chunk.indexOf(0, nul + 1)) {
      if (this.firstNulOffset === undefined) this.firstNulOffset = this.bytes + nul
      this.nulBytes++
    }
    let start = 0
    while (start < chunk.length) {
      // Rows are the bulk of a dump: from a line start inside COPY data, skip to the "\." line.
      if (this.inCopy !== undefined && this.lineBytes === 0) start = skipRows(chunk, start)
      const newline = chunk.indexOf(10, start)
      const end = newline === -1 ? chunk.length : newline
      this.appendToLine(chunk, start, end)
      if (newline === -1) break
      this.endLine()
      start = newline + 1
    }
    this.bytes += chunk.length
  }

  finish(): PlainScanReport {
    if (this.lineBytes > 0) this.endLine()
    return {
      bytes: this.bytes,
      printableBytes: this.printable,
      nulBytes: this.nulBytes,
      firstNulOffset: this.firstNulOffset,
      hasHeader: this.hasHeader,
      hasTrailer: this.trailerLine > 0 && this.contentAfterTrailer === undefined,
      contentAfterTrailer: this.contentAfterTrailer,
      unterminatedCopy: this.inCopy,
      copyBlocks: this.copyBlocks,
      toolErrors: this.toolErrors,
      restrictKeys: this.restrictKeys,
      unrestrictKeys: this.unrestrictKeys,
      sequences: this.sequences
    }
  }

  private appendToLine(chunk: Uint8Array, start: number, end: number): void {
    const length = end - start
    if (this.prefixLength < PREFIX_BYTES) {
      const take = Math.min(PREFIX_BYTES - this.prefixLength, length)
      this.prefix.set(chunk.subarray(start, start + take), this.prefixLength)
      this.prefixLength += take
    }
    this.lineBytes += length
    // Inside COPY data only the "\." terminator matters; rows are skipped without copying them.
    if (this.inCopy !== undefined) return
    // Keep the last bytes of the line: "COPY ... FROM stdin;" is recognised by its end.
    if (length >= SUFFIX_BYTES) {
      this.suffix.set(chunk.subarray(end - SUFFIX_BYTES, end), 0)
      this.suffixLength = SUFFIX_BYTES
    } else if (length > 0) {
      const keep = Math.min(this.suffixLength, SUFFIX_BYTES - length)
      this.suffix.copyWithin(0, this.suffixLength - keep, this.suffixLength)
      this.suffix.set(chunk.subarray(start, end), keep)
      this.suffixLength = keep + length
    }
  }

  private endLine(): void {
    this.linesRead++
    const prefixLength = this.prefixLength
    this.prefixLength = 0
    this.lineBytes = 0
    if (this.inCopy !== undefined) {
      // Rows are the bulk of a dump: compare bytes instead of building a string for each.
      const length = prefixLength > 0 && this.prefix[prefixLength - 1] === 13 ? prefixLength - 1 : prefixLength
      if (length === 2 && this.prefix[0] === 0x5c && this.prefix[1] === 0x2e) this.inCopy = undefined
      return
    }
    const line = this.prefix.toString('utf8', 0, prefixLength).replace(/\r$/, '')
    const ending = this.suffix.toString('latin1', 0, this.suffixLength).replace(/\r$/, '')
    this.suffixLength = 0
    this.onLine(line, ending)
  }

  private onLine(line: string, ending: string): void {
    if (this.linesRead <= HEADER_WITHIN_LINES && line === HEADER) this.hasHeader = true
    if (line === TRAILER) {
      this.trailerLine = this.linesRead
      this.contentAfterTrailer = undefined
      return
    }
    if (this.trailerLine > 0 && this.contentAfterTrailer === undefined) {
      const harmless = line.trim() === '' || line.startsWith('--') || line.startsWith('\\unrestrict ')
      if (!harmless) this.contentAfterTrailer = line.slice(0, 80)
    }
    if (isCopyStart(line, ending)) {
      this.inCopy = line.slice(0, 100)
      this.copyBlocks++
    } else if (/^pg_dump: (error|fatal|warning: could not|\[)/i.test(line) || /^pg_dump: .*(aborting|could not)/i.test(line)) {
      if (this.toolErrors.length < MAX_REPORTED) this.toolErrors.push(line.slice(0, 120))
    } else if (line.startsWith('\\restrict ')) {
      this.restrictKeys.push(line.slice('\\restrict '.length).trim())
    } else if (line.startsWith('\\unrestrict ')) {
      this.unrestrictKeys.push(line.slice('\\unrestrict '.length).trim())
    } else if (line.startsWith('SELECT pg_catalog.setval(') && this.sequences.length < MAX_SEQUENCES) {
      const set = SETVAL.exec(line)
      if (set) this.sequences.push({ sequence: set[1].replace(/''/g, "'"), value: set[3] === 'true' ? set[2] : `next ${set[2]}` })
    }
  }
}

/** A line that starts COPY data, as pg_dump writes it (its end is enough: column lists can be long). */
export function isCopyStart(line: string, ending: string): boolean {
  return line.startsWith('COPY ') && ending.endsWith('FROM stdin;')
}

/** Inside COPY data, from a line start: the next "\." at the start of a line, or -1. Rows escape every backslash. */
export function terminatorAt(data: Buffer, from: number): number {
  for (let at = data.indexOf(TERMINATOR, from); at !== -1; at = data.indexOf(TERMINATOR, at + 1)) {
    if (at === from || data[at - 1] === 10) return at
  }
  return -1
}

/**
 * Inside COPY data, from a line start: the start of the "\." line, or of the last (incomplete) line
 * of the chunk, which the line reader then takes.
 */
function skipRows(chunk: Buffer, from: number): number {
  const terminator = terminatorAt(chunk, from)
  if (terminator !== -1) return terminator
  const last = chunk.lastIndexOf(10)
  return last >= from ? last + 1 : from
}

/** Turns a scan into the checks the Validate phase reports, each passed or failed with its reason. */
export function plainDumpChecks(report: PlainScanReport): ValidationCheck[] {
  const checks: ValidationCheck[] = []
  const empty = report.bytes === 0
  checks.push({
    name: 'Format signature',
    passed: report.hasHeader,
    detail: report.hasHeader
      ? 'plain SQL dump ("-- PostgreSQL database dump")'
      : empty
        ? 'the file is empty'
        : 'no "-- PostgreSQL database dump" header in the first lines: not a plain pg_dump file'
  })
  checks.push({
    name: 'Completion trailer',
    passed: report.hasTrailer,
    detail: report.hasTrailer
      ? '"-- PostgreSQL database dump complete" at the end'
      : report.contentAfterTrailer !== undefined
        ? `unexpected content after the completion trailer: ${JSON.stringify(report.contentAfterTrailer)}`
        : `no completion trailer: the dump is truncated (it ends at byte ${report.bytes})`
  })
  const ratio = empty ? 0 : report.printableBytes / report.bytes
  checks.push({
    name: 'Readable text',
    passed: !empty && ratio > MIN_PRINTABLE_RATIO,
    detail: `${(ratio * 100).toFixed(2)}% printable (more than ${MIN_PRINTABLE_RATIO * 100}% required)`
  })
  checks.push({
    name: 'No NUL bytes',
    passed: report.nulBytes === 0,
    detail: report.nulBytes === 0 ? 'none' : `${report.nulBytes} NUL byte(s), the first at offset ${report.firstNulOffset}`
  })
  checks.push({
    name: 'No tool errors inside',
    passed: report.toolErrors.length === 0,
    detail: report.toolErrors.length === 0 ? 'none' : `the file contains error output: ${report.toolErrors.join(' | ')}`
  })
  checks.push({
    name: 'COPY blocks terminated',
    passed: report.unterminatedCopy === undefined,
    detail:
      report.unterminatedCopy === undefined
        ? `${report.copyBlocks} data block(s), all terminated`
        : `data for "${report.unterminatedCopy}" never ends: the dump is cut in the middle of a table`
  })
  const balanced =
    report.restrictKeys.length === report.unrestrictKeys.length &&
    report.restrictKeys.every((key) => report.unrestrictKeys.includes(key))
  checks.push({
    name: '\\restrict pairs',
    passed: balanced,
    detail: balanced
      ? report.restrictKeys.length === 0
        ? 'none (dump from a client before the \\restrict fix)'
        : `${report.restrictKeys.length} \\restrict, matched by \\unrestrict`
      : `${report.restrictKeys.length} \\restrict but ${report.unrestrictKeys.length} matching \\unrestrict`
  })
  return checks
}
