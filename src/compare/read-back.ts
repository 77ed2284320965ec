// The restored tables read back as pg_dump wrote them: the dump's own COPY statements turned into
// COPY ... TO STDOUT, in the session settings pg_dump uses, by a few sessions side by side, and
// every row fingerprinted as the dump's lines were. The server sends each row as one message of the
// protocol; the row is hashed where it arrives, so memory stays flat whatever the size of a table.

import type pg from 'pg'
import { RowFingerprint } from '../backup/row-fingerprint.js'
import { openSession } from '../connection/session.js'
import type { ConnectionTarget } from '../connection/target.js'

/** The settings that change how values print, as the dump's session had them (pg_dump pins the others). */
export interface OutputSettings {
  TimeZone: string
  bytea_output: string
  lc_monetary: string
}

const OUTPUT_SETTING_NAMES = ['TimeZone', 'bytea_output', 'lc_monetary'] as const

/** The output settings a new session of this database and role starts with. */
export async function serverOutputSettings(client: pg.Client): Promise<OutputSettings> {
  const { rows } = await client.query<{ name: string; value: string }>(
    'SELECT name, reset_val AS value FROM pg_catalog.pg_settings WHERE name = ANY($1::text[])',
    [OUTPUT_SETTING_NAMES]
  )
  const values = new Map(rows.map((row) => [row.name, row.value]))
  return {
    TimeZone: values.get('TimeZone') ?? 'UTC',
    bytea_output: values.get('bytea_output') ?? 'hex',
    lc_monetary: values.get('lc_monetary') ?? 'C'
  }
}

export interface ReadBackTable {
  /** Identifies the table in the results. */
  key: string
  /** COPY table (columns) TO STDOUT; as latin1 text, one char a byte, like the dump's own statement. */
  statement: string
  /** Bigger tables start first. */
  weight: number
}

export interface ReadBackSessionOptions {
  target: ConnectionTarget
  /** The restored database. */
  database: string
  /** The dump's client encoding: its names and values are read back in it. */
  clientEncoding: string
  settings: OutputSettings
}

export type ReadBackResult = { rows: number; fingerprint: string } | { error: string }

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** What pg_dump sets in its own session, and the output settings its session had; sent as UTF-8. */
function prelude(options: ReadBackSessionOptions): string {
  const { settings } = options
  return [
    'SET standard_conforming_strings = on;',
    'SET DateStyle = ISO;',
    'SET IntervalStyle = postgres;',
    'SET extra_float_digits = 3;',
    `SET TimeZone = ${literal(settings.TimeZone)};`,
    `SET bytea_output = ${literal(settings.bytea_output)};`,
    `SET lc_monetary = ${literal(settings.lc_monetary)};`,
    "SET search_path = '';",
    'SET row_security = off;',
    'SET statement_timeout = 0;',
    // Last: the whole query is read in the encoding the session had when it arrived (UTF8).
    `SET client_encoding = ${literal(options.clientEncoding)};`
  ].join('\n')
}

const COPY_DATA = 0x64 // 'd'
const COPY_OUT_RESPONSE = 0x48 // 'H'
const COPY_DONE = 0x63 // 'c'
const HEADER_BYTES = 5

type DataListener = (chunk: Buffer) => void

/**
 * The rows of one COPY read off the session's socket here: each CopyData message's row hashed where
 * it lies in the bytes received, without the driver making an object of every message. The first
 * message that is not part of the rows (the command's completion, an error, a notice) and all that
 * follows go back to the driver, which reads them as it always does; rows it is handed after that
 * reach handleCopyData and are hashed the same way.
 */
export class CopyRowReader {
  private readonly driver: DataListener[]
  /**
   * A message that goes on in the next chunks: its parts so far, their length, and the message's
   * length once its header is in (the parts are joined once, when it is whole).
   */
  private pending?: { parts: Buffer[]; length: number; whole?: number }

  constructor(
    private readonly stream: NodeJS.ReadWriteStream,
    private readonly print: RowFingerprint
  ) {
    this.driver = stream.listeners('data') as DataListener[]
    stream.removeAllListeners('data')
    stream.on('data', this.onData)
  }

  private readonly onData = (chunk: Buffer): void => {
    let at = 0
    const pending = this.pending
    if (pending) {
      pending.parts.push(chunk)
      pending.length += chunk.length
      if (pending.length < HEADER_BYTES) return
      const whole = (pending.whole ??= 1 + Buffer.concat(pending.parts, HEADER_BYTES).readUInt32BE(1))
      if (pending.length < whole) return
      this.pending = undefined
      const message = Buffer.concat(pending.parts, whole)
      at = chunk.length - (pending.length - whole)
      if (!this.message(message)) return this.giveBack(message, chunk.subarray(at))
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    while (at + HEADER_BYTES <= chunk.length) {
      const end = at + 1 + chunk.readUInt32BE(at + 1)
      if (end > chunk.length) break
      const code = chunk[at]
      if (code === COPY_DATA) this.print.addLineAt(view, chunk, at + HEADER_BYTES, end)
      else if (code !== COPY_OUT_RESPONSE && code !== COPY_DONE) return this.giveBack(chunk.subarray(at))
      at = end
    }
    if (at < chunk.length) this.pending = { parts: [chunk.subarray(at)], length: chunk.length - at }
  }

  /** One whole message on its own: false when it is not part of the rows. */
  private message(bytes: Buffer): boolean {
    const code = bytes[0]
    if (code === COPY_DATA) {
      this.print.addLineAt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, HEADER_BYTES, bytes.length)
      return true
    }
    return code === COPY_OUT_RESPONSE || code === COPY_DONE
  }

  /** The driver reads the session again, from these bytes on. */
  private giveBack(...rest: Buffer[]): void {
    this.stream.removeListener('data', this.onData)
    for (const listener of this.driver) this.stream.on('data', listener)
    for (const bytes of rest) for (const listener of this.driver) listener.call(this.stream, bytes)
  }
}

/**
 * One simple query sent as the bytes it was written in (latin1 text, a character a byte), as psql
 * sends the dump's statements: a name in any encoding reaches the server unchanged. It may hold
 * several COPY statements: the rows of each go to its own print, the next once the server says the
 * one before is complete. The outcome: how many completed, and the first error.
 */
class RawQuery implements pg.Submittable {
  private failure?: Error
  private completed = 0

  constructor(
    private readonly text: string,
    private readonly prints: RowFingerprint[],
    private readonly settle: (outcome: { completed: number; failure?: Error }) => void
  ) {}

  submit(connection: pg.Connection): void {
    const body = Buffer.from(`${this.text}\0`, 'latin1')
    const header = Buffer.alloc(5)
    header[0] = 0x51 // 'Q': a simple query
    header.writeInt32BE(body.length + 4, 1)
    // The driver has read everything the server sent before this query (it was ready for it).
    new CopyRowReader(connection.stream, this.prints[0])
    connection.stream.write(Buffer.concat([header, body]))
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.prints[this.completed]?.addLine(message.chunk)
  }

  /** A COPY that reads from the client would wait for rows that never come: refused at once. */
  handleCopyInResponse(connection: pg.Connection & { sendCopyFail(message: string): void }): void {
    this.failure ??= new Error('the statement asked to read rows from the client')
    connection.sendCopyFail('backup-verify reads tables back, it sends no rows')
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {
    this.completed++
  }
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  /** The server refused the query, or the session was lost: the client drops the query here. */
  handleError(error: Error): void {
    this.settle({ completed: this.completed, failure: this.failure ?? error })
  }

  handleReadyForQuery(): void {
    this.settle({ completed: this.completed, failure: this.failure })
  }
}

/** Sends text as a raw query, the rows of its statements into prints; never rejects. */
function rawQuery(client: pg.Client, text: string, prints: RowFingerprint[]): Promise<{ completed: number; failure?: Error }> {
  return new Promise((resolve) => client.query(new RawQuery(text, prints, resolve)))
}

/** One session, reading a table, or a few small ones in one round trip, for as long as it is given tables. */
class ReadBackSession {
  private readonly ready: Promise<pg.Client | string>
  busy = false

  constructor(options: ReadBackSessionOptions) {
    this.ready = openSession(options.target, options.database).then(
      async (client) => {
        const failure = await client.query(prelude(options)).then(
          () => undefined,
          (error: Error) => error
        )
        return failure ? `the session settings were refused: ${failure.message}` : client
      },
      (error: Error) => `no session: ${error.message}`
    )
  }

  /**
   * Reads the tables with one query; never rejects (a failure is the result). After a statement
   * fails the server runs none of the rest: those have no result, to be read again on their own.
   */
  async read(tables: ReadBackTable[]): Promise<Array<ReadBackResult | undefined>> {
    this.busy = true
    try {
      const client = await this.ready
      if (typeof client === 'string') return tables.map(() => ({ error: client }))
      const prints = tables.map(() => new RowFingerprint())
      // The protocol sends each row of a COPY as a message of its own, with its line end.
      const { completed, failure } = await rawQuery(client, tables.map((table) => table.statement).join('\n'), prints)
      return tables.map((_, index) =>
        index < completed
          ? { rows: prints[index].rows, fingerprint: prints[index].toString() }
          : index === completed && failure
            ? { error: failure.message }
            : undefined
      )
    } finally {
      this.busy = false
    }
  }

  async close(): Promise<void> {
    const client = await this.ready
    if (typeof client !== 'string') await client.end().catch(() => {})
  }
}

/** A table whose rows in the dump are at most this size is read with others in one round trip... */
const SMALL_TABLE_BYTES = 64 * 1024
/** ...up to this many tables, and this many bytes, in one query. */
const BATCH_TABLES = 100
const BATCH_BYTES = 1024 * 1024

interface Waiting {
  table: ReadBackTable
  resolve: (result: ReadBackResult) => void
  /** Read again on its own: a query it shared stopped at another table's error. */
  alone?: boolean
}

/**
 * Sessions that read tables back as they are given them, biggest first among those waiting, up to
 * `limit` at once; small tables go several to a query, so that thousands of them do not cost a round
 * trip each.
 */
export class ReadBackPool {
  private readonly sessions: ReadBackSession[] = []
  /** Smallest first: the biggest is taken off the end. */
  private readonly waiting: Waiting[] = []
  private sorted = true
  private planned = false
  private closed = false

  constructor(
    private readonly options: ReadBackSessionOptions,
    private readonly limit: number
  ) {}

  read(table: ReadBackTable): Promise<ReadBackResult> {
    return new Promise<ReadBackResult>((resolve) => this.wait({ table, resolve }))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const waiting of this.waiting.splice(0)) waiting.resolve({ error: 'the read-back was stopped' })
    await Promise.all(this.sessions.map((session) => session.close()))
  }

  /** Tables asked for together are sorted once, when the caller has asked for them all. */
  private wait(entry: Waiting): void {
    this.waiting.push(entry)
    this.sorted = false
    if (this.planned) return
    this.planned = true
    queueMicrotask(() => {
      this.planned = false
      this.dispatch()
    })
  }

  private dispatch(): void {
    if (!this.sorted) {
      this.waiting.sort((a, b) => a.table.weight - b.table.weight)
      this.sorted = true
    }
    while (!this.closed && this.waiting.length > 0) {
      let session = this.sessions.find((candidate) => !candidate.busy)
      if (!session && this.sessions.length < this.limit) {
        session = new ReadBackSession(this.options)
        this.sessions.push(session)
      }
      if (!session) return
      const batch = this.nextBatch()
      void session.read(batch.map((entry) => entry.table)).then((results) => {
        batch.forEach((entry, index) => {
          const result = results[index]
          if (result) entry.resolve(result)
          else this.wait({ ...entry, alone: true })
        })
        this.dispatch()
      })
    }
  }

  /** The biggest table waiting, and with a small one the next small ones. */
  private nextBatch(): Waiting[] {
    const batch = [this.waiting.pop() as Waiting]
    let bytes = batch[0].table.weight
    if (batch[0].alone || bytes > SMALL_TABLE_BYTES) return batch
    for (let next = this.waiting.at(-1); next && !next.alone; next = this.waiting.at(-1)) {
      if (batch.length >= BATCH_TABLES || bytes + next.table.weight > BATCH_BYTES) break
      batch.push(this.waiting.pop() as Waiting)
      bytes += next.table.weight
    }
    return batch
  }
}
