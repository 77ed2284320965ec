// psql as the restore runs it: its command line, a script on its standard input, and its failure
// in the user's terms.

import type { Readable } from 'node:stream'
import type { VerificationError } from '../run/errors.js'
import { errorLines, runTool, type ToolRun } from '../tools/process.js'
import type { RestoreContext } from './context.js'
import { restoreFailure } from './errors.js'

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
    ran.stderr
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
