// The report action's step (report/action.yml): reads the receipts of many verifications and their
// histories, writes one job summary, the report's JSON and the counts, and fails under fail-on: any
// when a verification failed or is missing.

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as core from '@actions/core'
import { writeJobSummary } from '../action/job-summary.js'
import { ReportInput, ReportOutput } from '../run/names.js'
import { InputError } from '../run/errors.js'
import { readFleetHistories } from './histories.js'
import { loadReportSettings } from './inputs.js'
import { buildFleetReport, type FleetReport } from './report.js'
import { findReceiptFiles, readFleetReceipts } from './receipts.js'
import { fleetSummaryHtml, fleetSummaryText } from './summary.js'

export async function runReportAction(): Promise<void> {
  try {
    const settings = loadReportSettings(core.getInput, process.env.GITHUB_WORKSPACE || process.cwd())
    const files = await findReceiptFiles(settings.receipts.pattern)
    if (files.length === 0) core.warning(`No receipt found at ${settings.receipts.given} (input ${ReportInput.Receipts}).`)
    const { receipts, unreadable } = await readFleetReceipts(files)
    const histories = settings.history
      ? await readFleetHistories(settings.history.folder)
      : { byName: new Map(), unreadable: [] as Array<{ file: string; reason: string }> }
    const report = buildFleetReport({
      receipts,
      unreadable,
      histories: histories.byName,
      unreadableHistories: histories.unreadable,
      expected: settings.expected,
      maxAgeMs: settings.maxAgeMs,
      failOn: settings.failOn,
      now: new Date()
    })
    const reportPath = await writeReport(report)
    for (const line of fleetSummaryText(report)) core.info(line)
    core.setOutput(ReportOutput.Passed, String(report.totals.passed))
    core.setOutput(ReportOutput.Failed, String(report.totals.failed))
    core.setOutput(ReportOutput.Missing, String(report.totals.missing))
    core.setOutput(ReportOutput.ReportPath, reportPath)
    await writeJobSummary(fleetSummaryHtml(report))
    for (const entry of report.missing.filter((missing) => missing.file)) {
      core.warning(`${entry.file}: ${entry.reason}`, { title: 'A receipt could not be read' })
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

/** The report's JSON in the runner's temporary folder, under a name no other report takes. */
async function writeReport(report: FleetReport): Promise<string> {
  const folder = process.env.RUNNER_TEMP || os.tmpdir()
  const file = path.join(folder, `backup-verify-fleet-report-${randomBytes(4).toString('hex')}.json`)
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx' })
  return file
}
