// Writes the summary model with core.summary; a runner without GITHUB_STEP_SUMMARY only gets a warning.

import * as core from '@actions/core'
import type { SummaryModel } from '../report/summary.js'

export async function writeJobSummary(model: SummaryModel): Promise<void> {
  try {
    core.summary.addHeading(model.title, 2).addRaw(`<p>${model.verdict}</p>`, true)
    if (model.hint) core.summary.addRaw(`<p><b>Hint:</b> ${model.hint}</p>`, true)
    for (const table of model.tables) {
      core.summary.addHeading(table.heading, 3).addTable([table.header.map((data) => ({ data, header: true })), ...table.rows])
    }
    await core.summary.write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    core.summary.emptyBuffer()
  }
}
