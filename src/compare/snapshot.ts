// The source as pg_dump dumps it: a read-only snapshot, exported for pg_dump --snapshot, in which
// the source's inventory is taken while the dump runs.

import type pg from 'pg'
import { listTables, takeInventory, type Inventory, type VerifyLevel } from './inventory.js'
import { profileTables } from './column-types.js'
import { majorOf } from '../connection/session.js'

/**
 * A read-only REPEATABLE READ transaction whose snapshot is exported for pg_dump --snapshot.
 * Everything asked of it sees exactly the data pg_dump dumps.
 */
export class SourceSnapshot {
  /** The inventory's read while it runs (it may wait for a lock another session holds). */
  private reading: Promise<unknown> | undefined
  private settled = true

  private constructor(
    private readonly client: pg.Client,
    readonly id: string,
    private readonly pid: number
  ) {}

  static async open(client: pg.Client): Promise<SourceSnapshot> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    const { rows } = await client.query<{ id: string; pid: number }>(
      'SELECT pg_catalog.pg_export_snapshot() AS id, pg_catalog.pg_backend_pid() AS pid'
    )
    return new SourceSnapshot(client, rows[0].id, rows[0].pid)
  }

  /** The source's inventory in the snapshot (see read), its progress followed (see cancel). */
  inventory(level: VerifyLevel, restoreMajor?: number): Promise<Inventory> {
    const read = this.read(level, restoreMajor)
    this.settled = false
    this.reading = read.then(
      () => (this.settled = true),
      () => (this.settled = true)
    )
    return read
  }

  /** Whether the inventory's read has ended, well or not. */
  get readEnded(): boolean {
    return this.settled
  }

  /**
   * Asks the server, through another session, to cancel the read still running (a count waiting for
   * a lock another session holds, say); waits a moment for it to end.
   */
  async cancel(through: pg.Client): Promise<void> {
    if (this.settled) return
    await through.query('SELECT pg_catalog.pg_cancel_backend($1)', [this.pid]).catch(() => {})
    await Promise.race([this.reading, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
  }

  /**
   * The source's inventory in the snapshot. At the data level the content is the dump's own rows
   * (fingerprinted as they are written) and the source is only counted here; only where the restore
   * server is another major are the tables whose values it may print otherwise fingerprinted in SQL.
   */
  private async read(level: VerifyLevel, restoreMajor?: number): Promise<Inventory> {
    if (level !== 'data') return takeInventory(this.client, level, false, [], { inTransaction: true })
    const { rows } = await this.client.query<{ version: string }>("SELECT current_setting('server_version_num') AS version")
    const major = majorOf(Number(rows[0].version))
    let sqlTables = new Set<string>()
    if (restoreMajor !== undefined && restoreMajor !== major) {
      const profiles = await profileTables(this.client, await listTables(this.client), major)
      sqlTables = new Set([...profiles].filter(([, profile]) => profile.unstable.length > 0).map(([table]) => table))
    }
    return takeInventory(this.client, level, false, [], {
      readOf: (table) => (sqlTables.has(table) ? 'sql' : 'count'),
      largeObjectContent: false,
      inTransaction: true
    })
  }

  /**
   * Ends the transaction; pg_dump must have imported the snapshot by then (it has, once it has
   * finished). A read still running (cancelled, and not ended in time) is not waited for: the session
   * is closed under it.
   */
  async close(): Promise<void> {
    if (this.settled) await this.client.query('COMMIT').catch(() => {})
    await this.client.end().catch(() => {})
  }
}
