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
  private constructor(
    private readonly client: pg.Client,
    readonly id: string
  ) {}

  static async open(client: pg.Client): Promise<SourceSnapshot> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    const { rows } = await client.query<{ id: string }>('SELECT pg_catalog.pg_export_snapshot() AS id')
    return new SourceSnapshot(client, rows[0].id)
  }

  /**
   * The source's inventory in the snapshot. At the data level the content is the dump's own rows
   * (fingerprinted as they are written) and the source is only counted here; only where the restore
   * server is another major are the tables whose values it may print otherwise fingerprinted in SQL.
   */
  async inventory(level: VerifyLevel, restoreMajor?: number): Promise<Inventory> {
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
      inTransaction: true,
      // A dump holds no generated values: the source's are the only ones to hold the restore's to.
      generatedValues: true
    })
  }

  /** Ends the transaction; pg_dump must have imported the snapshot by then (it has, once it has finished). */
  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => {})
    await this.client.end().catch(() => {})
  }
}
