// The action's raw inputs: INPUT_* variables, the environment, and the .env file.

import { getInput } from './commands.js'
import { readDotenv } from '../inputs/dotenv.js'
import type { RawInputs } from '../inputs/connection-inputs.js'

export function runnerInputs(): RawInputs {
  return { get: getInput, environment: process.env, workingDirectory: process.cwd(), dotenv: readDotenv(process.cwd()) }
}
