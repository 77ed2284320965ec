// The source as pg_dump dumps it: a read-only snapshot, exported for pg_dump --snapshot, in which
// the source's inventory is taken while the dump runs.

import type pg from 'pg'
import { takeInventory, type Inventory, type VerifyLevel } from './inventory.js'

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

  inventory(level: VerifyLevel): Promise<Inventory> {
    return takeInventory(this.client, level)
  }

  /** Ends the transaction; pg_dump must have imported the snapshot by then (it has, once it has finished). */
  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => {})
    await this.client.end().catch(() => {})
  }
}
