// Writes a job summary with core.summary; a runner without GITHUB_STEP_SUMMARY only gets a warning.

import * as core from '@actions/core'

/** Writes HTML already escaped (report/summary-html.ts, fleet/summary.ts) as the step's summary. */
export async function writeJobSummary(html: string): Promise<void> {
  try {
    await core.summary.addRaw(html).write()
  } catch (error) {
    core.warning(`Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    core.summary.emptyBuffer()
  }
}
