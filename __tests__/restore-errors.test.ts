// Sorting restore errors into harmless and fatal, from the lines psql and pg_restore print.

import { describe, expect, test } from '@jest/globals'
import { describeHarmless, RestoreErrorSorter } from '../src/restore/errors.js'

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
    expect(errors.fatal).toEqual(['relation "public.customers" does not exist'])
    expect(describeHarmless(errors)).toBe(
      'a role the dump names does not exist (ownership or privileges not restored) (2x); schema "public" already exists (1x); comment on an extension owned by another role (1x)'
    )
  })
})
