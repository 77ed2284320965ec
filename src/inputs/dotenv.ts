// The .env file in the working directory: one of the places the connection may come from. Read by
// whoever gathers the raw inputs (the action, the terminal), never while they are parsed.

import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseEnv } from 'node:util'
import type { Variables } from './connection.js'

/** Reads a .env file in the working directory, if there is one. */
export function readDotenv(workingDirectory: string): Variables | undefined {
  const file = path.join(workingDirectory, '.env')
  if (!existsSync(file)) return undefined
  return parseEnv(readFileSync(file, 'utf8')) as Variables
}
