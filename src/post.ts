// Entry point of the action's post step: it only cleans up, and only warns.

import * as core from '@actions/core'
import { runCleanup } from './action/cleanup.js'

await runCleanup().catch((error: unknown) => core.warning(`Cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
