// Inputs and connection resolution: pure, no server.

import { describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chooseConnection, redactUrl } from '../../../src/inputs/connection.js'
import { describeTarget } from '../../../src/connection/target.js'
import { readDotenv } from '../../../src/inputs/dotenv.js'
import { loadSettings, rawSecrets } from '../../../src/inputs/inputs.js'
import { parseSize } from '../../../src/inputs/size.js'
import { describeBytes } from '../../../src/run/bytes.js'
import { InputError } from '../../../src/run/errors.js'

const noFile = undefined

function settings(inputs: Record<string, string>, environment: Record<string, string> = {}, cwd = os.tmpdir()) {
  return loadSettings({ get: (name) => inputs[name] ?? '', environment, workingDirectory: cwd, dotenv: readDotenv(cwd) })
}

describe('min-size', () => {
  test.each([
    ['1024', 1024],
    ['10240', 10240],
    ['10KB', 10_000],
    ['10 KiB', 10_240],
    ['10kib', 10_240],
    ['5MB', 5_000_000],
    ['5 MiB', 5 * 1024 * 1024],
    ['1.5GB', 1_500_000_000],
    ['0', 0],
    ['2 bytes', 2]
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  test.each(['abc', '-5', '10 XB', '', '1e6', '10 K B', '99999999999999999999'])('%j is refused', (text) => {
    expect(parseSize(text)).toBeUndefined()
  })

  test('a bad value names the input, the value and the accepted forms', () => {
    expect(() => settings({ 'min-size': '-5', 'database-url': 'postgresql://u@h/d' })).toThrow(
      'Input "min-size" has an invalid value "-5": expected a whole number of bytes or a number with a unit'
    )
  })

  test('the default is 1 KiB', () => {
    expect(settings({ 'database-url': 'postgresql://u@h/d' }).minSizeBytes).toBe(1024)
  })

  test('sizes are printed exactly and in binary units', () => {
    expect(describeBytes(45_678)).toBe('45,678 bytes (44.6 KiB)')
    expect(describeBytes(512)).toBe('512 bytes')
  })
})

describe('verify', () => {
  const url = 'postgresql://u:p@127.0.0.1/app'
  test('empty: data for a dump, rows for a base backup; a level given is kept, an unknown one refused', () => {
    expect(settings({ 'database-url': url })).toMatchObject({ verifyLevel: 'data', given: { verify: undefined } })
    expect(settings({ 'database-url': url, method: 'physical' }).verifyLevel).toBe('rows')
    expect(settings({ 'database-url': url, method: 'physical', verify: 'data' })).toMatchObject({
      verifyLevel: 'data',
      given: { verify: 'data' }
    })
    expect(settings({ 'database-url': url, verify: ' Rows ' }).verifyLevel).toBe('rows')
    expect(() => settings({ 'database-url': url, verify: 'all' })).toThrow('Input "verify" has an invalid value "all"')
  })
})

describe('booleans', () => {
  test('verbose and keep-backup accept true/false and refuse anything else, naming the input', () => {
    expect(settings({ verbose: 'true', 'database-url': 'postgresql://u@h/d' }).verbose).toBe(true)
    expect(settings({ 'keep-backup': 'false', 'database-url': 'postgresql://u@h/d' }).keepBackup).toBe(false)
    expect(() => settings({ verbose: 'maybe', 'database-url': 'postgresql://u@h/d' })).toThrow(
      'Input "verbose" has an invalid value "maybe": expected true or false.'
    )
  })
})

describe('database-url', () => {
  const target = (url: string) => {
    const choice = chooseConnection(url, {}, noFile)
    if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL target')
    return choice.target
  }

  test('URL-encoded passwords are decoded', () => {
    const t = target(`postgresql://app:${encodeURIComponent('p@ss:w/rd?#%\' "')}@db.example.test:6543/shop`)
    expect(t).toMatchObject({ host: 'db.example.test', port: 6543, user: 'app', database: 'shop', password: 'p@ss:w/rd?#%\' "' })
  })

  test('sslmode and other libpq parameters are kept for the client tools', () => {
    const t = target('postgres://app:pw@localhost/shop?sslmode=require&application_name=nightly')
    expect(t.parameters).toEqual({ sslmode: 'require', application_name: 'nightly' })
    expect(t.tls).toEqual({ mode: 'require' })
  })

  test('a Unix-socket host, given encoded or as a parameter', () => {
    expect(target('postgresql://app@%2Fvar%2Frun%2Fpostgresql/shop').host).toBe('/var/run/postgresql')
    expect(target('postgresql:///shop?host=/tmp').host).toBe('/tmp')
  })

  test('an IPv6 literal', () => {
    const t = target('postgresql://app:pw@[::1]:5433/shop')
    expect(t.host).toBe('::1')
    expect(t.port).toBe(5433)
    expect(describeTarget(t)).toBe('app@[::1]:5433/shop')
  })

  test('defaults: port 5432, user postgres', () => {
    expect(target('postgresql://localhost/shop')).toMatchObject({ port: 5432, user: 'postgres', password: undefined })
  })

  test.each([
    ['not a url', 'a URL such as postgresql://'],
    ['http://example.test/db', 'a URL such as postgresql://'],
    ['postgresql://u:pw@host:99999/db', 'a URL such as postgresql://'],
    ['postgresql://u:pw@host', 'the URL names no database']
  ])('%s is refused before any connection', (url, accepted) => {
    expect(() => chooseConnection(url, {}, noFile)).toThrow(InputError)
    expect(() => chooseConnection(url, {}, noFile)).toThrow(accepted)
  })

  test('the value in an error has its password removed, even an unencoded "@" in it', () => {
    let message = ''
    try {
      chooseConnection('postgresql://u:p@ss@host:99999/db', {}, noFile)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('"postgresql://u:***@host:99999/db"')
    expect(message).not.toContain('p@ss')
    expect(redactUrl('postgresql://u:secret@h/d?password=other')).toBe('postgresql://u:***@h/d?password=***')
  })

  test('SQLite and other engines are not errors but a skip, with the engine named', () => {
    expect(chooseConnection('sqlite:///db.sqlite3', {}, noFile)).toMatchObject({ kind: 'unsupported', engine: 'sqlite' })
    expect(chooseConnection('mysql://u:p@h/d', {}, noFile)).toMatchObject({ kind: 'unsupported', engine: 'mysql' })
  })
})

describe('where the connection comes from', () => {
  const env = {
    DB_ENGINE: 'django.db.backends.postgresql',
    DB_NAME: 'fromvars',
    DB_USER: 'varuser',
    DB_PASSWORD: 'varpass',
    DB_HOST: 'varhost',
    DB_PORT: '5555'
  }

  test('the input wins over DATABASE_URL, which wins over DB_*', () => {
    expect(chooseConnection('postgresql://a@h/input', { DATABASE_URL: 'postgresql://a@h/var', ...env }, noFile)).toMatchObject({
      origin: 'input database-url',
      target: { database: 'input' }
    })
    expect(chooseConnection('', { DATABASE_URL: 'postgresql://a@h/var', ...env }, noFile)).toMatchObject({
      origin: 'DATABASE_URL variable',
      target: { database: 'var' }
    })
    expect(chooseConnection('', env, { DATABASE_URL: 'postgresql://a@h/file' })).toMatchObject({
      origin: 'DB_* variables',
      target: { host: 'varhost', port: 5555, user: 'varuser', password: 'varpass', database: 'fromvars' }
    })
  })

  test('a .env file is read last, and variables win over its values', () => {
    expect(chooseConnection('', {}, { DATABASE_URL: 'postgresql://a@h/file' })).toMatchObject({ origin: '.env file (DATABASE_URL)' })
    // The password in the environment, the rest in the file: a common split.
    expect(chooseConnection('', { DB_PASSWORD: 'from-env' }, { DB_NAME: 'filedb', DB_HOST: 'filehost' })).toMatchObject({
      origin: '.env file (DB_* variables)',
      target: { database: 'filedb', host: 'filehost', password: 'from-env', port: 5432, user: 'postgres' }
    })
  })

  test('DB_ENGINE sqlite3 is a skip', () => {
    expect(chooseConnection('', { DB_ENGINE: 'django.db.backends.sqlite3', DB_NAME: 'db.sqlite3' }, noFile)).toEqual({
      kind: 'unsupported',
      engine: 'django.db.backends.sqlite3',
      origin: 'DB_* variables'
    })
  })

  test('PostGIS counts as PostgreSQL', () => {
    expect(chooseConnection('', { DB_ENGINE: 'django.contrib.gis.db.backends.postgis', DB_NAME: 'geo' }, noFile)?.kind).toBe('postgres')
  })

  test('a bad DB_PORT names the variable', () => {
    expect(() => chooseConnection('', { DB_NAME: 'x', DB_PORT: 'abc' }, noFile)).toThrow('Input "DB_PORT" has an invalid value "abc"')
  })

  test('nothing anywhere is a clear error', () => {
    expect(() => settings({}, {})).toThrow(
      'neither DATABASE_URL, DB_NAME nor DJANGO_SETTINGS_MODULE is set in the environment or in a .env file'
    )
  })

  test('a .env file in the working directory is parsed, quotes and comments included', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-dotenv-unit-'))
    try {
      await writeFile(path.join(cwd, '.env'), '# settings\nDATABASE_URL="postgresql://app:pw@dbhost:5433/app" # main\n')
      const loaded = settings({}, {}, cwd)
      expect(loaded.connection).toMatchObject({ kind: 'postgres', target: { host: 'dbhost', port: 5433, database: 'app' } })
      expect(loaded.secrets).toContain('pw')
    } finally {
      await rm(cwd, { recursive: true, force: true })
    }
  })

  test("connect-timeout: the input, else the URL's connect_timeout, else 10 seconds", () => {
    const target = (inputs: Record<string, string>) => {
      const loaded = settings(inputs)
      return loaded.connection.kind === 'postgres' ? loaded.connection.target : undefined
    }
    expect(target({ 'database-url': 'postgresql://u@h/d' })?.connectTimeoutSeconds).toBe(10)
    expect(target({ 'database-url': 'postgresql://u@h/d?connect_timeout=4' })?.connectTimeoutSeconds).toBe(4)
    expect(target({ 'database-url': 'postgresql://u@h/d?connect_timeout=4', 'connect-timeout': '30' })?.connectTimeoutSeconds).toBe(30)
    expect(() => settings({ 'database-url': 'postgresql://u@h/d', 'connect-timeout': '0' })).toThrow(
      'Input "connect-timeout" has an invalid value "0": expected a duration such as 90s, 5m, 1h30m, 7d or 250ms (a bare number is seconds), from 1s to 10m.'
    )
  })

  test('every duration input takes one form; a bare number keeps its unit (minutes for timeout, seconds elsewhere)', () => {
    const connectSeconds = (value: string) => {
      const loaded = settings({ 'database-url': 'postgresql://u@h/d', 'connect-timeout': value })
      return loaded.connection.kind === 'postgres' ? loaded.connection.target.connectTimeoutSeconds : undefined
    }
    expect(['30', '30s', '2m', '1m30s', '1.5s'].map(connectSeconds)).toEqual([30, 30, 120, 90, 2])
    const timeout = (value: string) => settings({ 'database-url': 'postgresql://u@h/d', timeout: value }).timeoutMs
    expect(['30', '0.5', '90s', '1h30m', '0', ''].map(timeout)).toEqual([1_800_000, 30_000, 90_000, 5_400_000, undefined, undefined])
    const withHistory = { 'database-url': 'postgresql://u@h/d', history: 'h.json' }
    const alerts = (inputs: Record<string, string>) => settings({ ...withHistory, ...inputs }).alerts
    expect(alerts({ 'max-duration': '90', 'max-age': '26h', 'max-restore-time': '1h30m' })).toMatchObject({
      maxDurationMs: 90_000,
      maxAgeMs: 93_600_000,
      maxRestoreMs: 5_400_000
    })
    expect(settings({ 'database-url': 'postgresql://u@h/d', 'checks-timeout': '2' }).checksTimeoutMs).toBe(2000)
    expect(() => settings({ 'database-url': 'postgresql://u@h/d', timeout: '2 days' })).toThrow(
      'Input "timeout" has an invalid value "2 days": expected a duration such as 90s, 5m, 1h30m, 7d or 250ms (a bare number is minutes), up to 24h; 0 or empty: no limit.'
    )
    expect(() => settings({ 'database-url': 'postgresql://u@h/d', timeout: '25h' })).toThrow('up to 24h')
    expect(() => settings({ 'database-url': 'postgresql://u@h/d', 'connect-timeout': '11m' })).toThrow('from 1s to 10m')
  })

  test('PGPASSWORD supplies a password the URL lacks, and is a secret', () => {
    const loaded = settings({ 'database-url': 'postgresql://app@h/d' }, { PGPASSWORD: 'pg-env-secret' })
    expect(loaded.connection).toMatchObject({ target: { password: 'pg-env-secret' } })
    expect(loaded.secrets).toContain('pg-env-secret')
  })

  test('raw secrets are known even when the URL cannot be parsed', () => {
    const secrets = rawSecrets({
      get: () => 'postgresql://u:p@ss@host:99999/db',
      environment: { DB_PASSWORD: 'x y' },
      workingDirectory: os.tmpdir()
    })
    expect(secrets).toContain('postgresql://u:p@ss@host:99999/db')
    expect(secrets).toContain('x y')
    expect(secrets).toContain('x%20y')
  })
})
