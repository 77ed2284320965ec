// The restore's psql sessions against a real server: a write resolves only once psql's pipe has
// taken the bytes, so the scheduler fills the same buffer again for the next chunk of rows.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { PsqlSessions } from '../../src/restore/parallel/psql-sessions.js'
import { findClientTools } from '../../src/tools/locate.js'
import { startServer, type TestServer } from '../support/server.js'

let server: TestServer

beforeAll(async () => {
  server = await startServer()
  await server.query('CREATE DATABASE sessions')
  await server.query('CREATE TABLE t (id int, v text)', 'sessions')
})

afterAll(async () => {
  await server?.stop()
})

describe('psql sessions', () => {
  test('one buffer filled again after each write: every row arrives as written, in two sessions at once', async () => {
    const tools = (await findClientTools())[0]
    const env = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
    const args = () => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'sessions', '--no-align', '--tuples-only', '-f', '-']
    const sessions = new PsqlSessions(tools.psql, args, 2, { env })
    // Rows of about 1 KiB in 1 MiB chunks (far more than a pipe holds), each chunk written from the same buffer.
    const rowsPerChunk = 1000
    const chunks = 12
    const send = async (session: number) => {
      const buffer = Buffer.alloc(2 * 1024 * 1024)
      await sessions.write(session, 'COPY t (id, v) FROM stdin;\n')
      for (let chunk = 0; chunk < chunks; chunk++) {
        let length = 0
        for (let row = 0; row < rowsPerChunk; row++) {
          const id = session * 1_000_000 + chunk * rowsPerChunk + row
          length += buffer.write(`${id}\t${String(id).padStart(12, '0').repeat(85)}\n`, length)
        }
        await sessions.write(session, buffer.subarray(0, length))
      }
      await sessions.write(session, '\\.\n')
      await sessions.sync(session)
    }
    await Promise.all([send(0), send(1)])
    const runs = await sessions.finish()
    expect(runs.map((run) => run.exitCode)).toEqual([0, 0])
    const [counts] = await server.query<{ rows: string; wrong: string }>(
      `SELECT count(*) AS rows, count(*) FILTER (WHERE v <> repeat(lpad(id::text, 12, '0'), 85)) AS wrong FROM t`,
      'sessions'
    )
    expect(counts).toEqual({ rows: String(2 * chunks * rowsPerChunk), wrong: '0' })
  })
})
