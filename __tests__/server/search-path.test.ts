// A function whose body names a table without its schema, used by an index. PostgreSQL expands the
// index's expression when it plans any query on the table, so the source's rows cannot be counted in
// the canonical search_path, and a restore of the dump fails on that index (a dump restores with an
// empty search_path). The verdict must be the restore's, in the user's terms, in every format; a
// table that no search_path can count fails the Create phase naming it. Nothing is left behind.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { readdir } from 'node:fs/promises'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work: temp } = useServer('search-path')

const LOOKUP = `
  CREATE TABLE lookup (k int, v int);
  INSERT INTO lookup VALUES (1, 10), (2, 20);
  CREATE TABLE data (a int);
  INSERT INTO data SELECT 1 + g % 2 FROM generate_series(1, 200) g;`

beforeAll(async () => {
  // An inlinable SQL function in an index: planning a count of "data" expands it.
  await server.query('CREATE DATABASE inlined')
  await server.query(
    `${LOOKUP}
     CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT v FROM lookup WHERE k = x';
     CREATE INDEX data_f ON data (f(a));`,
    'inlined'
  )
  // A PL/pgSQL one: planning leaves it alone, building the index in the restore runs it.
  await server.query('CREATE DATABASE procedural')
  await server.query(
    `${LOOKUP}
     CREATE FUNCTION g(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN (SELECT v FROM lookup WHERE k = x); END $$;
     CREATE INDEX data_g ON data (g(a));`,
    'procedural'
  )
  // The table the function names renamed since: no search_path finds it.
  await server.query('CREATE DATABASE renamed')
  await server.query(
    `${LOOKUP}
     CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT v FROM lookup WHERE k = x';
     CREATE INDEX data_f ON data (f(a));
     ALTER TABLE lookup RENAME TO lookup_old;`,
    'renamed'
  )
})

function verify(database: string, inputs: Record<string, string>) {
  const all: Record<string, string> = { 'database-url': server.url(database), 'min-size': '0', timeout: '3', ...inputs }
  const settings = settingsFrom(all, temp)
  return verifyBackup({ settings, reporter: recordingReporter(), env: { PATH: process.env.PATH } })
}

const CASES: Array<[string, Record<string, string>]> = [
  ['plain, streamed over sessions', { format: 'plain', jobs: '3' }],
  ['plain, one session, at rows', { format: 'plain', jobs: '1', verify: 'rows' }],
  ['plain, restored after the dump', { format: 'plain', pipeline: 'false' }],
  ['custom', { format: 'custom', jobs: '2' }],
  ['directory', { format: 'directory', jobs: '2' }],
  ['tar, at rows', { format: 'tar', verify: 'rows' }]
]

describe('a function that depends on search_path, in an index', () => {
  test.each(CASES)('%s: the dump is made and validated; the restore fails on the index, named, with what to do', async (_name, inputs) => {
    for (const [database, context] of [
      ['inlined', '(SQL function "f" during inlining)'],
      ['procedural', '(PL/pgSQL function public.g(integer) line 1 at RETURN)']
    ]) {
      const result = await verify(database, inputs)
      expect(result.phases.map((phase) => phase.status)).toEqual(['passed', 'passed', 'failed'])
      expect(result.error?.problem).toBe('restore-failed')
      expect(result.error?.message).toContain(`relation "lookup" does not exist ${context}`)
      // pg_restore says which command failed; psql is not asked to echo commands.
      if (!['plain'].includes(inputs.format))
        expect(result.error?.message).toMatch(/; in CREATE INDEX data_[fg] ON public\.data USING btree$/)
      expect(result.error?.hint).toMatch(/names a table, type or function without its schema\. A dump restores with an empty search_path/)
      expect(await temporaryDatabases(server)).toEqual([])
    }
  })

  test('a table no search_path can count: the Create phase fails naming it and why, not pg_dump; nothing is left behind', async () => {
    for (const [, inputs] of CASES) {
      const result = await verify('renamed', inputs)
      expect(result.phases.map((phase) => phase.status)).toEqual(['failed', 'not run', 'not run'])
      expect(result.error?.problem).toBe('table-unreadable')
      expect(result.error?.message).toBe(
        'Cannot count the rows of public.data: relation "lookup" does not exist (SQL function "f" during inlining).'
      )
      expect(result.error?.hint).toMatch(/^The query failed in the canonical search_path \(pg_catalog\) and in the session's own/)
      expect(await temporaryDatabases(server)).toEqual([])
    }
    expect((await readdir(temp)).filter((name) => !name.startsWith('backup-verify-receipt-'))).toEqual([])
  })
})
