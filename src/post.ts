// Entry point of the action's post step: it only cleans up, and only warns.

import { warning } from './action/commands.js'
import { runCleanup } from './action/cleanup.js'

await runCleanup().catch((error: unknown) => warning(`Cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
