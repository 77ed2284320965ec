// The action's main step: inputs from INPUT_*, secrets masked first, then the engine, outputs and summary.

import * as core from '@actions/core'
import { loadSettings } from '../inputs/inputs.js'
import { startUp } from '../inputs/start-up.js'
import { runnerInputs } from './inputs.js'
import { describeFatal, InputError, VerificationError } from '../run/errors.js'
import { failureAnnotation, fileInputs } from './annotations.js'
import { buildSummary } from '../report/summary.js'
import { renderSummary } from '../report/summary-html.js'
import { outputsOf } from '../report/outputs.js'
import { verifyBackup } from '../engine/verify.js'
import { interruptionSignal } from '../run/interruption.js'
import { writeJobSummary } from './job-summary.js'
import { actionReporter, StateLedger } from './reporter.js'
import { runnerToolCache } from './tool-cache.js'
import { forgetSecretVariables } from '../connection/environment.js'
import { recordProcessGroups } from '../tools/process.js'

export async function runAction(): Promise<void> {
  const raw = runnerInputs()
  const filesGiven = fileInputs(raw.get)
  /** Fails the step with an error annotation that has a title, and a file where the failure has one. */
  const fail = (message: string, error: Parameters<typeof failureAnnotation>[0], failedChecks?: Array<{ expect: string }>): void => {
    process.exitCode = 1
    core.error(message, failureAnnotation(error, filesGiven, undefined, failedChecks))
  }
  const start = startUp(raw, core.setSecret)
  try {
    const given = await start.settings(loadSettings)
    // Re-running a job with debug logging (ACTIONS_STEP_DEBUG) shows what verbose shows.
    const settings = core.isDebug() ? { ...given, verbose: true } : given
    forgetSecretVariables()
    // The runner always names its tool cache; elsewhere (a local runner emulation) the engine's own folder serves.
    const toolCache = process.env.RUNNER_TOOL_CACHE ? runnerToolCache : undefined
    const ledger = new StateLedger()
    // The post step ends the tools a killed main step leaves running.
    recordProcessGroups(ledger)
    const result = await verifyBackup({
      settings,
      reporter: actionReporter,
      ledger,
      toolCache,
      signal: interruptionSignal()
    })
    for (const [name, value] of Object.entries(outputsOf(result))) core.setOutput(name, value)
    await writeJobSummary(renderSummary(buildSummary(result)))
    if (result.status === 'failed') {
      const { message, hint } = result.error ?? { message: 'verification failed' }
      const failedChecks = result.teamChecks?.outcomes.filter((outcome) => outcome.status !== 'passed')
      fail(hint ? `${message}\nHint: ${hint}` : message, result.error, failedChecks)
    } else if (result.status === 'passed') {
      core.info(`Backup verified: ${result.backup?.sizeBytes} bytes, SHA-256 ${result.backup?.sha256}`)
    }
  } catch (error) {
    fail(describeFatal(error, start.redactor), {
      problem: error instanceof VerificationError ? error.problem : 'unexpected',
      input: error instanceof InputError ? error.input : undefined
    })
  }
}
