// What the parts of one restore share: the run, the request, the tools' environment, and what the
// restore has found so far (errors sorted, progress for the watchdog).

import type { RunContext } from '../run/context.js'
import type { RestoreErrorSorter } from './errors.js'
import type { RestoreRequest } from './restore.js'

/** How far the restore has got, for the watchdog: bytes sent to the sessions, and what each runs. */
export interface RestoreProgress {
  bytes?: () => number
  describe?: () => string[]
}

export interface RestoreContext {
  run: RunContext
  request: RestoreRequest
  /** The client tools' environment: connected to the temporary database. */
  env: NodeJS.ProcessEnv
  /** Settings the server does not know (a newer client's), left out of what runs. */
  unknownSettings: string[]
  sorter: RestoreErrorSorter
  progress: RestoreProgress
  /** Stops the restore: the run's signal, or the watchdog's. */
  signal: AbortSignal
}
