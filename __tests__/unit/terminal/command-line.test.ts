// The terminal's flags, with no server: the same names, defaults and errors as the action's inputs.

import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { parseCommandLine, USAGE } from '../../../src/terminal/args.js'
import { runCommandLine } from '../../../src/terminal/run.js'
import { loadSettings } from '../../../src/inputs/inputs.js'
import { ROOT } from '../../support/runner.js'

let folder: string

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-cli-'))
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

const settingsOf = (argv: string[], environment: Record<string, string> = {}, cwd = folder) =>
  loadSettings(parseCommandLine(argv, environment, cwd).raw)

describe('flags', () => {
  test('every input of action.yml is a flag of the same name, listed in --help', async () => {
    const action = parse(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }
    const inputs = Object.keys(action.inputs)
    expect(inputs.length).toBeGreaterThan(15)
    for (const input of inputs) {
      expect(USAGE).toContain(`--${input}`)
      // A switch (--strict) or a flag with a value (--format x): one of the two is accepted and read.
      const forms = [[`--${input}`], [`--${input}`, 'x']].filter((argv) => {
        try {
          return parseCommandLine(argv, {}, folder).raw.get(input) !== ''
        } catch {
          return false
        }
      })
      expect(forms).toHaveLength(1)
    }
  })

  test('flags become the settings the same inputs would give, in both spellings', () => {
    const settings = settingsOf([
      '--database-url=postgresql://app@db.example:6543/shop',
      '--format',
      'custom',
      '--compression=zstd:3',
      '--jobs',
      '3',
      '--verify=data',
      '--strict',
      '--keep-backup',
      '--min-size',
      '10KB',
      '--timeout',
      '5',
      '--connect-timeout',
      '7',
      '--pipeline=false'
    ])
    expect(settings).toMatchObject({
      connection: { kind: 'postgres', target: { host: 'db.example', port: 6543, user: 'app', database: 'shop', connectTimeoutSeconds: 7 } },
      format: 'custom',
      compression: { method: 'zstd', level: 3 },
      jobs: 3,
      verifyLevel: 'data',
      strict: true,
      keepBackup: true,
      minSizeBytes: 10_000,
      timeoutMs: 300_000,
      pipeline: false,
      verbose: false
    })
  })

  test("without flags: the action's defaults, and the connection from DATABASE_URL", () => {
    const settings = settingsOf([], { DATABASE_URL: 'postgres://u:p@127.0.0.1/app' })
    expect(settings).toMatchObject({
      connection: { kind: 'postgres', target: { host: '127.0.0.1', port: 5432, database: 'app', password: 'p' } },
      format: 'plain',
      verifyLevel: 'data',
      minSizeBytes: 1024,
      pipeline: true,
      strict: false,
      keepBackup: false
    })
    expect(settings.timeoutMs).toBeUndefined()
  })

  test('a .env file in the working folder is read when nothing else names the database', async () => {
    const project = await mkdtemp(path.join(folder, 'project-'))
    await writeFile(
      path.join(project, '.env'),
      'DB_ENGINE=django.db.backends.postgresql\nDB_NAME=shop\nDB_USER=app\nDB_HOST=db\nDB_PORT=5433\n'
    )
    expect(settingsOf([], {}, project).connection).toMatchObject({
      kind: 'postgres',
      origin: '.env file (DB_* variables)',
      target: { host: 'db', port: 5433, user: 'app', database: 'shop' }
    })
    // A flag wins over the file.
    expect(settingsOf(['--database-url', 'postgresql://x@h/other'], {}, project).connection).toMatchObject({
      target: { database: 'other' }
    })
  })

  test('-h and --help ask for help; a flag it does not know, a value where none belongs, or a missing value is an error', () => {
    expect(parseCommandLine(['-h'], {}, folder).help).toBe(true)
    expect(parseCommandLine(['--help'], {}, folder).help).toBe(true)
    expect(() => parseCommandLine(['--databse-url', 'x'], {}, folder)).toThrow(/--databse-url/)
    expect(() => parseCommandLine(['postgresql://x@h/db'], {}, folder)).toThrow(/postgresql:\/\/x@h\/db/)
    expect(() => parseCommandLine(['--format'], {}, folder)).toThrow(/--format/)
  })
})

describe('the command', () => {
  let written: string[]
  beforeAll(() => {
    written = []
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
  })
  afterEach(() => {
    written.length = 0
  })
  afterAll(() => {
    jest.restoreAllMocks()
  })

  test('an unknown flag exits 1 with the error, then the usage', async () => {
    expect(await runCommandLine(['--bogus'], {}, folder)).toBe(1)
    const text = written.join('')
    expect(text).toMatch(/^error: .*'--bogus'/)
    expect(text).toContain('Usage: backup-verify [options]')
  })

  test('a bad value exits 1 naming the flag and the value, before any connection and without showing the password', async () => {
    const code = await runCommandLine(['--min-size', 'abc'], { DATABASE_URL: 'postgresql://app:s3cret-pw@127.0.0.1:9/app' }, folder)
    expect(code).toBe(1)
    const text = written.join('')
    expect(text).toContain('error: Input "min-size" has an invalid value "abc": expected a whole number of bytes')
    expect(text).not.toContain('s3cret-pw')
    expect(text).not.toContain('Usage:')
  })
})
