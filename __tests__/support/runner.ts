// Runs a bundled entry point the way the GitHub runner does: INPUT_* variables, and the
// GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE files, which it then reads back.

import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface BundleRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** What the step saved with core.saveState, by name. */
  state: Record<string, string>
  /**
   * Everything the run wrote, concatenated, but for the ::add-mask:: commands (the runner consumes
   * those and shows nothing): for "the secret appears nowhere" assertions.
   */
  everything: string
  masks: string[]
  elapsedMs: number
}

/** Reads the name<<DELIMITER ... DELIMITER blocks that @actions/core writes to file commands. */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (match) {
      const [, name, delimiter] = match
      const value: string[] = []
      while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i])
      values[name] = value.join('\n')
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      values[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return values
}

export interface RunOptions {
  inputs?: Record<string, string>
  env?: Record<string, string>
  state?: Record<string, string>
  cwd?: string
  args?: string[]
  timeoutMs?: number
}

export async function runBundle(entry: string, options: RunOptions = {}): Promise<BundleRun> {
  const files = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-runner-'))
  const outputFile = path.join(files, 'output')
  const summaryFile = path.join(files, 'summary')
  const stateFile = path.join(files, 'state')
  await Promise.all([outputFile, summaryFile, stateFile].map((file) => writeFile(file, '')))
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: files,
    RUNNER_TOOL_CACHE: path.join(files, 'tool-cache'),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: stateFile,
    ...options.env
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value
  const started = Date.now()
  const child = spawn(process.execPath, [path.join(ROOT, entry), ...(options.args ?? [])], { env, cwd: options.cwd ?? files })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  const elapsedMs = Date.now() - started
  const [output, summary, state] = await Promise.all([outputFile, summaryFile, stateFile].map((file) => readFile(file, 'utf8')))
  await rm(files, { recursive: true, force: true })
  return {
    code,
    stdout,
    stderr,
    outputs: parseFileCommand(output),
    summary,
    state: parseFileCommand(state),
    everything: [stdout.replace(/^::add-mask::.*$/gm, ''), stderr, output, summary, state].join('\n'),
    // Command data is escaped by @actions/core (%, CR, LF); the runner undoes it.
    masks: [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((match) =>
      match[1].replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
    ),
    elapsedMs
  }
}

/** An annotation the runner reads from a log line: ::error title=...,file=...::message (properties unescaped). */
export interface Annotation {
  kind: string
  properties: Record<string, string>
  message: string
}

const unescapeProperty = (text: string) =>
  text.replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')

export function annotations(stdout: string, kind = 'error'): Annotation[] {
  return stdout
    .split('\n')
    .map((line) => new RegExp(`^::(${kind})(?: ([^\\n]*?))?::(.*)$`).exec(line.replace(/\r$/, '')))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({
      kind: match[1],
      properties: Object.fromEntries(
        (match[2] ?? '')
          .split(',')
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf('=')), unescapeProperty(pair.slice(pair.indexOf('=') + 1))])
      ),
      message: match[3]
    }))
}

/** The log with each annotation's properties left out ("::error::message"), for assertions on the message alone. */
export function withoutProperties(stdout: string): string {
  return stdout.replace(/^::(error|warning|notice) [^\n]*?::/gm, '::$1::')
}
