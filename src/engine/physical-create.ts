// A new physical backup (method: physical, no backup-file): the Create phase runs pg_basebackup (tar
// format, WAL streamed, fast checkpoint, SHA-256 manifest) into the run's folder, between two
// inventories of the source database. A table whose inventory is the same before and after, and
// whose write counters did not move, was quiet during the backup: the copy must match it exactly.
// A table written to during the backup cannot be held to one figure: it is named, with both.

import { mkdir } from 'node:fs/promises'
import type pg from 'pg'
import { takeInventory, type Inventory, type TableContent } from '../compare/inventory.js'
import { describeBytes } from '../run/bytes.js'
import { VerificationError } from '../run/errors.js'
import { runTool } from '../tools/process.js'
import { toolPath } from '../tools/locate.js'
import type { Compression } from '../backup/formats.js'
import { Connected } from './connected.js'
import { recognisePhysical } from '../physical/layout.js'
import { backupTooSmall } from '../create/dump.js'
import type { Verification } from './verification.js'

/** What the source database held around the backup, for the comparison with the copy. */
export interface SourceAround {
  database: string
  before: Inventory
  after: Inventory
  /** Tables whose rows or write counters changed while the backup ran. */
  written: string[]
}

/** pg_basebackup's compression argument for its major (15 and later name a method; older ones gzip levels only). */
export function basebackupCompression(compression: Compression | undefined, major: number): string[] {
  if (!compression || compression.method === 'none') return []
  if (major >= 15) return [`--compress=client-${compression.method}${compression.level === undefined ? '' : `:${compression.level}`}`]
  if (compression.method === 'gzip') return ['-z', ...(compression.level === undefined ? [] : [`--compress=${compression.level}`])]
  throw new VerificationError(
    'bad-input',
    `compression ${compression.method} needs pg_basebackup 15 or newer; the client here is ${major}.`,
    'Use gzip (or a level 0-9), or a newer client (postgres-version).'
  )
}

/** Write counters per table (inserts, updates, deletes), as the statistics have them. */
async function writeCounters(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; writes: string }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name,
            (n_tup_ins + n_tup_upd + n_tup_del)::text AS writes
       FROM pg_stat_user_tables`
  )
  return new Map(rows.map((row) => [row.name, row.writes]))
}

const sameContent = (a: TableContent | undefined, b: TableContent | undefined) =>
  a !== undefined && b !== undefined && a.rows === b.rows && a.fingerprint === b.fingerprint

/** Runs the Create phase; returns the backup's folder and the source around it. */
export async function createPhysical(v: Verification): Promise<{ folder: string; source: SourceAround }> {
  const { settings, run, result } = v
  return v.phases.run(
    'Create',
    async (done) => {
      const connected = await Connected.open(
        run,
        settings,
        v.workspace,
        { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry },
        result
      )
      try {
        const level = settings.verifyLevel
        const database = (await connected.source.query<{ name: string }>('SELECT current_database() AS name')).rows[0].name
        const countersBefore = await writeCounters(connected.source)
        const before = await takeInventory(connected.source, level)
        const folder = v.workspace.path('base-backup')
        await mkdir(folder, { recursive: true, mode: 0o700 })
        await runBasebackup(v, connected, folder)
        const made = await recognisePhysical(folder)
        if (!made) throw new VerificationError('dump-failed', `pg_basebackup wrote no base backup into ${folder}.`)
        if (settings.alerts.mode === 'fail' && made.sizeBytes < settings.minSizeBytes) {
          throw backupTooSmall('Base backup', made.sizeBytes, settings.minSizeBytes)
        }
        // Statistics reach the shared counters when a session goes idle: a write just before now has been counted.
        await new Promise((resolve) => setTimeout(resolve, 1100))
        const after = await takeInventory(connected.source, level)
        const countersAfter = await writeCounters(connected.source)
        const byName = (inventory: Inventory) => new Map(inventory.content.map((entry) => [entry.table, entry]))
        const [first, last] = [byName(before), byName(after)]
        const tables = [...new Set([...before.tables, ...after.tables])]
        const written = tables.filter(
          (table) =>
            (level !== 'schema' && !sameContent(first.get(table), last.get(table))) ||
            !before.tables.includes(table) ||
            !after.tables.includes(table) ||
            countersBefore.get(table) !== countersAfter.get(table)
        )
        if (written.length > 0) {
          run.warn(
            `The source was written to while the backup ran: ${written.length} table(s) changed (${written.slice(0, 10).join(', ')}` +
              `${written.length > 10 ? ', …' : ''}); the copy is compared exactly only on the tables that stayed quiet.`
          )
        }
        done(`pg_basebackup ${connected.tools.version.text}, tar format, WAL streamed; ${describeBytes(made.sizeBytes)}`)
        return { folder, source: { database, before, after, written } }
      } finally {
        await connected.close()
      }
    },
    'Create: pg_basebackup writes a base backup'
  )
}

async function runBasebackup(v: Verification, connected: Connected, folder: string): Promise<void> {
  const { settings, run } = v
  const pgBasebackup = toolPath(connected.tools.directory, 'pg_basebackup', process.platform)
  const args = [
    '-D',
    folder,
    '-F',
    't',
    '-X',
    'stream',
    '-c',
    'fast',
    '--manifest-checksums=SHA256',
    '--no-password',
    ...basebackupCompression(settings.compression, connected.tools.version.major)
  ]
  run.log(`Running pg_basebackup ${args.filter((arg) => arg !== folder).join(' ')}`)
  const done = await runTool(pgBasebackup, args, {
    env: connected.env,
    signal: run.signal,
    onLine: settings.verbose ? run.log : undefined
  })
  if (done.exitCode !== 0) throw basebackupFailure(run.redactor.redact(done.stderr), done.exitCode)
}

/** pg_basebackup's failure in the user's terms: a role that may not replicate, pg_hba.conf refusing replication. */
export function basebackupFailure(stderr: string, code: number | null): VerificationError {
  const said = stderr
    .split('\n')
    .map((line) => line.replace(/^pg_basebackup: (error: )?/, '').trim())
    .filter(Boolean)
    .slice(-4)
    .join(' | ')
  if (/must be superuser or replication role|permission denied to start WAL sender|must have the REPLICATION attribute/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup was refused: the role may not replicate (${said}).`,
      'Grant it: ALTER ROLE <role> WITH REPLICATION; (or use a role that has it). A base backup is taken over a replication connection.'
    )
  }
  if (/no pg_hba\.conf entry for replication connection/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup was refused: the server's pg_hba.conf has no entry for a replication connection (${said}).`,
      'Add one, e.g. "host replication <role> <runner address>/32 scram-sha-256", then reload the server (SELECT pg_reload_conf()).'
    )
  }
  if (/number of requested standby connections exceeds max_wal_senders|max_wal_senders/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup could not get a WAL sender: ${said}`,
      'Raise max_wal_senders on the server (it needs 2 for -X stream).'
    )
  }
  return new VerificationError('dump-failed', `pg_basebackup exited with code ${code}: ${said || 'no error message'}`)
}

export interface SourceComparison {
  database: string
  /** Tables compared exactly (quiet during the backup). */
  compared: number
  written: string[]
  /** Quiet tables the copy does not match: named with both figures. */
  mismatches: string[]
}

/** The copy's database against the source around the backup: exact on quiet tables, named where it was written. */
export function compareWithSource(source: SourceAround, copy: Inventory | undefined): SourceComparison {
  if (!copy) {
    return {
      database: source.database,
      compared: 0,
      written: source.written,
      mismatches: [`database ${source.database} is not in the copy`]
    }
  }
  const copied = new Map(copy.content.map((entry) => [entry.table, entry]))
  const mismatches: string[] = []
  let compared = 0
  for (const table of source.before.tables) {
    if (source.written.includes(table)) continue
    compared++
    if (!copy.tables.includes(table)) {
      mismatches.push(`${table} is missing`)
      continue
    }
    if (source.before.level === 'schema') continue
    const expected = source.before.content.find((entry) => entry.table === table)
    const found = copied.get(table)
    if (expected?.rows !== found?.rows) mismatches.push(`${table}: ${expected?.rows} rows in the source, ${found?.rows} in the copy`)
    else if (expected?.fingerprint !== found?.fingerprint) mismatches.push(`${table}: same ${found?.rows} rows, other content`)
  }
  for (const table of copy.tables) {
    if (!source.before.tables.includes(table) && !source.written.includes(table))
      mismatches.push(`${table} is in the copy, not in the source`)
  }
  return { database: source.database, compared, written: source.written, mismatches }
}
