// Entry point of the action's main step (bundled to dist/index.js): the process's own settings, then run().

import * as core from '@actions/core'
import { run } from './main.js'
import { favourSmallHeap } from './run/heap.js'

process.on('unhandledRejection', (reason) =>
  core.setFailed(`Unexpected error: ${reason instanceof Error ? reason.message : String(reason)}`)
)
favourSmallHeap()
await run()
