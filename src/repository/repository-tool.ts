// pgbackrest and barman as a run finds and runs them: on PATH or where an input says, their
// version, and a failure told in the user's terms with how to install the tool.

import { access, constants } from 'node:fs/promises'
import { which } from '@actions/io'
import type { RunContext } from '../run/context.js'
import { VerificationError } from '../run/errors.js'
import { runTool, type ToolRun } from '../tools/process.js'

export interface RepositoryTool {
  name: 'pgbackrest' | 'barman'
  executable: string
  /** "2.45", "3.4.0" */
  version: string
  /** What the tool runs with: the run's environment, the repository's secrets in it (never in argv). */
  env: NodeJS.ProcessEnv
}

const INSTALL: Record<RepositoryTool['name'], string> = {
  pgbackrest: 'Install it (Debian and Ubuntu: sudo apt-get install pgbackrest), or name the executable in pgbackrest-path.',
  barman: 'Install it (Debian and Ubuntu: sudo apt-get install barman), or name the executable in barman-path.'
}

/** The tool named by its input, else the first on PATH; missing or not runnable fails with how to install it. */
export async function findRepositoryTool(
  name: RepositoryTool['name'],
  /** The path an input named, resolved, and as the user wrote it. */
  given: { path: string; given: string } | undefined,
  env: NodeJS.ProcessEnv
): Promise<RepositoryTool> {
  const input = name === 'pgbackrest' ? 'pgbackrest-path' : 'barman-path'
  let executable: string
  if (given) {
    const runnable = await access(given.path, constants.X_OK).then(
      () => true,
      () => false
    )
    if (!runnable)
      throw new VerificationError('tools-missing', `${input} names ${given.given}, which is not an executable file.`, INSTALL[name])
    executable = given.path
  } else {
    const found = await which(name, false)
    if (!found) throw new VerificationError('tools-missing', `${name} is not installed on the runner (not on PATH).`, INSTALL[name])
    executable = found
  }
  const asked = await runTool(executable, name === 'pgbackrest' ? ['version'] : ['--version'], { env, timeoutMs: 60_000 })
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(`${asked.stdout} ${asked.stderr}`)?.[1]
  if (asked.exitCode !== 0 || !version) {
    throw new VerificationError(
      'tools-missing',
      `${executable} did not run as ${name} (exit ${asked.exitCode}): ${(asked.stderr || asked.stdout).trim().slice(0, 300)}`,
      INSTALL[name]
    )
  }
  return { name, executable, version, env }
}

/** Runs the tool; stops with the run; what it printed is passed on in verbose mode. */
export async function runRepositoryTool(run: RunContext, tool: RepositoryTool, args: string[], timeoutMs?: number): Promise<ToolRun> {
  return runTool(tool.executable, args, { env: tool.env, signal: run.signal, timeoutMs, onLine: run.verbose ? run.log : undefined })
}

/** The lines a tool printed that say what went wrong (pgBackRest's ERROR/WARN, Barman's ERROR), redacted, for a message. */
export function toolComplaint(run: RunContext, done: ToolRun): string {
  const lines = `${done.stderr}\n${done.stdout}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  const said = lines.filter((line) => /\b(ERROR|WARN|FATAL|error|failed)\b/.test(line))
  return run.redactor.redact((said.length > 0 ? said : lines).slice(-5).join(' | ').slice(0, 1200))
}
