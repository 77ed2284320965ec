// The action's post step, as run(): it only cleans up, and only warns. src/post-index.ts calls it in
// the bundle (dist/post/index.js); GitHub's local runner (@github/local-action) calls run() itself.

import { warning } from './action/commands.js'
import { runCleanup } from './action/cleanup.js'

export async function run(): Promise<void> {
  await runCleanup().catch((error: unknown) => warning(`Cleanup failed: ${error instanceof Error ? error.message : String(error)}`))
}
