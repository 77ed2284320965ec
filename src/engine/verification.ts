// What the phases of one verification share: the settings, the run, the result being filled in,
// the workspace, the files the inputs named, and the caller's options (tools, test seams).

import type { Settings } from '../inputs/inputs.js'
import type { VerificationResult } from '../report/result.js'
import type { Reporter, ResourceLedger, RunContext } from '../run/context.js'
import type { ToolCache } from '../tools/cache.js'
import type { RetryPolicy } from '../tools/download.js'
import type { Phases } from './phases.js'
import type { References } from './references.js'
import type { Workspace } from './workspace.js'
import type { DumpContent } from '../backup/dump-content.js'
import type { Inventory } from '../compare/inventory.js'
import type { Deferred } from '../run/deferred.js'

/**
 * What the restore is held to, once it is known: the dump's content (verify level data) and the
 * reference inventory (the source's, or the receipt's). A streamed restore may finish first and wait.
 */
export interface ContentReference {
  dump?: DumpContent
  reference?: Inventory
}

export interface EngineOptions {
  settings: Settings
  reporter: Reporter
  ledger?: ResourceLedger
  /** The environment the client tools are looked up in and inherit; process.env by default. */
  env?: NodeJS.ProcessEnv
  /** Where downloaded client tools are kept; a folder in the user's cache directory by default. */
  toolCache?: ToolCache
  retry?: RetryPolicy
  /** How often long phases say they are alive; 30 s by default. */
  heartbeatMs?: number
  /** How long nothing may move before a restore whose sessions wait on one another is stopped; 2 minutes by default. */
  stallMs?: number
  /** A table with more bytes of rows than this in the dump is read back in parts; 64 MiB by default. */
  readBackSplitBytes?: number
  /** Aborted when the run is interrupted (SIGINT, SIGTERM): the tools stop, everything is cleaned up. */
  signal?: AbortSignal
  /** Test seams: run between phases, to change the world the way a real fault would. */
  hooks?: {
    afterCreate?: (backupPath: string) => Promise<void>
    beforeRestore?: (backupFile: string) => Promise<void>
    afterRestore?: (databaseName: string) => Promise<void>
    /** A physical backup's throwaway server has started (it is recovering). */
    serverStarted?: (pid: number) => void
  }
}

export interface Verification {
  settings: Settings
  run: RunContext
  result: VerificationResult
  phases: Phases
  workspace: Workspace
  references: References
  options: EngineOptions
  /** The environment the client tools are looked up in and inherit. */
  env: NodeJS.ProcessEnv
  started: Date
  /** Settled by the phase that learns it (Create, or Validate); awaited by the restore's inspection. */
  contentReference: Deferred<ContentReference>
}
