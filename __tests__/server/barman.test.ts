// method: barman, with the real tool: a source cluster streaming its WAL to a local Barman server
// (backup_method = postgres), one backup recovered by barman recover into the run's folder, started,
// proved and counted; a removed data file failing Validate; what Barman does not know, named.

import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { outputsOf } from '../../src/report/outputs.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { htmlProblems } from '../support/html.js'
import { startBarmanLab, type BarmanLab } from '../support/barman-lab.js'
import { testNeeding } from '../support/skips.js'

const installed = (() => {
  try {
    execFileSync('barman', ['--version'], { stdio: 'ignore' })
    return existsSync('/usr/lib/postgresql/15/bin/postgres')
  } catch {
    return false
  }
})()
if (!installed) console.warn('Skipping Barman: no barman or no postgresql-15 server binaries (apt-get install barman postgresql-15)')
const maybe = testNeeding('barman with the PostgreSQL 15 server (barman, postgresql-15)', installed)

let lab: BarmanLab
let work: string
let id: string

beforeAll(async () => {
  if (!installed) return
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-barman-run-'))
  lab = await startBarmanLab()
  await lab.server.query('CREATE DATABASE shop')
  await lab.server.query(
    'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 2500) g',
    'shop'
  )
  id = await lab.backup()
}, 180_000)

afterAll(async () => {
  await lab?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

async function verify(inputs: Record<string, string>) {
  const settings = settingsFrom({ method: 'barman', 'barman-server': lab.name, 'barman-config': lab.config, ...inputs }, work)
  const reporter = recordingReporter()
  const ledger = new MemoryLedger()
  const result = await verifyBackup({ settings, reporter, ledger, env: lab.env })
  return { result, reporter, ledger }
}

describe('a Barman backup', () => {
  maybe('recovered by barman, started, consistent, amcheck clean, every row counted; the facts a DR review asks for', async () => {
    const { result, ledger } = await verify({})
    expect(result.error).toBeUndefined()
    expect(result.physical?.repository).toEqual(
      expect.objectContaining({
        tool: 'barman',
        name: lab.name,
        label: id,
        toolCheck: expect.objectContaining({ ran: true, passed: true, detail: expect.stringContaining('verify-backup: every file') })
      })
    )
    expect(result.physical?.databases?.find((entry) => entry.name === 'shop')).toEqual({ name: 'shop', tables: 1, rows: 2500 })
    expect(result.physical?.amcheck).toEqual(expect.objectContaining({ ran: true, passed: true }))
    expect(result.physical?.repository?.restoreMs?.total).toBeGreaterThan(0)
    expect(outputsOf(result)['backup-set']).toBe(id)
    expect(result.backup?.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(htmlProblems(renderSummary(buildSummary(result)))).toEqual([])
    expect([...ledger.live.server, ...ledger.live.folder]).toEqual([])
  })

  maybe.each([
    [{ 'barman-server': 'nosuch' }, 'repository-unreadable', /Unknown server 'nosuch'/],
    [{ 'backup-set': '20200101T000000' }, 'backup-missing', /has no backup 20200101T000000/],
    [{ 'barman-config': '/nonexistent/barman.conf' }, 'repository-unreadable', /does not exist/]
  ])('%j fails as %s, naming it', async (inputs, problem, message) => {
    const { result } = await verify(inputs as Record<string, string>)
    expect(result.error?.problem).toBe(problem)
    expect(result.error?.message).toMatch(message)
  })

  maybe('a data file removed from the backup fails Validate (verify-backup names it), nothing restored', async () => {
    const [{ database }] = await lab.server.query<{ database: string }>(
      "SELECT oid::text AS database FROM pg_database WHERE datname = 'shop'"
    )
    const [{ file }] = await lab.server.query<{ file: string }>("SELECT pg_relation_filenode('orders')::text AS file", 'shop')
    const removed = path.join(lab.backupData(id), 'base', database, file)
    const kept = path.join(work, 'kept')
    await copyFile(removed, kept)
    await rm(removed)
    try {
      const { result } = await verify({})
      expect(result.error?.problem).toBe('backup-invalid')
      expect(result.error?.message).toContain(`"base/${database}/${file}" is present in the manifest but not on disk`)
      expect(result.phases.find((phase) => phase.name === 'Restore')?.status).toBe('not run')
    } finally {
      await copyFile(kept, removed)
    }
    expect(readdirSync(work).filter((name) => name.startsWith('backup-verify-') && !name.startsWith('backup-verify-receipt-'))).toEqual([])
  })
})
