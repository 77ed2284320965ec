// The report action's step (report/action.yml): the receipts of many verifications and their
// histories gathered into one report; one job summary, the report's JSON and the counts; the step
// fails under fail-on: any when a verification failed or is missing.

import { randomBytes } from 'node:crypto'
import os from 'node:os'
import * as core from '@actions/core'
import { ReportInput, ReportOutput } from '../run/names.js'
import { InputError } from '../run/errors.js'
import { gatherFleetReport, writeFleetReport } from '../fleet/gather.js'
import { loadReportSettings } from '../fleet/inputs.js'
import { fleetSummaryHtml, fleetSummaryText } from '../fleet/summary.js'
import { writeJobSummary } from './job-summary.js'

export async function runReportAction(): Promise<void> {
  try {
    const settings = loadReportSettings(core.getInput, process.env.GITHUB_WORKSPACE || process.cwd())
    const { report, found } = await gatherFleetReport(settings)
    if (found === 0) core.warning(`No receipt found at ${settings.receipts.given} (input ${ReportInput.Receipts}).`)
    const reportPath = await writeFleetReport(process.env.RUNNER_TEMP || os.tmpdir(), report)
    // The table holds names and reasons from receipts: none of it may be read as a workflow command.
    const token = randomBytes(12).toString('hex')
    core.info(`::stop-commands::${token}`)
    for (const line of fleetSummaryText(report)) core.info(line)
    core.info(`::${token}::`)
    core.setOutput(ReportOutput.Passed, String(report.totals.passed))
    core.setOutput(ReportOutput.Failed, String(report.totals.failed))
    core.setOutput(ReportOutput.Missing, String(report.totals.missing))
    core.setOutput(ReportOutput.ReportPath, reportPath)
    await writeJobSummary(fleetSummaryHtml(report))
    const title = { title: 'A receipt could not be read' }
    for (const entry of report.missing.filter((missing) => missing.file))
      core.warning(`${entry.name ?? entry.file}: ${entry.reason}`, title)
    for (const entry of report.filesLeftOut) {
      core.warning(`${entry.file} is not a receipt this report can read (${entry.reason}); ${entry.name} has a readable one`, title)
    }
    if (report.verdict === 'failed' && settings.failOn === 'any') {
      process.exitCode = 1
      core.error(`Backup verification of the fleet failed: ${report.reason}.`, { title: 'Fleet report' })
    }
  } catch (error) {
    process.exitCode = 1
    const message = error instanceof Error ? error.message : String(error)
    core.error(message, { title: error instanceof InputError ? `Input ${error.input}` : 'Fleet report' })
  }
}
