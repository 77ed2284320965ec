// What the source held when it was dumped, and what the restore holds: tables and exact row counts,
// read inside the snapshot that pg_dump dumps, so that writes during the dump never cause a mismatch.

import type pg from 'pg'
import { listTables } from './session.js'

export interface TableRows {
  /** Quoted, qualified: sales."Order Items" */
  table: string
  rows: number
}

/** Exact row counts, one count(*) per table (names come quoted from listTables). */
export async function countRows(client: pg.Client, tables: string[]): Promise<TableRows[]> {
  const counted: TableRows[] = []
  for (const table of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${table}`)
    counted.push({ table, rows: Number(rows[0].n) })
  }
  return counted
}

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

  tables(): Promise<string[]> {
    return listTables(this.client)
  }

  rows(tables: string[]): Promise<TableRows[]> {
    return countRows(this.client, tables)
  }

  /** Ends the transaction; pg_dump must have imported the snapshot by then (it has, once it has finished). */
  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => {})
    await this.client.end().catch(() => {})
  }
}
