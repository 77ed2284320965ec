// `backup-verify report`: the fleet report in a terminal (another CI's matrix, receipts kept in a
// folder): the same report as the report action (report/action.yml), printed as its log prints it,
// its JSON written with --json.

import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { gatherFleetReport } from '../fleet/gather.js'
import { loadReportSettings } from '../fleet/inputs.js'
import { fleetSummaryText } from '../fleet/summary.js'
import { ReportInput } from '../run/names.js'

const REPORT_USAGE = `Usage: backup-verify report --receipts PATH [options]

One report over the receipts of many verifications: every database's verdict,
figures and trend, and the ones expected without a receipt.

  --receipts PATH      a folder (every *.json below it), a receipt, or a glob
                       (receipts/**/*.json)
  --history DIR        a folder of per-database history files (*.jsonl): trend arrows
  --expected NAME      a database that should have a receipt; repeat for each
  --max-age D          a receipt older than this counts as missing: 26h, 7d
  --fail-on WHEN       any (default: exit 1 when one failed or is missing) or none
  --json FILE          write the report as JSON to FILE
  -h, --help           show this help

Exit code: 0 when every database passed (or with --fail-on none), 1 otherwise.`

export async function runReportCommand(argv: string[], workingDirectory: string): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        [ReportInput.Receipts]: { type: 'string' },
        [ReportInput.History]: { type: 'string' },
        [ReportInput.Expected]: { type: 'string', multiple: true },
        [ReportInput.MaxAge]: { type: 'string' },
        [ReportInput.FailOn]: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true,
      allowPositionals: false
    })
    if (values.help) {
      process.stdout.write(`${REPORT_USAGE}\n`)
      return 0
    }
    const given = values as Record<string, string | string[] | undefined>
    const get = (name: string) => {
      const value = given[name]
      return Array.isArray(value) ? value.join('\n') : (value ?? '')
    }
    const settings = loadReportSettings(get, workingDirectory)
    const { report, found } = await gatherFleetReport(settings)
    if (found === 0) process.stderr.write(`warning: no receipt found at ${settings.receipts.given}\n`)
    if (typeof values.json === 'string')
      await writeFile(path.resolve(workingDirectory, values.json), `${JSON.stringify(report, null, 2)}\n`)
    const failed = report.verdict === 'failed' && settings.failOn === 'any'
    for (const line of fleetSummaryText(report)) (failed ? process.stderr : process.stdout).write(`${line}\n`)
    return failed ? 1 : 0
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`)
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`\n${REPORT_USAGE}\n`)
    return 1
  }
}
