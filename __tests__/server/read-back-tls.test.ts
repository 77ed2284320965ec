// verify: data over TLS: the restored rows are read off an encrypted session (the read-back takes
// the rows from the driver's socket, here a TLS socket), held to the dump, and a change is caught.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup, type EngineOptions } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { startServer, temporaryDatabases, type TestServer } from '../support/server.js'
import { DAMAGE, PROOF_SCHEMA } from '../support/proof-database.js'

let server: TestServer
let keys: string
const connections: string[] = []

beforeAll(async () => {
  // A self-signed certificate, readable by the account the server runs as (postgres, under root).
  keys = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-tls-'))
  await chmod(keys, 0o755)
  const cert = path.join(keys, 'server.crt')
  const key = path.join(keys, 'server.key')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert],
    {
      stdio: 'ignore'
    }
  )
  await chmod(key, 0o600)
  if (process.getuid?.() === 0) {
    const account = execFileSync('id', ['-u', 'postgres']).toString().trim()
    await chown(key, Number(account), 0)
  }
  server = await startServer({
    settings: ['ssl=on', `ssl_cert_file=${cert}`, `ssl_key_file=${key}`, 'log_connections=on'],
    onLog: (text) => connections.push(...text.split('\n').filter((line) => line.includes('connection authorized')))
  })
  await server.query('CREATE DATABASE proof')
  await server.query(PROOF_SCHEMA, 'proof')
  await server.query('CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 20) AS body FROM generate_series(1, 20000) g', 'proof')
})

afterAll(async () => {
  await server?.stop()
  if (keys) await rm(keys, { recursive: true, force: true })
})

async function verify(format: string, hooks?: EngineOptions['hooks']) {
  const inputs: Record<string, string> = {
    'database-url': `${server.url('proof')}?sslmode=require`,
    'min-size': '0',
    verify: 'data',
    format
  }
  const settings = settingsFrom(inputs, keys)
  return verifyBackup({ settings, reporter: recordingReporter(), ledger: new MemoryLedger(), hooks, env: { PATH: process.env.PATH } })
}

test('every table read back over TLS matches the dump, in plain and custom format', async () => {
  for (const format of ['plain', 'custom']) {
    connections.length = 0
    const result = await verify(format)
    expect(result.error).toBeUndefined()
    const compared = result.tables!.rows.filter((entry) => entry.restoredFingerprint?.startsWith('copy:'))
    expect(compared.length).toBeGreaterThan(10)
    for (const entry of compared) expect(entry.restoredFingerprint).toBe(entry.sourceFingerprint)
    // Every session of the temporary database was encrypted: the restore's, the inspection's, the read-back's.
    const temporary = connections.filter((line) => line.includes(`database=${result.restoreDatabase?.name}`))
    expect(temporary.length).toBeGreaterThan(3)
    expect(temporary.filter((line) => !line.includes('SSL enabled'))).toEqual([])
  }
})

test('over TLS, a change in the restored copy is caught', async () => {
  const result = await verify('plain', {
    afterRestore: (database) =>
      server.query(`${DAMAGE['public.items']}; UPDATE wide SET body = body || 'x' WHERE id = 19999`, database).then(() => {})
  })
  expect(result.error?.problem).toBe('restore-mismatch')
  expect(result.tables!.contentMismatches.map((entry) => entry.table).sort()).toEqual(['public.items', 'public.wide'])
  expect(await temporaryDatabases(server)).toEqual([])
})
