// The three phases of a run as the result records them: each in a log section of its own, timed,
// passed or failed with its reason; the one running is known, for a time-out's message.

import type { PhaseName, PhaseResult, VerificationResult } from '../report/result.js'
import type { RunContext } from '../run/context.js'
import { describeFailure } from './failure.js'

const TITLES: Record<PhaseName, string> = {
  Create: 'Create: pg_dump writes the backup',
  Validate: 'Validate: signature, checksum, readability, completeness',
  Restore: 'Restore: into a temporary database, then compare'
}

export const PHASE_NAMES: PhaseName[] = ['Create', 'Validate', 'Restore']

export class Phases {
  /** The phase under way (or the last one that was). */
  running: PhaseName | undefined

  constructor(
    private readonly context: RunContext,
    private readonly result: VerificationResult
  ) {}

  private entry(name: PhaseName): PhaseResult {
    return this.result.phases.find((phase) => phase.name === name) as PhaseResult
  }

  /** A phase that does not run (an existing backup is not created), with the reason. */
  skip(name: PhaseName, detail: string): void {
    this.entry(name).detail = detail
  }

  /** Runs a phase in its log section; `done` sets the detail the summary shows for it. */
  async run<T>(name: PhaseName, body: (done: (detail: string) => void) => Promise<T>, title = TITLES[name]): Promise<T> {
    this.context.signal.throwIfAborted()
    this.running = name
    const entry = this.entry(name)
    const started = Date.now()
    return this.context.reporter.group(title, async () => {
      try {
        const value = await body((detail) => (entry.detail = detail))
        entry.status = 'passed'
        return value
      } catch (error) {
        entry.status = 'failed'
        entry.detail = this.context.signal.aborted
          ? this.context.redactor.redactError(error)
          : describeFailure(error, name, this.context.redactor).message
        throw error
      } finally {
        entry.durationMs = Date.now() - started
      }
    })
  }
}
