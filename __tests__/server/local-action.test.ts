// GitHub's local runner, @github/local-action, against a real PostgreSQL: it imports src/main.ts
// (and src/post.ts, and the report action's src/fleet-report.ts) under tsx with @actions/core
// stubbed, calls their run(), and prints the outputs the step set as a table, which is what this reads back.
//
// What the emulation does not do, and these tests do not count on: its setFailed sets no exit code
// (the step sets process.exitCode itself, so a failed run exits 1 here too), it keeps saveState in
// memory where the post step (which reads STATE_* itself) never sees it, it runs main and post in one
// process (main drops INPUT_* from the environment, so post reads no input), and it prints the post
// step's ::add-mask:: commands as they are, which the runner would consume.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'
import { ROOT } from '../support/runner.js'
import { buildReceipt, writeReceipt } from '../../src/records/receipt.js'

const { server, work } = useServer('local-action')

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
})

interface LocalRun {
  code: number | null
  stdout: string
  outputs: Record<string, string>
  /** stdout but for the ::add-mask:: lines. */
  shown: string
}

/** The rows of the "Action Outputs" table (console.table: index, Output, Value, strings quoted as util.inspect quotes them). */
function parseOutputsTable(stdout: string): Record<string, string> {
  const section = stdout.slice(stdout.lastIndexOf('Action Outputs'))
  const outputs: Record<string, string> = {}
  for (const match of section.matchAll(/^│ \d+ +│ (['"`])(.+?)\1 +│ (['"`])(.*)\3 +│$/gm)) outputs[match[2]] = match[4]
  return outputs
}

async function runLocalAction(entry: string, dotenv: Record<string, string>, extra: string[] = [], action = '.'): Promise<LocalRun> {
  const envFile = path.join(work, `${path.basename(entry, '.ts')}-${Date.now()}.env`)
  // local-action sets no RUNNER_TEMP (the runner always does): without it the receipt goes to os.tmpdir().
  dotenv = { RUNNER_TEMP: work, ...dotenv }
  await writeFile(
    envFile,
    Object.entries(dotenv)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
    { mode: 0o600 }
  )
  // local-action runs `npm ls @actions/core ...` in its working directory: it must be the action's.
  // Only PATH and HOME pass: a test run inside a GitHub job must not write to that job's summary or outputs.
  // The devDependency (package-lock.json pins it): nothing is fetched while the tests run.
  const child = spawn('npx', ['--no-install', 'local-action', 'run', action, entry, envFile, ...extra], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FORCE_COLOR: '0' }
  })
  let stdout = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', () => {})
  const timer = setTimeout(() => child.kill('SIGKILL'), 110_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return { code, stdout, outputs: parseOutputsTable(stdout), shown: stdout.replace(/^::add-mask::.*$/gm, '') }
}

describe('npx @github/local-action run . src/main.ts .env', () => {
  test('the main step passes and reports its outputs; the post step, run after it, has nothing to clean up', async () => {
    const run = await runLocalAction('src/main.ts', { 'INPUT_DATABASE-URL': server.url('shop') }, ['--post', 'src/post.ts'])
    expect(run.code).toBe(0)
    expect(run.outputs.result).toBe('passed')
    expect(run.outputs.skipped).toBe('false')
    expect(run.outputs.tables).toBe('4')
    expect(run.outputs['restored-tables']).toBe('4')
    expect(run.outputs.rows).toBe('10365')
    expect(run.outputs.format).toBe('plain')
    expect(run.outputs['verify-level']).toBe('data')
    expect(run.outputs['server-version']).toMatch(/^15\./)
    expect(run.outputs.checksum).toMatch(/^[0-9a-f]{64}$/)
    expect(path.dirname(run.outputs['report-path'])).toBe(work)
    expect(Number(run.outputs.size)).toBeGreaterThan(0)
    expect(run.stdout).toMatch(/Running Post Step[\s\S]*Nothing left to clean up\./)
    expect(run.stdout).not.toMatch(/^::error/m)
    expect(await temporaryDatabases(server)).toEqual([])
    expect(run.shown).not.toContain(server.password)
    expect(run.shown).not.toContain(encodeURIComponent(server.password))
  })

  test('a wrong password: result failed, an ::error:: line with its title, exit code 1', async () => {
    const url = server.url('shop').replace(encodeURIComponent(server.password), 'wrong')
    const run = await runLocalAction('src/main.ts', { 'INPUT_DATABASE-URL': url })
    expect(run.code).toBe(1)
    expect(run.outputs.result).toBe('failed')
    expect(run.stdout).toMatch(
      /^::error title=backup-verify: authentication-failed::Authentication failed for user "postgres" at 127\.0\.0\.1:/m
    )
  })
})

describe('npx @github/local-action run . src/post.ts .env', () => {
  test('the post step, as the entry, drops the temporary database the state names', async () => {
    const leftover = 'backup_verify_20990101t000000_1a2b3c'
    await server.query(`CREATE DATABASE ${leftover}`)
    const run = await runLocalAction('src/post.ts', {
      'INPUT_DATABASE-URL': server.url('shop'),
      'STATE_temporary-databases': JSON.stringify([leftover])
    })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Dropped leftover temporary database ${leftover}`)
    expect(run.outputs).toEqual({})
    expect(run.stdout).toContain('No outputs were set!')
    expect(await temporaryDatabases(server)).toEqual([])
    expect(run.shown).not.toContain(server.password)
  })
})

describe('npx @github/local-action run report ../src/fleet-report.ts .env', () => {
  test('the report action (report/action.yml): its run() over a folder of receipts, its outputs, its exit code', async () => {
    const receipts = path.join(work, 'receipts')
    await mkdir(receipts)
    const startedAt = new Date().toISOString()
    for (const [name, status] of [
      ['orders', 'passed'],
      ['billing', 'failed']
    ] as const) {
      await writeReceipt(receipts, buildReceipt({ status, name, method: 'logical', phases: [], startedAt, durationMs: 1000 }))
    }
    const run = await runLocalAction(
      '../src/fleet-report.ts',
      { INPUT_RECEIPTS: receipts, INPUT_EXPECTED: JSON.stringify(['orders', 'billing', 'audit']) },
      [],
      'report'
    )
    expect(run.code).toBe(1)
    expect(run.outputs).toEqual({
      passed: '1',
      failed: '1',
      missing: '1',
      'report-path': expect.stringMatching(/backup-verify-fleet-report-/)
    })
    expect(run.stdout).toContain('❌ 1 failed, 1 missing; 1 passed, 0 skipped.')
  })
})
