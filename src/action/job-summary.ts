// Writes the summary with core.summary; a runner without GITHUB_STEP_SUMMARY only gets a warning.

import * as core from '@actions/core'
import type { SummaryModel } from '../report/summary.js'
import { renderSummary } from '../report/summary-html.js'

export async function writeJobSummary(model: SummaryModel): Promise<void> {
  try {
    await core.summary.addRaw(renderSummary(model)).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    core.summary.emptyBuffer()
  }
}
