// The team's own checks on the restored copy (input checks): SQL assertions, each run alone in a
// read-only transaction with a statement timeout. One passes when it returns one row of one column
// that is true, or, written with "-- expect: empty", no row at all. The application's own time of
// its newest data (input freshness-query) is asked the same way, and must answer one time.

import { readFile } from 'node:fs/promises'
import type pg from 'pg'
import { InputError } from '../run/errors.js'
import { Input } from '../run/names.js'

/** What a check must return: one true value, no row, or (freshness-query) one time. */
type Expectation = 'true' | 'empty' | 'time'

export interface Check {
  name: string
  query: string
  expect: Expectation
}

/** freshness-query, asked as a check whose answer is the time of the copy's newest data. */
export function freshnessCheck(query: string): Check {
  return { name: Input.FreshnessQuery, query: query.trim().replace(/;\s*$/, '').trim(), expect: 'time' }
}

/** One of the team's own checks (input checks), run on the restored copy. */
export interface CheckOutcome {
  name: string
  query: string
  expect: Expectation
  status: 'passed' | 'failed' | 'error'
  /** What it returned, or the server's words. */
  detail: string
  /** A failing check's first rows, each as "a | b | c". */
  rows?: string[]
  ms: number
}

/** How many of a failing check's rows the summary shows. */
const ROWS_SHOWN = 5

/**
 * Checks from the input's text or a .sql file's. A check ends at a line ending in ";" (and, in the
 * input's own text, at the end of every line); "-- name: ..." names the next one, "-- expect: empty"
 * says it must return no row; other comments and blank lines are left out.
 */
export function parseChecks(text: string, oneLineEach: boolean): Check[] {
  const checks: Check[] = []
  let lines: string[] = []
  let name: string | undefined
  let expect: Expectation = 'true'
  const flush = () => {
    const query = lines.join('\n').trim().replace(/;\s*$/, '').trim()
    if (query !== '') {
      checks.push({ name: name ?? `check ${checks.length + 1}`, query, expect })
      name = undefined
      expect = 'true'
    }
    lines = []
  }
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim()
    const named = /^--\s*name:\s*(.+)$/i.exec(trimmed)
    const expected = /^--\s*expect:\s*(\S+)/i.exec(trimmed)
    if (named) {
      flush()
      name = named[1].trim()
    } else if (expected) {
      expect = expected[1].toLowerCase() === 'empty' ? 'empty' : 'true'
    } else if (trimmed === '' || trimmed.startsWith('--')) {
      if (trimmed === '') flush()
    } else {
      lines.push(line)
      if (oneLineEach || trimmed.endsWith(';')) flush()
    }
  }
  flush()
  return checks
}

/** A value as the summary shows it: text, at most 200 characters. */
function shown(value: unknown): string {
  const text =
    value === null
      ? 'NULL'
      : value instanceof Date
        ? value.toISOString()
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** The one time one row of one column holds: a timestamp or a date, or text in a form Date reads (ISO 8601). */
function timeOf(rows: unknown[][]): Date | undefined {
  if (rows.length !== 1 || rows[0].length !== 1) return undefined
  const value = rows[0][0]
  const time = value instanceof Date ? value : typeof value === 'string' && /^\d{4}-\d\d-\d\d/.test(value) ? new Date(value) : undefined
  return time && !Number.isNaN(time.getTime()) ? time : undefined
}

/** Runs every check, one after the other, each in a transaction of its own that is rolled back. */
export async function runChecks(
  client: pg.Client,
  checks: Check[],
  timeoutMs: number,
  redact: (text: string) => string
): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = []
  for (const check of checks) {
    const started = Date.now()
    const outcome: CheckOutcome = {
      name: redact(check.name),
      query: redact(check.query),
      expect: check.expect,
      status: 'passed',
      detail: '',
      ms: 0
    }
    try {
      await client.query('BEGIN TRANSACTION READ ONLY')
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`)
      const answered = await client.query({ text: check.query, rowMode: 'array' })
      const result = Array.isArray(answered) ? (answered.at(-1) as pg.QueryArrayResult) : answered
      const rows = result.rows as unknown[][]
      const sample = rows.slice(0, ROWS_SHOWN).map((row) => redact(row.map(shown).join(' | ')))
      if (check.expect === 'empty') {
        if (rows.length > 0) Object.assign(outcome, { status: 'failed', detail: `${rows.length} row(s), none expected`, rows: sample })
        else outcome.detail = 'no row, as expected'
      } else if (check.expect === 'time') {
        const at = timeOf(rows)
        if (at) outcome.detail = at.toISOString()
        else {
          const said =
            rows.length !== 1 || rows[0].length !== 1
              ? `${rows.length} row(s) of ${result.fields.length} column(s), not one time`
              : rows[0][0] === null
                ? 'NULL, not a time: no row holds one in the copy'
                : `${shown(rows[0][0])}, not a time`
          Object.assign(outcome, { status: 'failed', detail: redact(said), rows: sample })
        }
      } else if (rows.length === 1 && rows[0].length === 1 && rows[0][0] === true) {
        outcome.detail = 'true'
      } else {
        const said =
          rows.length !== 1 || rows[0].length !== 1
            ? `${rows.length} row(s) of ${result.fields.length} column(s), not one row of one true value`
            : `${shown(rows[0][0])}, not true`
        Object.assign(outcome, { status: 'failed', detail: redact(said), rows: sample })
      }
    } catch (error) {
      const message = (error as Error).message
      const timedOut = /canceling statement due to statement timeout/.test(message)
      outcome.status = 'error'
      outcome.detail = redact(timedOut ? `stopped after ${timeoutMs / 1000} s (checks-timeout): ${message}` : `the server said: ${message}`)
    } finally {
      await client.query('ROLLBACK').catch(() => {})
    }
    outcome.ms = Date.now() - started
    outcomes.push(outcome)
  }
  return outcomes
}

/** The checks an input gives: its own lines, or the .sql file it names; none, or a file that cannot be read, is refused before connecting. */
export async function readChecks(given: { text: string } | { path: string; given: string }): Promise<Check[]> {
  const input = 'text' in given ? given.text : given.given
  let text: string
  if ('text' in given) text = given.text
  else {
    try {
      text = await readFile(given.path, 'utf8')
    } catch (error) {
      throw new InputError(
        Input.Checks,
        input,
        `a .sql file of checks that can be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}), or the checks themselves, one per line`
      )
    }
  }
  refuseControlCharacters(Input.Checks, input, text)
  const checks = parseChecks(text, 'text' in given)
  if (checks.length === 0)
    throw new InputError(Input.Checks, input, 'at least one SQL query: one per line, or a .sql file of them, each ending with ";"')
  return checks
}

/** No SQL holds a control character outside a string; one in a query input is a paste or a file that is not SQL. */
export function refuseControlCharacters(input: string, given: string, text: string): void {
  const characters = [...text]
  const at = characters.findIndex((character) => {
    const code = character.charCodeAt(0)
    return (code < 0x20 && character !== '\t' && character !== '\n' && character !== '\r') || code === 0x7f
  })
  if (at < 0) return
  const line = characters.slice(0, at).filter((character) => character === '\n').length + 1
  const code = characters[at].charCodeAt(0)
  throw new InputError(
    input,
    given,
    `SQL text: line ${line} holds the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  )
}
