// The read-back of thousands of small tables: several to a query, so that each does not cost a
// round trip of its own; a table whose read fails there fails alone, the others still read whole.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import pg from 'pg'
import { readContent } from '../../src/compare/inventory.js'
import { ReadBackPool, type ReadBackResult } from '../../src/compare/read-back.js'
import { startServer, type TestServer } from '../support/server.js'

let server: TestServer
const statements: string[] = []
const TABLES = 400

beforeAll(async () => {
  server = await startServer({
    settings: ['log_statement=all'],
    onLog: (text) => statements.push(...text.split('\n').filter((line) => /statement: .*(COPY|count)/.test(line)))
  })
  await server.query('CREATE DATABASE many')
  await server.query(
    `DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
       EXECUTE format('CREATE TABLE item_%s AS SELECT g AS id, %L || g AS name FROM generate_series(1, 3 + %s %% 5) g', i, 'row ', i);
     END LOOP; END $$`,
    'many'
  )
})

afterAll(async () => {
  await server?.stop()
})

function pool(limit: number): ReadBackPool {
  return new ReadBackPool(
    {
      target: {
        host: '127.0.0.1',
        port: server.port,
        user: server.user,
        password: server.password,
        database: 'many',
        parameters: {},
        connectTimeoutSeconds: 10
      },
      database: 'many',
      clientEncoding: 'UTF8',
      settings: { TimeZone: 'UTC', bytea_output: 'hex', lc_monetary: 'C' }
    },
    limit
  )
}

async function readAll(limit: number, names: string[]): Promise<ReadBackResult[]> {
  const reader = pool(limit)
  try {
    return await Promise.all(
      names.map((name, index) =>
        reader.read({ key: name, statement: `COPY public.${name} (id, name) TO STDOUT;`, weight: 40 + (index % 7) })
      )
    )
  } finally {
    await reader.close()
  }
}

test('400 small tables are read in a few queries, each with its own rows and fingerprint', async () => {
  const names = Array.from({ length: TABLES }, (_, i) => `item_${i + 1}`)
  statements.length = 0
  const batched = await readAll(2, names)
  // The server logs each query once, however many COPY statements it holds.
  await new Promise((resolve) => setTimeout(resolve, 200))
  expect(statements.length).toBeGreaterThan(0)
  expect(statements.length).toBeLessThanOrEqual(TABLES / 50)
  batched.forEach((result, index) => expect(result).toMatchObject({ rows: 3 + ((index + 1) % 5) }))
  // Read one at a time, each table gives the same fingerprint: the rows were not mixed between tables.
  const alone = await Promise.all(names.slice(0, 20).map((name) => readAll(1, [name]).then(([result]) => result)))
  expect(batched.slice(0, 20)).toEqual(alone)
  expect(new Set(batched.map((result) => ('fingerprint' in result ? result.fingerprint : ''))).size).toBeGreaterThan(1)
})

test('a table that fails to read among the small ones fails alone: the tables after it in its query are read again', async () => {
  const names = Array.from({ length: 60 }, (_, i) => `item_${i + 1}`)
  names.splice(30, 0, 'no_such_table')
  const results = await readAll(1, names)
  expect(results[30]).toEqual({ error: expect.stringContaining('no_such_table') })
  results.forEach((result, index) => {
    if (index !== 30) expect(result).toHaveProperty('rows')
  })
})

test('400 tables counted at the rows level take a few queries, each count its own table', async () => {
  const names = Array.from({ length: TABLES }, (_, i) => `public.item_${i + 1}`)
  const client = new pg.Client({ connectionString: server.url('many') })
  await client.connect()
  try {
    statements.length = 0
    const content = await readContent([client], names, () => 'count', new Map())
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(statements.filter((line) => line.includes('count(*)')).length).toBeLessThanOrEqual(TABLES / 50)
    content.forEach((entry, index) => expect(entry).toEqual({ table: names[index], rows: 3 + ((index + 1) % 5) }))
  } finally {
    await client.end()
  }
})
