// Sorting restore errors into harmless and fatal, from the lines psql and pg_restore print.

import { describe, expect, test } from '@jest/globals'
import { describeHarmless, incompleteRestore, restoreFailure, RestoreErrorSorter, statementHead } from '../../../src/restore/errors.js'

describe('RestoreErrorSorter', () => {
  test('known harmless errors are counted by kind; anything else is fatal; other lines are ignored', () => {
    const sorter = new RestoreErrorSorter()
    for (const line of [
      'psql:<stdin>:42: ERROR:  role "app_owner" does not exist',
      'pg_restore: error: could not execute query: ERROR:  role "reader" does not exist',
      'Command was: ALTER TABLE public.t OWNER TO reader;',
      'psql:<stdin>:7: ERROR:  schema "public" already exists',
      'pg_restore: error: could not execute query: ERROR:  must be owner of extension plpgsql',
      'psql:<stdin>:99: ERROR:  relation "public.customers" does not exist',
      'pg_restore: warning: errors ignored on restore: 5'
    ]) {
      sorter.line(line)
    }
    const errors = sorter.result()
    expect(errors.total).toBe(5)
    // psql names only a line, and nothing says which statement is there: a missing role is fatal then (see restore-roles).
    expect(errors.fatal).toEqual(['role "app_owner" does not exist', 'relation "public.customers" does not exist'])
    expect(describeHarmless(errors)).toBe(
      'a role the dump names does not exist (ownership or privileges not restored) (1x); schema "public" already exists (1x); comment on an extension owned by another role (1x)'
    )
  })

  test("an error keeps its context and the head of pg_restore's command; the hint fits a function that depends on search_path", () => {
    const sorter = new RestoreErrorSorter()
    for (const line of [
      'pg_restore: error: could not execute query: ERROR:  relation "lookup" does not exist',
      'LINE 1: SELECT v FROM lookup WHERE k = x',
      '                      ^',
      'QUERY:  SELECT v FROM lookup WHERE k = x',
      'CONTEXT:  SQL function "f" during inlining',
      'Command was: CREATE INDEX data_f_idx ON public.data USING btree (public.f(a));',
      'psql:<stdin>:12: ERROR:  invalid input syntax for type integer: "x"',
      'CONTEXT:  COPY data, line 1, column a: "x"',
      'pg_restore: warning: errors ignored on restore: 2'
    ]) {
      sorter.line(line)
    }
    const { fatal } = sorter.result()
    expect(fatal).toEqual([
      'relation "lookup" does not exist (SQL function "f" during inlining); in CREATE INDEX data_f_idx ON public.data USING btree',
      'invalid input syntax for type integer: "x" (COPY data, line 1, column a: "x")'
    ])
    const failure = incompleteRestore(fatal.slice(0, 1), '')
    expect(failure.message).toBe(`Restore failed: an error that leaves the restore incomplete: ${fatal[0]}`)
    expect(failure.hint).toMatch(
      /^A function the restore runs .* names a table, type or function without its schema\. A dump restores with an empty search_path/
    )
    expect(incompleteRestore(fatal.slice(1), '').hint).toMatch(/^The backup holds text the server cannot read/)
  })

  test('lines of a failed command are never read as errors of their own, and sessions printing side by side keep their own context', () => {
    const sorter = new RestoreErrorSorter()
    for (const [line, session] of [
      ['pg_restore: error: could not execute query: ERROR:  must be owner of schema public', 0],
      ["Command was: COMMENT ON SCHEMA public IS 'line one", 0],
      // The comment's second line reads like an error: it is the command's text.
      ['ERROR:  not an error, a comment', 0],
      ["CONTEXT:  not a context either';", 0],
      ['psql:<stdin>:3: ERROR:  relation "a" does not exist', 1],
      ['psql:<stdin>:9: ERROR:  relation "b" does not exist', 2],
      ['CONTEXT:  SQL function "fb" during inlining', 2],
      ['CONTEXT:  SQL function "fa" during inlining', 1]
    ] as const) {
      sorter.line(line, session)
    }
    const errors = sorter.result()
    expect(errors.total).toBe(3)
    expect(errors.fatal).toEqual([
      'relation "a" does not exist (SQL function "fa" during inlining)',
      'relation "b" does not exist (SQL function "fb" during inlining)'
    ])
    expect(describeHarmless(errors)).toBe('ownership of schema public (1x)')
  })

  test('a session the server ended for waiting is named as such, with the settings that do it', () => {
    const stderr =
      'psql:<stdin>:40: FATAL:  terminating connection due to idle-session timeout\npsql:<stdin>:40: error: connection to server was lost\n'
    const failure = restoreFailure('psql', 'Restore failed', stderr.trim().split('\n'), stderr)
    expect(failure.problem).toBe('connection-lost')
    expect(failure.hint).toMatch(/^The server ended a session that waited: .*idle_session_timeout/)
    expect(restoreFailure('psql', 'Restore failed', [], 'server closed the connection unexpectedly').hint).toMatch(/^The server went away/)
  })

  test("a command is shown by its keywords and names only: never a literal, which can hold a user mapping's password", () => {
    expect(statementHead("CREATE USER MAPPING FOR app SERVER remote OPTIONS (\n    password 'hunter2'\n);")).toBe(
      'CREATE USER MAPPING FOR app SERVER remote OPTIONS'
    )
    expect(statementHead("CREATE SUBSCRIPTION s CONNECTION 'host=db password=hunter2' PUBLICATION p WITH (connect = false);")).toBe(
      'CREATE SUBSCRIPTION s CONNECTION'
    )
    expect(statementHead('CREATE FUNCTION public."f(x)"() RETURNS integer AS $$ SELECT 1 $$;')).toBe('CREATE FUNCTION public."f(x)"')
    expect(statementHead(`ALTER TABLE ONLY public.${'t'.repeat(300)} ADD CONSTRAINT c CHECK (a > 0);`)).toHaveLength(161)
  })
})
