// connection: the ways a user's server is reached that are not the default. Every sslmode as libpq
// documents it, for the run's own sessions and the tools alike, against servers with and without
// TLS; sessions read-only by default (a role's setting, the URL's options) that must still restore;
// a password only in PGPASSFILE; the server's HINT in the failure; settings that cannot be used,
// said before any connection.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { clientEnvironment } from '../../src/connection/environment.js'
import { passwordFileEntry } from '../../src/connection/password-file.js'
import { openSession } from '../../src/connection/session.js'
import type { ConnectionTarget } from '../../src/connection/target.js'
import { chooseConnection } from '../../src/inputs/connection.js'
import { readTlsSettings } from '../../src/connection/tls.js'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { InputError, type VerificationError } from '../../src/run/errors.js'
import { Redactor } from '../../src/run/secrets.js'
import { describeFailure } from '../../src/engine/failure.js'
import pg from 'pg'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { startServer, temporaryDatabases, type TestServer } from '../support/server.js'

let plainServer: TestServer
let tlsServer: TestServer
let work: string
let tools: ClientTools
const PASSWORD = 'pw-of-the-roles'

/** A CA, and a certificate it signs for 127.0.0.1, readable by the account the server runs as. */
async function certificates(folder: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (name: string) => path.join(folder, name)
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=backup-verify test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt')
  ])
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr')])
  await writeFile(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.crt')
  ])
  await chmod(file('server.key'), 0o600)
  if (process.getuid?.() === 0) await chown(file('server.key'), Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), 0)
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-connection-'))
  await chmod(work, 0o755)
  tools = (await findClientTools())[0]
  const { cert, key } = await certificates(work)
  // "secure" may only connect over TLS, "cleartext" only without; postgres either way.
  const hba = path.join(work, 'pg_hba.conf')
  await writeFile(
    hba,
    [
      'local all all trust',
      ...['127.0.0.1/32', '::1/128'].flatMap((address) => [
        `hostssl all secure ${address} scram-sha-256`,
        `hostnossl all cleartext ${address} scram-sha-256`,
        `host all postgres ${address} scram-sha-256`
      ])
    ].join('\n') + '\n',
    { mode: 0o644 }
  )
  ;[plainServer, tlsServer] = await Promise.all([
    startServer(),
    startServer({ settings: ['ssl=on', `ssl_cert_file=${cert}`, `ssl_key_file=${key}`, `hba_file=${hba}`] })
  ])
  for (const server of [plainServer, tlsServer]) {
    await server.query(
      `CREATE ROLE secure LOGIN CREATEDB PASSWORD '${PASSWORD}'; CREATE ROLE cleartext LOGIN CREATEDB PASSWORD '${PASSWORD}'`
    )
    await server.query('CREATE DATABASE shop OWNER secure')
    await server.query(
      `SET ROLE secure; CREATE TABLE items (id int PRIMARY KEY, name text);
       INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g`,
      'shop'
    )
  }
})

afterAll(async () => {
  await Promise.all([plainServer?.stop(), tlsServer?.stop()])
  if (work) await rm(work, { recursive: true, force: true })
})

function target(url: string): ConnectionTarget {
  const choice = chooseConnection(url, {}, undefined)
  if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL target')
  return choice.target
}

function urlOf(server: TestServer, user: string, query: string, host = '127.0.0.1'): string {
  const password = user === server.user ? encodeURIComponent(server.password) : PASSWORD
  return `postgresql://${user}:${password}@${host}:${server.port}/shop${query ? `?${query}` : ''}`
}

const ENCRYPTED = 'SELECT ssl::text AS ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()'

/** How the run's own session connects: "tls", "plain", or the error. */
async function driverSession(url: string): Promise<string> {
  try {
    const session = await openSession(target(url))
    try {
      const { rows } = await session.query<{ ssl: string }>(ENCRYPTED)
      return rows[0].ssl === 'true' ? 'tls' : 'plain'
    } finally {
      await session.end()
    }
  } catch (error) {
    return `refused: ${(error as Error).message}`
  }
}

/** How psql connects with the environment the tools are given: "tls", "plain", or "refused". */
function toolSession(url: string): string {
  const t = target(url)
  const ran = spawnSync(tools.psql, ['-XAtc', ENCRYPTED], { env: clientEnvironment(t, t.database, undefined), encoding: 'utf8' })
  if (ran.status !== 0) return `refused: ${ran.stderr}`
  return ran.stdout.trim() === 'true' ? 'tls' : 'plain'
}

describe('sslmode', () => {
  const auth = 'sslrootcert=' // completed with the CA's path in each test
  const cases: Array<[string, 'plain' | 'tls', string, string, 'tls' | 'plain' | 'refused']> = [
    // mode, server, user, extra parameters, what libpq does
    ['(none)', 'plain', 'secure', '', 'plain'],
    ['disable', 'plain', 'secure', '', 'plain'],
    ['allow', 'plain', 'secure', '', 'plain'],
    ['prefer', 'plain', 'secure', '', 'plain'],
    ['require', 'plain', 'secure', '', 'refused'],
    ['verify-ca', 'plain', 'secure', auth, 'refused'],
    ['verify-full', 'plain', 'secure', auth, 'refused'],
    ['(none)', 'tls', 'postgres', '', 'tls'],
    ['disable', 'tls', 'postgres', '', 'plain'],
    ['allow', 'tls', 'postgres', '', 'plain'],
    ['prefer', 'tls', 'postgres', '', 'tls'],
    ['require', 'tls', 'postgres', '', 'tls'],
    ['verify-ca', 'tls', 'postgres', auth, 'tls'],
    ['verify-full', 'tls', 'postgres', auth, 'tls'],
    // A server that refuses a plain session: allow tries TLS next; disable cannot.
    ['disable', 'tls', 'secure', '', 'refused'],
    ['allow', 'tls', 'secure', '', 'tls'],
    ['prefer', 'tls', 'secure', '', 'tls'],
    // A server that refuses a TLS session: prefer tries plain next; require cannot.
    ['allow', 'tls', 'cleartext', '', 'plain'],
    ['prefer', 'tls', 'cleartext', '', 'plain'],
    ['(none)', 'tls', 'cleartext', '', 'plain'],
    ['require', 'tls', 'cleartext', '', 'refused']
  ]

  test.each(cases)('sslmode=%s, server with %s, user %s: the driver connects as libpq does', async (mode, kind, user, extra, expected) => {
    const server = kind === 'tls' ? tlsServer : plainServer
    const query = [mode === '(none)' ? '' : `sslmode=${mode}`, extra ? `${extra}${path.join(work, 'ca.crt')}` : '']
      .filter(Boolean)
      .join('&')
    const url = urlOf(server, user, query)
    const tool = toolSession(url)
    const driver = await driverSession(url)
    expect(tool.replace(/:[\s\S]*/, '')).toBe(expected)
    expect(driver.replace(/:[\s\S]*/, '')).toBe(expected)
  })

  test('verify-full checks the host name, verify-ca only the chain: as libpq does', async () => {
    const ca = path.join(work, 'ca.crt')
    // The certificate names 127.0.0.1, not localhost.
    const full = urlOf(tlsServer, 'postgres', `sslmode=verify-full&sslrootcert=${ca}`, 'localhost')
    const chain = urlOf(tlsServer, 'postgres', `sslmode=verify-ca&sslrootcert=${ca}`, 'localhost')
    expect(toolSession(full)).toMatch(/^refused/)
    expect(await driverSession(full)).toMatch(/^refused/)
    expect(toolSession(chain)).toBe('tls')
    expect(await driverSession(chain)).toBe('tls')
    // A root certificate that did not sign the server's: refused in require mode too (libpq verifies any root given).
    const other = path.join(work, 'other-ca.crt')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=other',
        '-keyout',
        path.join(work, 'other.key'),
        '-out',
        other
      ],
      { stdio: 'ignore' }
    )
    const wrongRoot = urlOf(tlsServer, 'postgres', `sslmode=require&sslrootcert=${other}`)
    expect(toolSession(wrongRoot)).toMatch(/^refused/)
    expect(await driverSession(wrongRoot)).toMatch(/^refused/)
    // Each refusal says what to change.
    const hintOf = (url: string) =>
      openSession(target(url)).then(
        () => '',
        (error: VerificationError) => `${error.message} ${error.hint}`
      )
    expect(await hintOf(full)).toContain('does not name "localhost"')
    expect(await hintOf(wrongRoot)).toContain("the server's certificate was not accepted")
    expect(await hintOf(urlOf(plainServer, 'secure', 'sslmode=require'))).toContain('the server does not accept TLS')
  })

  test.each([['prefer'], ['allow']])('sslmode=%s against a server without TLS: the backup is verified, plain and custom', async (mode) => {
    for (const format of ['plain', 'custom']) {
      const inputs: Record<string, string> = { 'database-url': urlOf(plainServer, 'secure', `sslmode=${mode}`), 'min-size': '0', format }
      const settings = settingsFrom(inputs, work)
      const result = await verifyBackup({
        settings,
        reporter: recordingReporter(),
        ledger: new MemoryLedger(),
        env: { PATH: process.env.PATH }
      })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
    }
    expect(await temporaryDatabases(plainServer)).toEqual([])
  })
})

async function verify(inputs: Record<string, string>) {
  const settings = settingsFrom(inputs, work)
  return verifyBackup({ settings, reporter: recordingReporter(), ledger: new MemoryLedger(), env: { PATH: process.env.PATH } })
}

describe('sessions read-only by default', () => {
  const ROLE_READ_ONLY = 'reader'
  const URL_READ_ONLY = `options=${encodeURIComponent('-c default_transaction_read_only=on')}`
  const backups: Record<string, string> = {}

  beforeAll(async () => {
    // A role whose sessions are read-only wherever it connects, owning the database it verifies.
    await plainServer.query(
      `CREATE ROLE ${ROLE_READ_ONLY} LOGIN CREATEDB PASSWORD '${PASSWORD}'; ALTER ROLE ${ROLE_READ_ONLY} SET default_transaction_read_only = on`
    )
    await plainServer.query(`CREATE DATABASE ro OWNER ${ROLE_READ_ONLY}`)
    await plainServer.query(
      `SET ROLE ${ROLE_READ_ONLY}; CREATE TABLE notes (id int PRIMARY KEY, body text);
       INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 300) g`,
      'ro'
    )
    const env = {
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(plainServer.port),
      PGUSER: 'postgres',
      PGPASSWORD: plainServer.password
    }
    for (const database of ['ro', 'shop']) {
      for (const format of ['plain', 'custom']) {
        backups[`${database}.${format}`] = path.join(work, `${database}.${format === 'plain' ? 'sql' : 'dump'}`)
        execFileSync(tools.pgDump, [`--format=${format}`, `--file=${backups[`${database}.${format}`]}`, database], { env })
      }
    }
  })

  const modes: Array<[string, string, string, string]> = [
    // how, the role, its database, the URL's parameters
    ['a role setting', ROLE_READ_ONLY, 'ro', ''],
    ["the URL's options", 'secure', 'shop', URL_READ_ONLY]
  ]

  test.each(modes)('read-only by %s: a new backup is verified, plain and custom', async (_how, user, database, query) => {
    for (const format of ['plain', 'custom']) {
      const url = urlOf(plainServer, user, query).replace('/shop', `/${database}`)
      const result = await verify({ 'database-url': url, 'min-size': '0', format })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
    }
    expect(await temporaryDatabases(plainServer)).toEqual([])
  })

  test.each(modes)('read-only by %s: an existing backup is verified, plain and custom', async (_how, user, database, query) => {
    for (const format of ['plain', 'custom']) {
      const url = urlOf(plainServer, user, query).replace('/shop', '/postgres')
      const result = await verify({ 'backup-file': backups[`${database}.${format}`], 'restore-database-url': url, 'min-size': '0' })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
    }
    expect(await temporaryDatabases(plainServer)).toEqual([])
  })

  test("only the temporary database's sessions are let write: pg_dump's keep the options the user gave", async () => {
    // The tools, each wrapped to note the database and the server options it was given.
    const wrapped = path.join(work, 'wrapped-tools')
    const noted = path.join(work, 'tool-sessions.log')
    await mkdir(wrapped, { recursive: true })
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      const note = `[ -z "$PGDATABASE" ] || echo "${tool} $PGDATABASE $PGOPTIONS" >> '${noted}'`
      const script = `#!/bin/sh\n${note}\nexec '${path.join(tools.directory, tool)}' "$@"\n`
      await writeFile(path.join(wrapped, tool), script, { mode: 0o755 })
    }
    const url = urlOf(plainServer, 'secure', URL_READ_ONLY)
    const inputs: Record<string, string> = { 'database-url': url, 'min-size': '0', format: 'custom' }
    const settings = settingsFrom(inputs, work)
    const result = await verifyBackup({
      settings,
      reporter: recordingReporter(),
      ledger: new MemoryLedger(),
      env: { PATH: process.env.PATH, PGBIN: wrapped }
    })
    expect(result.status).toBe('passed')
    const sessions = (await readFile(noted, 'utf8')).trim().split('\n')
    const dumps = sessions.filter((line) => line.startsWith('pg_dump '))
    const restores = sessions.filter((line) => line.startsWith('pg_restore ') && line.includes(' backup_verify_'))
    expect(dumps.length).toBeGreaterThan(0)
    expect(restores.length).toBeGreaterThan(0)
    for (const line of dumps) expect(line).toBe('pg_dump shop -c default_transaction_read_only=on')
    for (const line of restores) expect(line).toMatch(/-c default_transaction_read_only=on -c default_transaction_read_only=off$/)
  })
})

describe('a password only in the password file', () => {
  test('libpq lines: wildcards, escapes, the first match, a socket as localhost', () => {
    const text = ['# comment', 'db.example.test:5432:shop:app:first', '*:*:shop:app:second', String.raw`*:*:*:*:c\:o\\lon:tail`].join('\n')
    const at = { host: 'db.example.test', port: 5432, database: 'shop', user: 'app' }
    expect(passwordFileEntry(text, at)).toBe('first')
    expect(passwordFileEntry(text, { ...at, port: 6432 })).toBe('second')
    // The password ends at its first unescaped ":", and an escaped "*" is a star, not the wildcard: as libpq.
    expect(passwordFileEntry(text, { ...at, user: 'other' })).toBe('c:o\\lon')
    expect(passwordFileEntry(String.raw`\*:*:*:*:star`, at)).toBeUndefined()
    expect(passwordFileEntry(String.raw`\*:*:*:*:star`, { ...at, host: '*' })).toBe('star')
    expect(passwordFileEntry('localhost:5432:*:app:socket', { ...at, host: '/var/run/postgresql' })).toBe('socket')
    expect(passwordFileEntry('localhost:5432:*:app:socket', { ...at, host: '/srv/sockets' })).toBeUndefined()
  })

  test("PGPASSFILE's password reaches pg_dump and the restore too, not only the driver", async () => {
    const file = path.join(work, 'user.pgpass')
    await writeFile(file, `127.0.0.1:${plainServer.port}:*:secure:${PASSWORD}\n`, { mode: 0o600 })
    const before = process.env.PGPASSFILE
    // The driver reads the runner's PGPASSFILE by itself (pgpass): set where it looks, as on a runner.
    process.env.PGPASSFILE = file
    try {
      for (const format of ['plain', 'custom']) {
        const inputs: Record<string, string> = {
          'database-url': `postgresql://secure@127.0.0.1:${plainServer.port}/shop`,
          'min-size': '0',
          format
        }
        const settings = settingsFrom(inputs, work)
        const reporter = recordingReporter()
        const result = await verifyBackup({
          settings,
          reporter,
          ledger: new MemoryLedger(),
          env: { PATH: process.env.PATH, PGPASSFILE: file }
        })
        expect(result.error).toBeUndefined()
        expect(result.status).toBe('passed')
        expect(reporter.masked).toContain(PASSWORD)
      }
      // A file others may read is ignored, as libpq ignores it, and the run says why.
      await chmod(file, 0o644)
      const inputs: Record<string, string> = { 'database-url': `postgresql://secure@127.0.0.1:${plainServer.port}/shop`, 'min-size': '0' }
      const settings = settingsFrom(inputs, work)
      const reporter = recordingReporter()
      await verifyBackup({ settings, reporter, ledger: new MemoryLedger(), env: { PATH: process.env.PATH, PGPASSFILE: file } })
      expect(reporter.warnings.join('\n')).toContain(`The password file ${file} is ignored, as libpq ignores it: others may read it`)
    } finally {
      if (before === undefined) delete process.env.PGPASSFILE
      else process.env.PGPASSFILE = before
    }
  })
})

describe("the server's hint", () => {
  let small: TestServer

  beforeAll(async () => {
    // A lock table far smaller than the tables pg_dump must lock in one transaction.
    small = await startServer({ settings: ['max_locks_per_transaction=10', 'max_connections=20'] })
    await small.query('CREATE DATABASE many')
    // In batches: one transaction creating them all would run out of locks itself.
    for (let batch = 0; batch < 20; batch++) {
      const names = Array.from({ length: 100 }, (_, i) => `t${batch * 100 + i}`)
      await small.query(names.map((name) => `CREATE TABLE ${name} (id int);`).join(' '), 'many')
    }
  })

  afterAll(async () => {
    await small?.stop()
  })

  test('"out of shared memory" comes with the hint to raise max_locks_per_transaction, plain and custom', async () => {
    for (const format of ['plain', 'custom']) {
      const result = await verify({ 'database-url': small.url('many'), 'min-size': '0', format })
      expect(result.status).toBe('failed')
      expect(result.error?.message).toContain('out of shared memory')
      expect(`${result.error?.message} ${result.error?.hint}`).toContain('max_locks_per_transaction')
    }
  })

  test("a session's error keeps the server's hint: in the run's failure, and when connecting", async () => {
    const client = new pg.Client({ connectionString: small.url('many') })
    await client.connect()
    let error: unknown
    try {
      await client.query('BEGIN')
      for (let i = 0; i < 2000; i++) await client.query(`LOCK TABLE t${i} IN ACCESS SHARE MODE`)
    } catch (caught) {
      error = caught
    } finally {
      await client.end()
    }
    const failure = describeFailure(error, 'Create', new Redactor())
    expect(failure.message).toBe('out of shared memory')
    expect(failure.hint).toBe('You might need to increase max_locks_per_transaction.')
    // A setting the server refuses at connection time: its hint says which values it takes.
    const refused = await openSession(target(`${small.url('many')}?options=${encodeURIComponent('-c work_mem=1XB')}`)).then(
      () => undefined,
      (caught: unknown) => caught as VerificationError
    )
    expect(refused?.message).toContain('invalid value for parameter "work_mem": "1XB"')
    expect(refused?.hint).toMatch(/^Valid units for this parameter are/)
  })
})

describe('settings that cannot be used are said before any connection', () => {
  const refused = (url: string) => {
    try {
      chooseConnection(url, {}, undefined)
    } catch (error) {
      expect(error).toBeInstanceOf(InputError)
      return (error as Error).message
    }
    throw new Error('accepted')
  }

  test('two hosts', () => {
    const message = refused('postgresql://app:secret@db1.example.test:5432,db2.example.test:5433/shop')
    expect(message).toContain('Input "database-url"')
    expect(message).toContain('several hosts (db1.example.test:5432,db2.example.test:5433) are not supported')
    expect(message).not.toContain('secret')
    expect(refused('postgresql://app@/shop?host=db1.example.test,db2.example.test')).toContain('several hosts')
  })

  test('service=', () => {
    const message = refused('postgresql:///shop?service=nightly')
    expect(message).toContain('service=nightly names an entry of a pg_service.conf file, which is not read')
    expect(message).toContain('write its host, port, dbname, user and sslmode in the URL')
  })

  test('a missing sslrootcert, sslcert or sslkey file names the parameter and the file', () => {
    expect(refused('postgresql://app@db.example.test/shop?sslmode=verify-full&sslrootcert=/no/such/root.crt')).toContain(
      'the file sslrootcert names cannot be read (no such file): /no/such/root.crt'
    )
    // As libpq: a client certificate that is not there is not sent, a root certificate not there is needed only to verify.
    expect(() =>
      chooseConnection('postgresql://app@db.example.test/shop?sslmode=require&sslcert=/no/such/client.crt', {}, undefined)
    ).not.toThrow()
    expect(() =>
      chooseConnection('postgresql://app@db.example.test/shop?sslmode=require&sslrootcert=/no/such/root.crt', {}, undefined)
    ).not.toThrow()
  })

  test("libpq's default client certificate, ~/.postgresql/postgresql.crt, is sent by the driver too; without its key it is refused", async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-home-'))
    try {
      await mkdir(path.join(home, '.postgresql'))
      expect(readTlsSettings({ sslmode: 'require' }, home)).toEqual({ mode: 'require' })
      await writeFile(path.join(home, '.postgresql', 'postgresql.crt'), 'CERT')
      expect(() => readTlsSettings({ sslmode: 'require' }, home)).toThrow('the file sslkey names cannot be read (no such file)')
      await writeFile(path.join(home, '.postgresql', 'postgresql.key'), 'KEY')
      expect(readTlsSettings({ sslmode: 'require' }, home)).toEqual({ mode: 'require', cert: 'CERT', key: 'KEY' })
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })

  test('verify-full with no root certificate at all, and sslmode values libpq does not know', () => {
    expect(refused('postgresql://app@db.example.test/shop?sslmode=verify-full')).toContain('sslrootcert=system')
    expect(refused('postgresql://app@db.example.test/shop?sslmode=no-verify')).toContain(
      'sslmode is one of disable, allow, prefer, require, verify-ca, verify-full'
    )
    expect(refused('postgresql://app@db.example.test/shop?sslmode=require&sslrootcert=system')).toContain('sslmode=verify-full')
  })
})
