// The report action's step (report/action.yml), as run(): src/fleet-report-index.ts calls it in the
// bundle (dist/report/index.js); GitHub's local runner (@github/local-action) imports it and calls run().

import { runReportAction } from './action/fleet-report.js'

export async function run(): Promise<void> {
  await runReportAction()
}
