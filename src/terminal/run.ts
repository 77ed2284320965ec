// The terminal's main: parses flags, runs the engine, prints the verdict, returns the exit code.

import { loadSettings } from '../inputs/inputs.js'
import { startUp } from '../inputs/start-up.js'
import { Redactor } from '../run/secrets.js'
import { access, constants, mkdir } from 'node:fs/promises'
import { describeFatal, VerificationError } from '../run/errors.js'
import { summaryLines } from '../report/summary-text.js'
import { verifyBackup } from '../engine/verify.js'
import { interruptionSignal } from '../run/interruption.js'
import { parseCommandLine, USAGE } from './args.js'
import { consoleReporter } from './console-reporter.js'
import { forgetSecretVariables } from '../connection/environment.js'
import { runReportCommand } from './report.js'

/** The receipt's folder, made when it is missing; one that cannot be is refused before anything connects. */
async function receiptFolder(folder: string): Promise<string> {
  try {
    await mkdir(folder, { recursive: true })
    await access(folder, constants.W_OK)
    return folder
  } catch (error) {
    throw new VerificationError(
      'bad-input',
      `--receipt-dir ${JSON.stringify(folder)} cannot hold the receipt (${(error as NodeJS.ErrnoException).code ?? 'unwritable'}): name a folder this user may write to`
    )
  }
}

export async function runCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  if (argv[0] === 'report') return runReportCommand(argv.slice(1), cwd)
  const redactor = new Redactor()
  const reporter = consoleReporter(redactor)
  try {
    const commandLine = parseCommandLine(argv, env, cwd)
    if (commandLine.help) {
      process.stdout.write(`${USAGE}\n`)
      return 0
    }
    const settings = {
      ...(await startUp(commandLine.raw, reporter.mask, redactor).settings(loadSettings)),
      receiptFolder: await receiptFolder(commandLine.receiptFolder)
    }
    if (env === process.env) forgetSecretVariables(env)
    const result = await verifyBackup({ settings, reporter, signal: interruptionSignal() })
    process.stdout.write('\n')
    const stream = result.status === 'failed' ? process.stderr : process.stdout
    for (const line of summaryLines(result)) stream.write(`${redactor.redact(line)}\n`)
    return result.status === 'failed' ? 1 : 0
  } catch (error) {
    process.stderr.write(`error: ${describeFatal(error, redactor)}\n`)
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`\n${USAGE}\n`)
    return 1
  }
}
