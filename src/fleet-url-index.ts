// Entry point of the fleet workflow's URL step (bundled to dist/fleet-url/index.js): run on load.

import { runFleetUrl } from './action/fleet-url.js'

runFleetUrl()
