// A Reporter that records what the engine says, for assertions.

import { runContext, type Reporter, type ResourceKind, type ResourceLedger, type RunContext } from '../../src/run/context.js'
import { Redactor } from '../../src/run/secrets.js'

export interface RecordingReporter extends Reporter {
  lines: string[]
  warnings: string[]
  notices: string[]
  groups: string[]
  masked: string[]
}

export function recordingReporter(): RecordingReporter {
  const reporter: RecordingReporter = {
    lines: [],
    warnings: [],
    notices: [],
    groups: [],
    masked: [],
    info: (message) => void reporter.lines.push(message),
    warning: (message) => void reporter.warnings.push(message),
    notice: (message) => void reporter.notices.push(message),
    async group(name, fn) {
      reporter.groups.push(name)
      return fn()
    },
    mask: (secret) => void reporter.masked.push(secret)
  }
  return reporter
}

export class MemoryLedger implements ResourceLedger {
  readonly live: Record<ResourceKind, Set<string>> = {
    database: new Set(),
    folder: new Set(),
    server: new Set(),
    process: new Set()
  }
  readonly everCreated: Array<[ResourceKind, string]> = []
  created(kind: ResourceKind, id: string): void {
    this.live[kind].add(id)
    this.everCreated.push([kind, id])
  }
  removed(kind: ResourceKind, id: string): void {
    this.live[kind].delete(id)
  }
}

/** A run context for calling one phase directly: a recording reporter, a redactor, a memory ledger. */
export function testRun(
  options: { signal?: AbortSignal; verbose?: boolean; secrets?: string[] } = {}
): RunContext & { reporter: RecordingReporter; lines: string[] } {
  const reporter = recordingReporter()
  const run = runContext({
    reporter,
    redactor: new Redactor(options.secrets ?? []),
    ledger: new MemoryLedger(),
    signal: options.signal ?? new AbortController().signal,
    verbose: options.verbose ?? false
  })
  return { ...run, reporter, lines: reporter.lines }
}
