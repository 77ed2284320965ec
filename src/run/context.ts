// The engine's only window on the outside world (the action, the CLI and the tests each supply a
// Reporter), and the context every phase of one run is given.

import type { Redactor } from './secrets.js'

export interface Reporter {
  info(message: string): void
  warning(message: string): void
  /**
   * A terminal's live line: how far each long phase running now is (`what`, its words; '' when it
   * ends), redrawn in place. Absent where lines cannot be redrawn (the runner's log, a file): progress
   * is then told in plain lines.
   */
  progress?(what: string, line: string): void
  /** Something the user should see without it being wrong: a run skipped, say. */
  notice(message: string): void
  /** Runs fn inside a collapsible log section; the section closes even when fn throws. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
  /** Hides a secret from everything printed from now on. */
  mask(secret: string): void
}

/**
 * Temporary things the engine creates, recorded so that a later cleanup can remove what is left.
 * server: a throwaway server's "pid:data directory", stopped by a later cleanup when it still runs;
 * process: a client tool's process group, "pid:start" (see tools/process-group.ts), ended by a
 * later cleanup when that pid is still that process.
 */
export type ResourceKind = 'database' | 'folder' | 'server' | 'process'

export interface ResourceLedger {
  created(kind: ResourceKind, id: string): void
  removed(kind: ResourceKind, id: string): void
}

export const noLedger: ResourceLedger = { created() {}, removed() {} }

/**
 * What every phase is given instead of a bag of options: where to say things, what to hide, what
 * it created, when to stop. One per run.
 */
export interface RunContext {
  readonly reporter: Reporter
  readonly redactor: Redactor
  readonly ledger: ResourceLedger
  /** Aborted when the run is interrupted or out of time: the tools stop, everything is cleaned up. */
  readonly signal: AbortSignal
  /** The tools' own output goes to the log too. */
  readonly verbose: boolean
  /** How often long phases say they are alive (30 s unless a test says otherwise). */
  readonly heartbeatMs?: number
  log(line: string): void
  warn(line: string): void
  notice(line: string): void
}

export function runContext(parts: Omit<RunContext, 'log' | 'warn' | 'notice'>): RunContext {
  return {
    ...parts,
    log: (line) => parts.reporter.info(line),
    warn: (line) => parts.reporter.warning(line),
    notice: (line) => parts.reporter.notice(line)
  }
}
