// Start-up, as the action, the post step and the terminal go through it: every spelling of a password
// is masked before the step that could print it, Django settings are read, and a bad input is named.
// No server: the Django settings are read with this machine's python3, where there is one.

import { testIf } from '../../support/skips.js'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startUp } from '../../../src/inputs/start-up.js'
import { loadSettings, type RawInputs } from '../../../src/inputs/inputs.js'
import { readConnectionInputs } from '../../../src/inputs/connection-inputs.js'
import { describeFatal, InputError, VerificationError } from '../../../src/run/errors.js'
import { Redactor } from '../../../src/run/secrets.js'
import { consoleReporter } from '../../../src/terminal/console-reporter.js'

const python = ['python3', '/usr/bin/python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import sys'], { stdio: 'ignore' }).status === 0
)
if (!python) console.warn('Skipping the Django settings cases of start-up: no python3 on this machine')
const maybe = testIf(python ? undefined : 'no python3 on this machine')

// A password whose lower-case URL encoding only the parsed settings know: it is masked after parsing.
const PASSWORD = 'pä ss'
const WRITTEN = encodeURIComponent(PASSWORD)
const SOURCE_URL = `postgresql://app:${WRITTEN}@db.internal:5433/shop`
const DJANGO_PASSWORD = 'dj@ngo pw'

// Imported by the project's Python: it leaves a mark, so a test sees when (and whether) it ran.
const SETTINGS = `
import os
open(os.path.join(os.getcwd(), "imported"), "w").close()
print("settings with", os.environ["APP_DB_PASSWORD"])
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "USER": "app",
                         "PASSWORD": os.environ["APP_DB_PASSWORD"], "HOST": "db.internal", "PORT": "5433"}}
`

let project: string

beforeAll(async () => {
  project = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-start-up-'))
  await writeFile(path.join(project, 'site_settings.py'), SETTINGS)
})

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true })
})

function rawInputs(inputs: Record<string, string>, environment: Record<string, string> = {}): RawInputs {
  return { get: (name) => inputs[name] ?? '', environment, workingDirectory: project }
}

function djangoInputs(inputs: Record<string, string> = {}): RawInputs {
  return rawInputs(
    { 'python-path': python as string, 'min-size': '0', ...inputs },
    {
      DJANGO_SETTINGS_MODULE: 'site_settings',
      APP_DB_PASSWORD: DJANGO_PASSWORD,
      PATH: process.env.PATH ?? '',
      // pyenv's shims find their Python through these.
      ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {}),
      ...(process.env.HOME ? { HOME: process.env.HOME } : {})
    }
  )
}

/** What start-up did, in order: each secret masked, and the moment the inputs were parsed. */
function recorder() {
  const events: string[] = []
  return {
    events,
    mask: (secret: string) => void events.push(`mask ${secret}`),
    masked: () => events.filter((event) => event.startsWith('mask ')).map((event) => event.slice('mask '.length)),
    parsedAt: () => events.indexOf('read'),
    /** Reads with loadSettings, noting when. */
    read: (raw: RawInputs) => {
      events.push('read')
      return loadSettings(raw)
    }
  }
}

function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret))
}

describe('start-up', () => {
  test('the password as written is masked at once, before anything is parsed; the spellings parsing finds, right after', async () => {
    const run = recorder()
    const start = startUp(rawInputs({ 'database-url': SOURCE_URL, 'min-size': '0' }), run.mask)
    // Before any line, any file or any parsing: the URL, the password as written and decoded.
    expect(run.masked()).toEqual(expect.arrayContaining([SOURCE_URL, WRITTEN, PASSWORD]))
    expect(run.parsedAt()).toBe(-1)

    const settings = await start.settings(run.read)
    expect(settings.connection.kind === 'postgres' && settings.connection.target.password).toBe(PASSWORD)
    const lowerCase = WRITTEN.toLowerCase()
    expect(settings.secrets).toContain(lowerCase)
    // Known only once parsed: masked after parsing, and before the caller prints anything.
    expect(run.events.indexOf(`mask ${lowerCase}`)).toBeGreaterThan(run.parsedAt())
    expect(run.masked()).toEqual(expect.arrayContaining(settings.secrets))

    // What the terminal prints, and the text of an error, hide every spelling.
    const printed: string[] = []
    const write = (chunk: string) => printed.push(chunk) > 0
    const reporter = consoleReporter(
      start.redactor,
      { write } as unknown as typeof process.stdout,
      { write } as unknown as typeof process.stderr
    )
    reporter.info(`connecting to ${SOURCE_URL} with ${PASSWORD} (${lowerCase})`)
    reporter.warning(`tried ${WRITTEN}`)
    const fatal = describeFatal(
      new VerificationError('authentication-failed', `password ${PASSWORD} refused`, `check ${SOURCE_URL}`),
      start.redactor
    )
    expect(fatal).toBe('password *** refused\nHint: check ***')
    expect(leaks([...printed, fatal].join('\n'), [PASSWORD, WRITTEN, lowerCase, 'ä'])).toEqual([])
  })

  test('a bad input fails naming the input and the value, its password masked before the error and absent from it', async () => {
    const run = recorder()
    const start = startUp(rawInputs({ 'min-size': 'abc' }, { DATABASE_URL: SOURCE_URL }), run.mask)
    expect(run.masked()).toContain(PASSWORD)
    const failure = await start.settings(run.read).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(InputError)
    const text = describeFatal(failure, start.redactor)
    expect(text).toContain('Input "min-size" has an invalid value "abc"')
    expect(leaks(text, [PASSWORD, WRITTEN, SOURCE_URL])).toEqual([])
  })

  test('a restore server that is not PostgreSQL is named, its URL shown without the password', async () => {
    const other = `mysql://app:${WRITTEN}@db.internal/shop`
    const start = startUp(rawInputs({ 'database-url': SOURCE_URL, 'restore-database-url': other }), () => {})
    const failure = await start.settings(loadSettings).catch((error: unknown) => error)
    const text = describeFatal(failure, start.redactor)
    expect(text).toContain('Input "restore-database-url" has an invalid value')
    expect(leaks(text, [PASSWORD, WRITTEN, other])).toEqual([])
  })

  test('the post step reads the connection alone, and masks what it holds', async () => {
    const masked: string[] = []
    const start = startUp(rawInputs({ 'database-url': SOURCE_URL }), (secret) => void masked.push(secret))
    const inputs = await start.settings(readConnectionInputs)
    expect(inputs.connection.kind === 'postgres' && inputs.connection.target.host).toBe('db.internal')
    expect(masked).toEqual(expect.arrayContaining(inputs.secrets))
  })

  maybe('Django settings are read only when asked for, and their password masked before the inputs are parsed', async () => {
    const run = recorder()
    const start = startUp(djangoInputs(), run.mask)
    // Its password is not known yet, and the project's Python has not run.
    expect(run.masked()).not.toContain(DJANGO_PASSWORD)
    expect(existsSync(path.join(project, 'imported'))).toBe(false)

    const settings = await start.settings(run.read)
    expect(existsSync(path.join(project, 'imported'))).toBe(true)
    expect(settings.connection.kind).toBe('postgres')
    if (settings.connection.kind !== 'postgres') return
    expect(settings.connection.origin).toContain('DJANGO_SETTINGS_MODULE (site_settings')
    expect(settings.connection.target).toMatchObject({
      host: 'db.internal',
      port: 5433,
      user: 'app',
      database: 'shop',
      password: DJANGO_PASSWORD
    })
    const maskedAt = run.events.indexOf(`mask ${DJANGO_PASSWORD}`)
    expect(maskedAt).toBeGreaterThanOrEqual(0)
    expect(maskedAt).toBeLessThan(run.parsedAt())
    expect(run.masked()).toEqual(expect.arrayContaining(settings.secrets))
    expect(start.redactor.redact(`as app with ${DJANGO_PASSWORD} (${encodeURIComponent(DJANGO_PASSWORD)})`)).toBe('as app with *** (***)')
  })

  maybe("a bad django-database fails naming it, before the project's Python runs", async () => {
    await rm(path.join(project, 'imported'), { force: true })
    const start = startUp(djangoInputs({ 'django-database': 'default\nreplica' }), () => {})
    const failure = await start.settings(loadSettings).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(InputError)
    expect(describeFatal(failure, start.redactor)).toContain('Input "django-database" has an invalid value')
    expect(existsSync(path.join(project, 'imported'))).toBe(false)
  })
})

describe('describeFatal', () => {
  test('the message alone when there is no hint; anything thrown is text', () => {
    const redactor = new Redactor(['s3cret'])
    expect(describeFatal(new Error('bad s3cret'), redactor)).toBe('bad ***')
    expect(describeFatal(new VerificationError('bad-input', 'no hint', ''), redactor)).toBe('no hint')
    expect(describeFatal('thrown s3cret', redactor)).toBe('thrown ***')
    expect(describeFatal(undefined, redactor)).toBe('undefined')
  })
})
