// What the running copy proves: pages and indexes intact (pg_amcheck over every database, heap and
// B-tree, amcheck installed in the copy when missing, a database closed to connections opened on the
// copy first), page checksum failures when checksums are on, and the inventory of every database
// (objects, tables, exact rows, content at verify level data).

import type pg from 'pg'
import { takeInventory, type Inventory, type VerifyLevel } from '../compare/inventory.js'
import { runTool } from '../tools/process.js'
import { scrubbedEnvironment } from '../connection/environment.js'
import type { ThrowawayServer } from './throwaway-server.js'

export interface AmcheckResult {
  ran: boolean
  passed: boolean
  /** Corruption reported, or why it did not run. */
  detail: string
  /** Databases neither amcheck nor the checksum count could read, each with its reason. */
  notChecked?: string[]
}

/** Which databases of the copy had to be opened for the checks, and which could not be. */
interface DatabaseCoverage {
  /** Taking no connections in the backup (ALLOW_CONNECTIONS false): opened on the copy alone. */
  opened: string[]
  /** "name (why)". */
  notChecked: string[]
}

export interface PhysicalDatabase {
  name: string
  inventory: Inventory
}

export interface PhysicalProof {
  amcheck: AmcheckResult
  checksums: { enabled: boolean; failures: number }
  databases: PhysicalDatabase[]
}

const MAX_REPORTED = 20

export async function runAmcheck(
  pgAmcheck: string | undefined,
  server: ThrowawayServer,
  jobs: number,
  signal: AbortSignal
): Promise<AmcheckResult> {
  if (!pgAmcheck)
    return { ran: false, passed: true, detail: 'not run: pg_amcheck is not among the server binaries (PostgreSQL 14 and later have it)' }
  const run = await runTool(
    pgAmcheck,
    [
      '-h',
      server.socketDirectory,
      '-p',
      String(server.port),
      '-U',
      server.superuser,
      '--all',
      '--install-missing',
      '--heapallindexed',
      '-j',
      String(Math.max(1, jobs)),
      '--no-password'
    ],
    { env: scrubbedEnvironment(process.env), signal }
  )
  const lines = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  if (run.exitCode === 0) return { ran: true, passed: true, detail: 'every heap and B-tree index of every database checked: no corruption' }
  // Binaries built without contrib: not a finding about the backup, and not a check that passed.
  if (lines.some((line) => /extension "amcheck" is not available|could not open extension control file .*amcheck/.test(line))) {
    return { ran: false, passed: true, detail: 'not run: these server binaries have no amcheck extension (contrib)' }
  }
  const reported = lines.filter((line) => !/^pg_amcheck: (warning|hint)/.test(line))
  return {
    ran: true,
    passed: false,
    detail: `${reported.slice(0, MAX_REPORTED).join(' | ')}${reported.length > MAX_REPORTED ? ` (and ${reported.length - MAX_REPORTED} more lines)` : ''}`
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * pg_amcheck --all and a connection per database reach only databases that take connections: every
 * other one is opened on the copy (never the source), so that none is skipped in silence. One the
 * server cannot open (left invalid by an interrupted DROP DATABASE) is named instead.
 */
async function openEveryDatabase(server: ThrowawayServer): Promise<DatabaseCoverage> {
  const client = await server.connect('template1', server.superuser)
  const coverage: DatabaseCoverage = { opened: [], notChecked: [] }
  try {
    const { rows } = await client.query<{ name: string; open: boolean; invalid: boolean }>(
      'SELECT datname AS name, datallowconn AS open, datconnlimit = -2 AS invalid FROM pg_database ORDER BY datname'
    )
    for (const { name, open, invalid } of rows) {
      if (invalid) {
        coverage.notChecked.push(`${name} (invalid: an interrupted DROP DATABASE left it half dropped, and the server opens it no more)`)
        continue
      }
      if (open) continue
      try {
        await client.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`)
        coverage.opened.push(name)
      } catch (error) {
        coverage.notChecked.push(`${name} (takes no connections, and could not be opened on the copy: ${(error as Error).message})`)
      }
    }
  } finally {
    await client.end().catch(() => {})
  }
  return coverage
}

/** The amcheck verdict, with the databases opened for it and those it could not read. */
function withCoverage(amcheck: AmcheckResult, coverage: DatabaseCoverage): AmcheckResult {
  const opened = coverage.opened.length
    ? ` (${coverage.opened.join(', ')}: no connections allowed in the backup, opened on the copy for the checks)`
    : ''
  const missed = coverage.notChecked.length ? `; not checked: ${coverage.notChecked.join('; ')}` : ''
  return {
    ...amcheck,
    detail: `${amcheck.detail}${opened}${missed}`,
    ...(coverage.notChecked.length ? { notChecked: coverage.notChecked } : {})
  }
}

async function readChecksums(client: pg.Client): Promise<{ enabled: boolean; failures: number }> {
  const enabled = await client.query<{ on: string }>("SELECT current_setting('data_checksums') AS on").then((r) => r.rows[0].on === 'on')
  const failures = await client
    .query<{ failures: string }>('SELECT coalesce(sum(checksum_failures), 0)::text AS failures FROM pg_stat_database')
    .then((r) => Number(r.rows[0].failures))
  return { enabled, failures }
}

/** Every database that takes connections (all of them, once opened), with its inventory at the level asked for. */
async function inventoryOfEveryDatabase(server: ThrowawayServer, level: VerifyLevel): Promise<PhysicalDatabase[]> {
  const main = await server.connect('template1', server.superuser)
  let names: string[]
  try {
    names = await main
      .query<{ name: string }>(
        'SELECT datname AS name FROM pg_database WHERE datallowconn AND datconnlimit <> -2 AND NOT datistemplate ORDER BY datname'
      )
      .then((r) => r.rows.map((row) => row.name))
  } finally {
    await main.end().catch(() => {})
  }
  const databases: PhysicalDatabase[] = []
  for (const name of names) {
    const client = await server.connect(name, server.superuser)
    try {
      databases.push({ name, inventory: await takeInventory(client, level) })
    } finally {
      await client.end().catch(() => {})
    }
  }
  return databases
}

export async function proveCopy(
  server: ThrowawayServer,
  pgAmcheck: string | undefined,
  level: VerifyLevel,
  jobs: number,
  signal: AbortSignal
): Promise<PhysicalProof> {
  const coverage = await openEveryDatabase(server)
  const databases = await inventoryOfEveryDatabase(server, level)
  const amcheck = withCoverage(await runAmcheck(pgAmcheck, server, jobs, signal), coverage)
  // After amcheck has read every page: a checksum failure anywhere has been counted by now.
  const client = await server.connect('template1', server.superuser)
  try {
    return { amcheck, checksums: await readChecksums(client), databases }
  } finally {
    await client.end().catch(() => {})
  }
}
