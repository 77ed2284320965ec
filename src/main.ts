// Entry point of the action's main step.

import * as core from '@actions/core'
import { runAction } from './action/run.js'
import { favourSmallHeap } from './run/heap.js'

process.on('unhandledRejection', (reason) =>
  core.setFailed(`Unexpected error: ${reason instanceof Error ? reason.message : String(reason)}`)
)
favourSmallHeap()
await runAction()
