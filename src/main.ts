// The action's main step, as run(): src/index.ts calls it in the bundle (dist/index.js); GitHub's
// local runner (@github/local-action) imports this module and calls run() itself.

import { runAction } from './action/run.js'

export async function run(): Promise<void> {
  await runAction()
}
