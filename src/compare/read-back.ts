// The restored tables read back as pg_dump wrote them: the dump's own COPY statements turned into
// COPY ... TO STDOUT, in the session settings pg_dump uses, by a few psql sessions side by side,
// and every line fingerprinted as the dump's lines were. psql moves the rows; this process only
// hashes them, a chunk at a time, so memory stays flat whatever the size of a table.

import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import type pg from 'pg'
import { RowFingerprint, RowLineSplitter } from '../backup/row-fingerprint.js'
import { runTool, type ToolRun } from '../tools/process.js'

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
  psql: string
  /** The client environment for the restored database. */
  env: NodeJS.ProcessEnv
  /** The dump's client encoding: its names and values are read back in it. */
  clientEncoding: string
  settings: OutputSettings
  signal?: AbortSignal
}

export type ReadBackResult = { rows: number; fingerprint: string } | { error: string }

const NL = 10
const MAX_ERROR_LINES = 3

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** What pg_dump sets in its own session, and the output settings its session had. */
function prelude(options: ReadBackSessionOptions): string {
  const { settings } = options
  return [
    `SET client_encoding = ${literal(options.clientEncoding)};`,
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
    ''
  ].join('\n')
}

interface Reading {
  table: ReadBackTable
  print: RowFingerprint
  resolve: (result: ReadBackResult) => void
}

/** One psql session, reading one table at a time, for as long as it is given tables. */
class ReadBackSession {
  private readonly input = new PassThrough()
  private readonly run: Promise<ToolRun>
  private readonly marker: string
  private readonly markerBytes: Buffer
  private reading?: Reading
  private errors: string[] = []
  private ended?: string

  constructor(options: ReadBackSessionOptions, token: string) {
    this.marker = `\\.bv-${token} `
    this.markerBytes = Buffer.from(this.marker, 'latin1')
    this.input.on('error', () => {})
    this.input.write(Buffer.from(prelude(options), 'latin1'))
    this.run = runTool(options.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0'], {
      env: { ...options.env, PGAPPNAME: 'backup-verify read-back' },
      stdin: this.input,
      signal: options.signal,
      onErrorLine: (line) => {
        if (this.errors.length < MAX_ERROR_LINES && line.trim() !== '') this.errors.push(line.trim())
      },
      consumeStdout: (stdout) =>
        new Promise<void>((resolve, reject) => {
          const splitter = new RowLineSplitter((bytes, start, end) => this.lines(bytes, start, end))
          stdout.on('data', (chunk: Buffer) => splitter.push(chunk))
          stdout.once('end', resolve)
          stdout.once('error', reject)
        })
    })
    this.run.then(
      (run) => this.end(run.signal ? `psql was stopped (${run.signal})` : `psql ended (exit code ${run.exitCode})`),
      (error: Error) => this.end(error.message)
    )
  }

  get busy(): boolean {
    return this.reading !== undefined
  }

  /** Reads one table; never rejects (a failure is the result). */
  read(table: ReadBackTable): Promise<ReadBackResult> {
    return new Promise((resolve) => {
      if (this.ended) return resolve({ error: this.ended })
      this.reading = { table, print: new RowFingerprint(), resolve }
      this.errors = []
      // psql's ERROR variable says whether the COPY failed; the marker line ends the table's rows.
      this.input.write(Buffer.from(`${table.statement}\nSELECT ${literal(this.marker)} || :'ERROR';\n`, 'latin1'))
    })
  }

  /** Ends the session's input and waits for psql to exit. */
  async close(): Promise<void> {
    this.input.end()
    await this.run.catch(() => undefined)
  }

  private end(how: string): void {
    this.ended = `${how}${this.errors.length > 0 ? `: ${this.errors.join(' | ')}` : ''}`
    const reading = this.reading
    this.reading = undefined
    reading?.resolve({ error: this.ended })
  }

  /** Whole lines of output: the table's rows, then the line that ends them. */
  private lines(bytes: Buffer, start: number, end: number): void {
    let from = start
    while (from < end) {
      const at = bytes.indexOf(this.markerBytes, from)
      if (at === -1 || at >= end) {
        this.reading?.print.addLines(bytes, from, end)
        return
      }
      // COPY text never holds a lone backslash, so the marker can only be a line of its own.
      if (at > from) this.reading?.print.addLines(bytes, from, at)
      const lineEnd = bytes.indexOf(NL, at)
      this.markerLine(bytes.toString('latin1', at + this.markerBytes.length, lineEnd).trim())
      from = lineEnd + 1
    }
  }

  private markerLine(text: string): void {
    const reading = this.reading
    if (!reading) return
    this.reading = undefined
    reading.resolve(
      text === 'false'
        ? { rows: reading.print.rows, fingerprint: reading.print.toString() }
        : { error: this.errors.join(' | ') || 'psql reported an error' }
    )
  }
}

/** Sessions that read tables back as they are given them, biggest first among those waiting, up to `limit` at once. */
export class ReadBackPool {
  private readonly token = randomBytes(8).toString('hex')
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
        session = new ReadBackSession(this.options, this.token)
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
