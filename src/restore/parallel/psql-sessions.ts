// Several psql processes replaying one script together: each is fed through its own pipe, and a
// SELECT of a unique token tells when a session has run everything it was given.

import { randomBytes } from 'node:crypto'
import type { Readable, Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ReplaySessions } from './scheduler.js'
import { lineSplitter, runTool, type ToolRun } from '../../tools/process.js'

export interface PsqlSessionsOptions {
  env: NodeJS.ProcessEnv
  signal?: AbortSignal
  /** Output lines other than the sessions' own tokens (verbose logs). */
  onLine?: (line: string) => void
  /** A line of a session's stderr, and which session printed it. */
  onErrorLine?: (line: string, session: number) => void
}

interface Session {
  /** psql's stdin, written directly: a write resolves once its bytes are in the pipe. */
  input?: Writable
  run: Promise<ToolRun>
  /** Set once the process has ended. */
  ended?: ToolRun | Error
  waiting: Map<string, { resolve: () => void; reject: (error: Error) => void }>
}

export class SessionEndedError extends Error {
  constructor(
    readonly session: number,
    /** How the process ended, when it is known. */
    readonly run?: ToolRun
  ) {
    super(`psql session ${session + 1} ended before the restore did`)
  }
}

export class PsqlSessions implements ReplaySessions {
  private readonly sessions: Session[]
  private readonly token = randomBytes(6).toString('hex')
  private syncs = 0
  private readonly stopping = new AbortController()

  /** args(index): each session's command line (they may stop at errors differently). */
  constructor(
    private readonly psql: string,
    private readonly args: (index: number) => string[],
    count: number,
    private readonly options: PsqlSessionsOptions
  ) {
    this.sessions = Array.from({ length: count }, (_, index) => this.start(index))
  }

  get count(): number {
    return this.sessions.length
  }

  private start(index: number): Session {
    const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>()
    const session: Session = { waiting, run: Promise.resolve() as unknown as Promise<ToolRun> }
    session.run = runTool(this.psql, this.args(index), {
      // Named on the server, so that a stalled restore's message can say which session is which.
      env: { ...this.options.env, PGAPPNAME: `backup-verify session ${index}` },
      input: (stdin) => (session.input = stdin),
      signal: this.options.signal ? AbortSignal.any([this.options.signal, this.stopping.signal]) : this.stopping.signal,
      onErrorLine: this.options.onErrorLine && ((line) => this.options.onErrorLine?.(line, index)),
      onLine: undefined,
      consumeStdout: (stdout) =>
        readLines(stdout, (line) => {
          const waiter = waiting.get(line.trim())
          if (waiter) {
            waiting.delete(line.trim())
            waiter.resolve()
          } else if (line.trim() !== '') {
            this.options.onLine?.(line)
          }
        })
    })
    session.run.then(
      (run) => this.ended(session, run),
      (error: Error) => this.ended(session, error)
    )
    return session
  }

  private ended(session: Session, outcome: ToolRun | Error): void {
    session.ended = outcome
    const index = this.sessions.indexOf(session)
    for (const waiter of session.waiting.values()) waiter.reject(new SessionEndedError(index))
    session.waiting.clear()
    // A write still waiting for the pipe fails now.
    session.input?.destroy()
  }

  /** Resolves once psql's pipe has taken every byte of data: a buffer given can then be filled again. */
  async write(index: number, data: Buffer | string): Promise<void> {
    const session = this.sessions[index]
    const input = session.input
    if (session.ended || !input || input.destroyed || input.writableEnded) throw new SessionEndedError(index)
    await new Promise<void>((resolve, reject) => input.write(data, (error) => (error ? reject(new SessionEndedError(index)) : resolve())))
  }

  async sync(index: number): Promise<void> {
    const session = this.sessions[index]
    const token = `backup-verify-sync-${this.token}-${++this.syncs}`
    const reached = new Promise<void>((resolve, reject) => session.waiting.set(token, { resolve, reject }))
    reached.catch(() => {})
    await this.write(index, `SELECT '${token}';\n`)
    await reached
  }

  /**
   * Ends a session's input, waits for psql to run all of it and exit, and starts a new one in its
   * place: how to know a script has run when it may leave psql mid-statement (a failed COPY).
   */
  async restart(index: number): Promise<void> {
    const session = this.sessions[index]
    session.input?.end()
    const run = await session.run
    if (run.exitCode !== 0) throw new SessionEndedError(index, run)
    this.sessions[index] = this.start(index)
  }

  /** Ends every session's input and waits for the processes; their runs in session order. */
  async finish(): Promise<ToolRun[]> {
    for (const session of this.sessions) session.input?.end()
    return Promise.all(this.sessions.map((session) => session.run))
  }

  /** Stops every session at once (the replay failed): their runs, for the error message. */
  async stop(): Promise<Array<ToolRun | undefined>> {
    this.stopping.abort()
    for (const session of this.sessions) session.input?.destroy()
    return Promise.all(this.sessions.map((session) => session.run.catch(() => undefined)))
  }
}

function readLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  const lines = lineSplitter(onLine)
  stream.setEncoding('utf8')
  stream.on('data', (text: string) => lines.push(text))
  return finished(stream).then(() => lines.flush())
}
