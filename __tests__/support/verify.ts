// One verification by the engine, from inputs as a workflow gives them, with its files under the
// test's folder: the result, the resources it recorded, and what it reported.

import { loadSettings } from '../../src/inputs/inputs.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from './reporter.js'

export async function verifyInputs(inputs: Record<string, string>, work: string) {
  const settings = { ...loadSettings({ get: (name) => inputs[name] ?? '', environment: {}, workingDirectory: work }), tempRoot: work }
  const ledger = new MemoryLedger()
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger })
  return { result, ledger, reporter }
}
