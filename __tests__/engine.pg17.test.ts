// A PostgreSQL 17 server with only older client tools installed: "server newer than client", before any dump.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { loadSettings } from '../src/config/inputs.js'
import { findClientTools } from '../src/tools/locate.js'
import { verifyBackup } from '../src/verify.js'
import { MemoryLedger, recordingReporter } from './support/reporter.js'
import { startServer, temporaryDatabases, unavailableReason, type TestServer } from './support/server.js'

const clientMajors = (await findClientTools()).map((tools) => tools.version.major)
const reason = unavailableReason(17) ?? (clientMajors.some((major) => major >= 17) ? `a client of major ${Math.max(...clientMajors)} is installed` : undefined)
if (reason) console.warn(`Skipping the server-newer-than-client test: ${reason}`)
const maybe = reason ? test.skip : test

let server: TestServer
beforeAll(async () => {
  if (!reason) server = await startServer(17)
})
afterAll(async () => {
  await server?.stop()
})

maybe('fails in Create naming both versions and the fix, and leaves nothing behind', async () => {
  const settings = loadSettings({ get: (name) => (name === 'database-url' ? server.url('postgres') : ''), environment: {}, workingDirectory: process.cwd() })
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter: recordingReporter(), ledger })
  expect(result.status).toBe('failed')
  expect(result.error?.problem).toBe('client-too-old')
  expect(result.error?.message).toMatch(/^Server newer than client: the server runs PostgreSQL 17\.\d+, but the newest client tools found are \d+\.\d+ /)
  expect(result.error?.hint).toContain('postgresql-client-17')
  expect(result.serverVersion).toMatch(/^17\./)
  expect(result.backup).toBeUndefined()
  expect(ledger.live.folder.size).toBe(0)
  expect(await temporaryDatabases(server)).toEqual([])
})
