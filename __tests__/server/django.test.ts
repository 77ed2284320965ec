// DJANGO_SETTINGS_MODULE, read with the machine's real Python: a settings module in a temporary
// project that builds DATABASES from environment variables, the action's bundle run on it as the
// runner runs it, and, where Debian's python3-django is installed, a module that imports Django.

import { testIf, testNeeding } from '../support/skips.js'
import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createSampleDatabase, startServer, TEST_PASSWORD, temporaryDatabases, type TestServer } from '../support/server.js'
import { runBundle, withoutProperties } from '../support/runner.js'

const python = ['python3', '/usr/bin/python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import sys'], { stdio: 'ignore' }).status === 0
)
if (!python) console.warn('Skipping the Django settings tests: no python3 on this machine')
const withDjango = spawnSync('/usr/bin/python3', ['-c', 'import django.conf'], { stdio: 'ignore' }).status === 0
if (!withDjango) console.warn('Skipping the test that imports Django: /usr/bin/python3 has no django (apt-get install python3-django)')
// python3 is the machine's (setup installs Debian's Django for it, not Python itself).
const maybe = testIf(python ? undefined : 'no python3 on this machine')

let server: TestServer
let project: string

// Built from the environment, as twelve-factor settings are; prints to stdout as some settings do.
const SETTINGS = `
import os
print("loading settings for", os.environ.get("APP_ENV", "ci"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["APP_DB_NAME"],
        "USER": os.environ.get("APP_DB_USER", "postgres"),
        "PASSWORD": os.environ["APP_DB_PASSWORD"],
        "HOST": "127.0.0.1",
        "PORT": int(os.environ["APP_DB_PORT"]),
        "OPTIONS": {"sslmode": "disable", "application_name": "django-ci", "server_side_binding": True},
    },
    "cache": {"ENGINE": "django.db.backends.sqlite3", "NAME": "cache.sqlite3"},
}
`

// Imports Django itself, as real settings modules do.
const DJANGO_SETTINGS = `
import os
from django.core.exceptions import ImproperlyConfigured
from django.conf import global_settings
SECRET_KEY = "not-secret"
INSTALLED_APPS = list(global_settings.INSTALLED_APPS) + ["django.contrib.contenttypes"]
if "APP_DB_PASSWORD" not in os.environ:
    raise ImproperlyConfigured("APP_DB_PASSWORD is not set")
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "USER": "postgres",
                         "PASSWORD": os.environ["APP_DB_PASSWORD"], "HOST": "localhost", "PORT": os.environ["APP_DB_PORT"]}}
`

const BROKEN_SETTINGS = `
import os
raise RuntimeError("cannot reach postgresql://app:" + os.environ["APP_DB_PASSWORD"] + "@db.internal/app")
`

beforeAll(async () => {
  if (!python) return
  server = await startServer()
  await createSampleDatabase(server, 'shop')
  project = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-django-'))
  await mkdir(path.join(project, 'mysite'))
  await writeFile(path.join(project, 'mysite', '__init__.py'), '')
  await writeFile(path.join(project, 'mysite', 'settings.py'), SETTINGS)
  await writeFile(path.join(project, 'mysite', 'with_django.py'), DJANGO_SETTINGS)
  await writeFile(path.join(project, 'mysite', 'broken.py'), BROKEN_SETTINGS)
})

afterAll(async () => {
  await server?.stop()
  if (project) await rm(project, { recursive: true, force: true })
})

function run(module: string, inputs: Record<string, string> = {}) {
  return runBundle('dist/index.js', {
    cwd: project,
    inputs: { 'python-path': python as string, 'min-size': '0', ...inputs },
    env: {
      DJANGO_SETTINGS_MODULE: module,
      APP_DB_NAME: 'shop',
      APP_DB_PASSWORD: TEST_PASSWORD,
      APP_DB_PORT: String(server.port),
      // pyenv's shims find their Python through these.
      ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {})
    }
  })
}

const secretForms = [TEST_PASSWORD, encodeURIComponent(TEST_PASSWORD), JSON.stringify(TEST_PASSWORD).slice(1, -1)]

describe('DJANGO_SETTINGS_MODULE', () => {
  maybe('a settings module built from the environment: verified, its password in no output', async () => {
    const result = await run('mysite.settings')
    expect(result.stdout).toContain('Backup verified')
    expect(result.code).toBe(0)
    expect(result.outputs.result).toBe('passed')
    expect(result.masks).toContain(TEST_PASSWORD)
    for (const form of secretForms) expect(result.everything).not.toContain(form)
    expect(result.summary).toContain('postgres@127.0.0.1')
    expect(await temporaryDatabases(server)).toEqual([])
  })

  maybe('the post step reads the same settings to drop a temporary database the main step left', async () => {
    await server.query('CREATE DATABASE backup_verify_20261202t000000_d1a9c0')
    const post = await runBundle('dist/post/index.js', {
      cwd: project,
      inputs: { 'python-path': python as string },
      state: { 'temporary-databases': JSON.stringify(['backup_verify_20261202t000000_d1a9c0']) },
      env: {
        DJANGO_SETTINGS_MODULE: 'mysite.settings',
        APP_DB_NAME: 'shop',
        APP_DB_PASSWORD: TEST_PASSWORD,
        APP_DB_PORT: String(server.port),
        ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {})
      }
    })
    expect(post.stdout).toContain('Dropped leftover temporary database backup_verify_20261202t000000_d1a9c0')
    expect(await temporaryDatabases(server)).toEqual([])
    for (const form of secretForms) expect(post.everything).not.toContain(form)
  })

  maybe('an alias whose ENGINE is sqlite is skipped with a notice, as DB_ENGINE is', async () => {
    const result = await run('mysite.settings', { 'django-database': 'cache' })
    expect(result.code).toBe(0)
    expect(result.outputs.result).toBe('skipped')
    expect(result.stdout).toContain(
      'Backup tests require PostgreSQL, found: sqlite (from DJANGO_SETTINGS_MODULE (mysite.settings, DATABASES["cache"])); skipping.'
    )
  })

  maybe('no such alias: the error names DJANGO_SETTINGS_MODULE, the alias and the aliases there are', async () => {
    const result = await run('mysite.settings', { 'django-database': 'replica' })
    expect(result.code).toBe(1)
    expect(withoutProperties(result.stdout)).toContain(
      '::error::DJANGO_SETTINGS_MODULE (mysite.settings): DATABASES has no alias "replica" (it has: default, cache)%0AHint: Set django-database to one of its aliases.'
    )
  })

  maybe('a module that fails to import: its exception shown, the password in it hidden', async () => {
    const result = await run('mysite.broken')
    expect(result.code).toBe(1)
    expect(withoutProperties(result.stdout)).toMatch(
      /::error::DJANGO_SETTINGS_MODULE \(mysite\.broken\): the settings module failed to import: RuntimeError: cannot reach postgresql:\/\/app:\*\*\*@db\.internal\/app/
    )
    for (const form of secretForms) expect(result.everything).not.toContain(form)
  })

  maybe('a Python that is not there: the error names python-path and DJANGO_SETTINGS_MODULE', async () => {
    const result = await run('mysite.settings', { 'python-path': path.join(project, 'no-such-python') })
    expect(result.code).toBe(1)
    expect(withoutProperties(result.stdout)).toContain(
      `::error::DJANGO_SETTINGS_MODULE (mysite.settings): the Python to import it with, "${path.join(project, 'no-such-python')}" (input python-path), was not found`
    )
  })

  maybe('a name that is not a module is refused before Python runs', async () => {
    const result = await run('mysite/settings.py')
    expect(result.code).toBe(1)
    expect(withoutProperties(result.stdout)).toContain(
      '::error::DJANGO_SETTINGS_MODULE (mysite/settings.py): is not a dotted Python module name'
    )
  })

  maybe('database-url wins over DJANGO_SETTINGS_MODULE: the settings are not imported', async () => {
    const result = await run('mysite.broken', { 'database-url': server.url('shop') })
    expect(result.code).toBe(0)
    expect(result.outputs.result).toBe('passed')
  })

  const withDjangoTest = python
    ? testNeeding('Django for /usr/bin/python3 (python3-django)', withDjango)
    : testIf('no python3 on this machine')
  withDjangoTest('a settings module that imports Django, read through django.conf', async () => {
    const result = await run('mysite.with_django', { 'python-path': '/usr/bin/python3' })
    expect(result.code).toBe(0)
    expect(result.outputs.result).toBe('passed')
    expect(result.stdout).toContain('postgres@localhost')
    for (const form of secretForms) expect(result.everything).not.toContain(form)
  })
})
