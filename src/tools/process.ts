// Runs a PostgreSQL client tool: arguments never carry a secret, stderr is kept (bounded) for error
// messages, and in verbose mode every output line is passed on as it arrives.

import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ResourceLedger } from '../run/context.js'
import { groupName, processGroups } from './process-group.js'

export interface ToolRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** The first part of stderr, enough to explain a failure. */
  stderr: string
  /** Captured stdout, when no stream consumer was given. */
  stdout: string
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv
  /** Consumes stdout as a stream (e.g. pg_dump into a file); otherwise stdout is captured. */
  consumeStdout?: (stdout: Readable) => Promise<void>
  /** Fed to the tool's stdin (e.g. a backup into psql). */
  stdin?: Readable
  /**
   * The tool's stdin, handed over as the tool starts, for a caller that writes to it itself (and
   * ends it). Write errors (the tool gone) reach the writes' callbacks, not an 'error' event.
   */
  input?: (stdin: Writable) => void
  /** Called with each line of output, for verbose logs. */
  onLine?: (line: string) => void
  /** Called with each line of stderr alone, whether or not onLine is given. */
  onErrorLine?: (line: string) => void
  timeoutMs?: number
  /** Stops the tool (SIGTERM) when aborted. */
  signal?: AbortSignal
}

const STDERR_LIMIT = 64 * 1024
const STDOUT_LIMIT = 1024 * 1024

/** Never needed by a tool, whoever calls it: the action's inputs and the URLs and passwords they came from. */
const NEVER_INHERITED = /^(INPUT_.*|DATABASE_URL|DB_PASSWORD)$/i

/** Where the tools' process groups are recorded while they run; none: they run in this process's group. */
let groups: ResourceLedger | undefined

/**
 * From now on every tool runs in a process group of its own, recorded in the ledger while it runs:
 * should this process be killed outright (SIGKILL), a later cleanup (the action's post step) ends
 * the tools it left running, and their children. Without it (the CLI), the tools stay in the
 * terminal's group, which a Ctrl-C reaches whole.
 */
export function recordProcessGroups(ledger: ResourceLedger | undefined): void {
  groups = processGroups ? ledger : undefined
}

/** The error of a write to a tool that stopped reading (psql at its first error): its exit code tells why. */
export function readerStopped(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE'
}

export async function runTool(file: string, args: string[], options: ToolOptions): Promise<ToolRun> {
  const env = Object.fromEntries(Object.entries(options.env).filter(([name]) => !NEVER_INHERITED.test(name)))
  const ledger = groups
  const child = spawn(file, args, {
    env,
    stdio: [options.stdin || options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    windowsHide: true,
    detached: ledger !== undefined
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>
  const group = ledger && child.pid !== undefined ? groupName(child.pid) : undefined
  if (group) ledger?.created('process', group)
  let fed: Promise<void> = Promise.resolve()
  if (options.stdin && child.stdin) {
    // A tool that stops reading early (psql at its first error) closes the pipe: that is its
    // exit code's story to tell, not an error of ours.
    fed = pipeline(options.stdin, child.stdin).catch((error: unknown) => {
      if (!readerStopped(error)) throw error
    })
  }
  if (options.input && child.stdin) {
    child.stdin.on('error', () => {})
    options.input(child.stdin)
  }
  let stderr = ''
  let stdout = ''
  const forward = lineSplitter(options.onLine)
  const errors = lineSplitter(options.onErrorLine)
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text.slice(0, STDERR_LIMIT - stderr.length)
    forward.push(text)
    errors.push(text)
  })
  let consumed: Promise<void>
  if (options.consumeStdout) {
    consumed = options.consumeStdout(child.stdout)
  } else {
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (text: string) => {
      if (stdout.length < STDOUT_LIMIT) stdout += text.slice(0, STDOUT_LIMIT - stdout.length)
      forward.push(text)
    })
    consumed = Promise.resolve()
  }
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
  const abort = () => child.kill('SIGTERM')
  if (options.signal?.aborted) abort()
  else options.signal?.addEventListener('abort', abort, { once: true })
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  try {
    const [exit] = await Promise.all([
      closed,
      consumed.catch((error: unknown) => {
        // A consumer that fails (disk full, say) must not leave the tool blocked on a full pipe.
        child.kill('SIGTERM')
        throw error
      }),
      fed.catch((error: unknown) => {
        // Its input failed (the backup could not be read): the tool must not go on with what it got.
        child.kill('SIGTERM')
        throw error
      })
    ])
    forward.flush()
    errors.flush()
    return { exitCode: exit.code, signal: exit.signal, stderr, stdout }
  } finally {
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener('abort', abort)
    if (group) {
      // Returning early (its input or output failed), the tool may still run: the post step's record of
      // it goes only once it, and whatever it started in its group, is gone.
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
        await closed.catch(() => {})
      }
      ledger?.removed('process', group)
    }
  }
}

/** Splits text that arrives in pieces into lines; flush() hands over an unterminated last line. */
export function lineSplitter(onLine?: (line: string) => void): { push(text: string): void; flush(): void } {
  let pending = ''
  return {
    push(text) {
      if (!onLine) return
      pending += text
      const lines = pending.split(/\r?\n/)
      pending = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    },
    flush() {
      if (onLine && pending) onLine(pending)
      pending = ''
    }
  }
}

/**
 * The lines of a tool's stderr that say what went wrong, for an error message: the errors, each
 * with the server's HINT after it (what to change, e.g. max_locks_per_transaction for "out of
 * shared memory").
 */
export function errorLines(stderr: string, max = 5): string[] {
  const lines = stderr.split(/\r?\n/).filter((line) => line.trim() !== '')
  const error = (line: string) => /\b(ERROR|FATAL|error|fatal|PANIC)\b/.test(line)
  if (!lines.some(error)) return lines.slice(0, max)
  return lines.filter((line) => error(line) || /^HINT:\s/.test(line)).slice(0, max)
}
