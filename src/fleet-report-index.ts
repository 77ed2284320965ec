// Entry point of the report action (bundled to dist/report/index.js): run() on load.

import * as core from '@actions/core'
import { run } from './fleet-report.js'

process.on('unhandledRejection', (reason) =>
  core.setFailed(`Unexpected error: ${reason instanceof Error ? reason.message : String(reason)}`)
)
await run()
