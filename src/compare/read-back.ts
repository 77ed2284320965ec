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

export const OUTPUT_SETTING_NAMES = ['TimeZone', 'bytea_output', 'lc_monetary'] as const

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

/**
 * One simple query sent as the bytes it was written in (latin1 text, a character a byte), as psql
 * sends the dump's statements: a name in any encoding reaches the server unchanged. Rows a COPY
 * sends go to onRow; the outcome is the first error, or none.
 */
class RawQuery implements pg.Submittable {
  private failure?: Error

  constructor(
    private readonly text: string,
    private readonly onRow: (row: Buffer) => void,
    private readonly settle: (failure?: Error) => void
  ) {}

  submit(connection: pg.Connection): void {
    const body = Buffer.from(`${this.text}\0`, 'latin1')
    const header = Buffer.alloc(5)
    header[0] = 0x51 // 'Q': a simple query
    header.writeInt32BE(body.length + 4, 1)
    connection.stream.write(Buffer.concat([header, body]))
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.onRow(message.chunk)
  }

  /** A COPY that reads from the client would wait for rows that never come: refused at once. */
  handleCopyInResponse(connection: pg.Connection & { sendCopyFail(message: string): void }): void {
    this.failure ??= new Error('the statement asked to read rows from the client')
    connection.sendCopyFail('backup-verify reads tables back, it sends no rows')
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  /** The server refused the query, or the session was lost: the client drops the query here. */
  handleError(error: Error): void {
    this.settle(this.failure ?? error)
  }

  handleReadyForQuery(): void {
    this.settle(this.failure)
  }
}

/** Sends text as a raw query; resolves with its first error (never rejects). */
function rawQuery(client: pg.Client, text: string, onRow: (row: Buffer) => void): Promise<Error | undefined> {
  return new Promise((resolve) => client.query(new RawQuery(text, onRow, resolve)))
}

/** One session, reading one table at a time, for as long as it is given tables. */
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

  /** Reads one table; never rejects (a failure is the result). */
  async read(table: ReadBackTable): Promise<ReadBackResult> {
    this.busy = true
    try {
      const client = await this.ready
      if (typeof client === 'string') return { error: client }
      const print = new RowFingerprint()
      // The protocol sends each row of a COPY as a message of its own, with its line end.
      const failure = await rawQuery(client, table.statement, (row) => print.addLine(row))
      return failure ? { error: failure.message } : { rows: print.rows, fingerprint: print.toString() }
    } finally {
      this.busy = false
    }
  }

  async close(): Promise<void> {
    const client = await this.ready
    if (typeof client !== 'string') await client.end().catch(() => {})
  }
}

/** Sessions that read tables back as they are given them, biggest first among those waiting, up to `limit` at once. */
export class ReadBackPool {
  private readonly sessions: ReadBackSession[] = []
  private readonly waiting: Array<{ table: ReadBackTable; resolve: (result: ReadBackResult) => void }> = []
  private closed = false

  constructor(
    private readonly options: ReadBackSessionOptions,
    private readonly limit: number
  ) {}

  read(table: ReadBackTable): Promise<ReadBackResult> {
    const result = new Promise<ReadBackResult>((resolve) => this.waiting.push({ table, resolve }))
    this.waiting.sort((a, b) => b.table.weight - a.table.weight)
    this.dispatch()
    return result
  }

  async close(): Promise<void> {
    this.closed = true
    for (const waiting of this.waiting.splice(0)) waiting.resolve({ error: 'the read-back was stopped' })
    await Promise.all(this.sessions.map((session) => session.close()))
  }

  private dispatch(): void {
    while (!this.closed && this.waiting.length > 0) {
      let session = this.sessions.find((candidate) => !candidate.busy)
      if (!session && this.sessions.length < this.limit) {
        session = new ReadBackSession(this.options)
        this.sessions.push(session)
      }
      if (!session) return
      const next = this.waiting.shift() as { table: ReadBackTable; resolve: (result: ReadBackResult) => void }
      void session.read(next.table).then((result) => {
        next.resolve(result)
        this.dispatch()
      })
    }
  }
}
