// The fleet report from what the inputs name: the receipts found and read, the histories beside
// them, judged as of now; and the report's JSON written under a name of its own. Both faces (the
// report action and `backup-verify report`) call these.

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { readFleetHistories } from './histories.js'
import type { ReportSettings } from './inputs.js'
import { buildFleetReport, type FleetReport } from './report.js'
import { findReceiptFiles, readFleetReceipts } from './receipts.js'

export async function gatherFleetReport(settings: ReportSettings, now = new Date()): Promise<{ report: FleetReport; found: number }> {
  const files = await findReceiptFiles(settings.receipts.pattern)
  const { receipts, unreadable } = await readFleetReceipts(files)
  const histories = settings.history ? await readFleetHistories(settings.history.folder) : { byName: new Map(), unreadable: [] }
  const report = buildFleetReport({
    receipts,
    unreadable,
    histories: histories.byName,
    unreadableHistories: histories.unreadable,
    expected: settings.expected,
    maxAgeMs: settings.maxAgeMs,
    failOn: settings.failOn,
    now
  })
  return { report, found: files.length }
}

/** The report's JSON in this folder, under a name no other report takes. */
export async function writeFleetReport(folder: string, report: FleetReport): Promise<string> {
  const file = path.join(folder, `backup-verify-fleet-report-${randomBytes(4).toString('hex')}.json`)
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx' })
  return file
}
