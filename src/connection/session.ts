// Conversations with the server over the pg driver: its version, its tables, and the temporary database.

import pg from 'pg'
import type { ConnectionTarget } from './target.js'
import { describeConnectionError } from '../run/errors.js'

export interface ServerVersion {
  /** As the server reports it, e.g. "15.18 (Debian 15.18-1.pgdg120+1)". */
  text: string
  /** server_version_num, e.g. 150018. */
  number: number
  /** 15 for 15.18; 9.6 for 9.6.24. */
  major: number
}

export async function openSession(target: ConnectionTarget, database = target.database): Promise<pg.Client> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database,
    ssl: target.ssl,
    connectionTimeoutMillis: target.connectTimeoutSeconds * 1000,
    application_name: 'backup-verify',
    // The tools get the same server options (PGOPTIONS): the sessions see what pg_dump sees.
    ...(target.parameters.options ? { options: target.parameters.options } : {})
  })
  // An error after connecting (server shut down, say) must not crash the process; the next query reports it.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw describeConnectionError(error, { ...target, database })
  }
  return client
}

export function majorOf(versionNumber: number): number {
  return versionNumber >= 100000
    ? Math.floor(versionNumber / 10000)
    : Math.floor(versionNumber / 10000) + Math.floor((versionNumber % 10000) / 100) / 10
}

export async function readServerVersion(client: pg.Client): Promise<ServerVersion> {
  const { rows } = await client.query<{ text: string; number: string }>(
    "SELECT current_setting('server_version') AS text, current_setting('server_version_num') AS number"
  )
  const number = Number(rows[0].number)
  return { text: rows[0].text, number, major: majorOf(number) }
}
