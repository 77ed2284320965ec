// psql as the restore runs it: its command line, a script on its standard input, and its failure
// in the user's terms.

import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { VerificationError } from '../run/errors.js'
import type { ToolVersion } from '../tools/version.js'
import { errorLines, runTool, type ToolRun } from '../tools/process.js'
import type { RestoreContext } from './context.js'
import { restoreFailure } from './errors.js'

/** The minor releases of each major whose psql knows \\restrict (August 2025); every later major does. */
const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 }

/**
 * A \\restrict line with a key of this run's own, for a psql that knows it: after it, psql refuses
 * every meta-command but \\unrestrict with that key, which nothing in a backup can know.
 */
export function restrictLine(psql: ToolVersion): string | undefined {
  const since = RESTRICT_SINCE[psql.major]
  const knows = psql.major >= 18 || (since !== undefined && psql.minor >= since)
  return knows ? `\\restrict ${randomBytes(24).toString('hex')}\n` : undefined
}

/** Lines that make psql stop at the next error, and then go on after errors again. */
export interface CopyGuards {
  stopAtError: Buffer
  goOn: Buffer
}

/**
 * For a session that goes on after errors: a COPY the server refuses (no such table, a column list
 * that does not fit) would have psql read its rows as statements, so psql stops at an error from
 * the COPY to its "\\." line. Under the run's \\restrict key, the key is lifted for the one line.
 */
export function copyGuards(restrict: string | undefined): CopyGuards {
  const key = restrict?.trim().split(/\s+/)[1]
  const set = (value: 'on' | 'off') =>
    Buffer.from(key ? `\\unrestrict ${key}\n\\set ON_ERROR_STOP ${value}\n\\restrict ${key}\n` : `\\set ON_ERROR_STOP ${value}\n`)
  return { stopAtError: set('on'), goOn: set('off') }
}

/** strict: psql stops at the first error. Otherwise it goes on, and every error is sorted afterwards. */
export function psqlArguments(replay: RestoreContext, stopAtFirstError = replay.request.strict): string[] {
  return ['-X', '--no-password', '-v', `ON_ERROR_STOP=${stopAtFirstError ? 1 : 0}`, ...(replay.run.verbose ? [] : ['--quiet'])]
}

/** psql reading a script from its standard input; fails naming what went wrong. */
export async function runPsql(replay: RestoreContext, script: Readable, what: string): Promise<void> {
  const { run } = replay
  const ran = await runTool(replay.request.tools.psql, [...psqlArguments(replay), '-f', '-'], {
    env: replay.env,
    stdin: script,
    signal: replay.signal,
    onLine: run.verbose ? (line) => run.log(run.redactor.redact(line)) : undefined,
    onErrorLine: (line) => replay.sorter.line(run.redactor.redact(line))
  })
  const failure = psqlFailure(replay, ran, what)
  if (failure) throw failure
}

export function psqlFailure(replay: RestoreContext, ran: ToolRun, what: string): VerificationError | undefined {
  if (ran.exitCode === 0) return undefined
  const lines = errorLines(replay.run.redactor.redact(ran.stderr))
  return restoreFailure(
    what,
    `Restore failed: ${what} stopped at the first error (exit code ${ran.exitCode}): ${lines.join(' | ') || 'no error message'}`,
    lines,
    ran.stderr,
    replay.request.strict && replay.sorter.onlyHarmless()
  )
}

export function reportFiltered(replay: RestoreContext, removed: string[]): void {
  if (removed.length > 0) {
    replay.run.log(
      `The client (${replay.request.tools.version.text}) is newer than the server (major ` +
        `${replay.request.server.major}): left out ${removed.join(' ')} while restoring`
    )
  }
}
