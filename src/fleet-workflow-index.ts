// Entry point of the fleet workflow's own steps (bundled to dist/fleet-workflow/index.js): the step
// named by the first argument, plan or url.

import { runFleetStep } from './action/fleet-workflow.js'

runFleetStep(process.argv[2])
