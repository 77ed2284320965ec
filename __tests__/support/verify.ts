// The settings a test verifies with, read from inputs as a workflow gives them, with the run's files
// under the test's folder; and one verification by the engine from such inputs.

import { type RawInputs } from '../../src/inputs/connection-inputs.js'
import { loadSettings, type Settings } from '../../src/inputs/inputs.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from './reporter.js'

interface SettingsOptions {
  /** Where the run keeps its temporary files: the working directory unless told. */
  tempRoot?: string
  /** The variables the inputs may fall back on (DATABASE_URL, PG*): none unless told. */
  environment?: RawInputs['environment']
}

/**
 * The settings the inputs give, read in `work`, the run's temporary files there too. The restore
 * goes to the test's own server (restore-server: source), where a test can look at and change the
 * restored database, unless the inputs say otherwise (the throwaway server's tests).
 */
export function settingsFrom(inputs: Record<string, string>, work: string, options: SettingsOptions = {}): Settings {
  const given: Record<string, string> = { 'restore-server': 'source', ...inputs }
  const raw = { get: (name: string) => given[name] ?? '', environment: options.environment ?? {}, workingDirectory: work }
  return { ...loadSettings(raw), tempRoot: options.tempRoot ?? work }
}

export async function verifyInputs(inputs: Record<string, string>, work: string) {
  const settings = settingsFrom(inputs, work)
  const ledger = new MemoryLedger()
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger })
  return { result, ledger, reporter }
}
