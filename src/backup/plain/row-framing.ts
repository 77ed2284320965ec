// COPY data as psql reads it after COPY ... FROM stdin: whole lines of rows up to the "\." line that
// ends them, whatever the chunks they come in; a line cut by a chunk's end waits for the next chunk.

const NL = 10
const CR = 13
const TERMINATOR = Buffer.from('\\.')

/** Where framed rows go, each with the file offset of its first byte. */
export interface RowsListener {
  /** Whole lines of rows. */
  rows(bytes: Buffer, start: number): void
  /** The "\." line that ends them. */
  endOfRows(bytes: Buffer, start: number): void
}

/** Cuts COPY data into whole lines, from a line start to its "\." line; see RowsListener. */
export class CopyRowFraming {
  /** The start of an incomplete last line, carried over to the next chunk. */
  private carry: Buffer[] = []
  private carryLength = 0
  private carryStart = 0

  constructor(private readonly listener: RowsListener) {}

  /**
   * Rows of `chunk` (whose first byte is at file offset `base`) from `from`, a line start: whole
   * lines up to the "\." line; an incomplete last line waits for the next chunk. Returns where it
   * stopped: just after the "\." line, or the chunk's end.
   */
  frame(chunk: Buffer, base: number, from: number): number {
    if (this.carryLength >= 4) {
      // A long row split across chunks (it cannot be the "\." line): wait for its end without copying it again and again.
      const newline = chunk.indexOf(NL, from)
      if (newline === -1) {
        this.carry.push(Buffer.from(chunk.subarray(from)))
        this.carryLength += chunk.length - from
        return chunk.length
      }
      const row = Buffer.concat([...this.carry, chunk.subarray(from, newline + 1)])
      const start = this.carryStart
      this.carry = []
      this.carryLength = 0
      this.listener.rows(row, start)
      return newline + 1
    }
    let data = chunk.subarray(from)
    let dataStart = base + from
    if (this.carryLength > 0) {
      data = Buffer.concat([...this.carry, data])
      dataStart = this.carryStart
      this.carry = []
      this.carryLength = 0
    }
    const terminator = findTerminator(data)
    const rowsEnd = terminator ? terminator.start : data.lastIndexOf(NL) + 1
    if (rowsEnd > 0) this.listener.rows(data.subarray(0, rowsEnd), dataStart)
    if (terminator) {
      this.listener.endOfRows(data.subarray(terminator.start, terminator.end), dataStart + terminator.start)
      return dataStart + terminator.end - base
    }
    this.carry = [Buffer.from(data.subarray(rowsEnd))]
    this.carryLength = data.length - rowsEnd
    this.carryStart = dataStart + rowsEnd
    return chunk.length
  }

  /** The input ended inside rows: what is left of the last line goes too. */
  end(): void {
    if (this.carryLength === 0) return
    const rest = Buffer.concat(this.carry)
    this.carry = []
    this.carryLength = 0
    // "\." as the very last line, without a line end, ends the rows too.
    if (rest.equals(TERMINATOR) || rest.equals(Buffer.from('\\.\r'))) this.listener.endOfRows(rest, this.carryStart)
    else this.listener.rows(rest, this.carryStart)
  }
}

/** The complete "\." line among data that starts at a line start: where it starts and ends. */
function findTerminator(data: Buffer): { start: number; end: number } | undefined {
  for (let at = terminatorAt(data, 0); at !== -1; at = terminatorAt(data, at + 1)) {
    if (data[at + 2] === NL) return { start: at, end: at + 3 }
    if (data[at + 2] === CR && data[at + 3] === NL) return { start: at, end: at + 4 }
  }
  return undefined
}

/** Inside COPY data, from a line start: the next "\." at the start of a line, or -1. Rows escape every backslash. */
function terminatorAt(data: Buffer, from: number): number {
  for (let at = data.indexOf(TERMINATOR, from); at !== -1; at = data.indexOf(TERMINATOR, at + 1)) {
    if (at === from || data[at - 1] === NL) return at
  }
  return -1
}
