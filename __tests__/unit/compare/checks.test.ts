// The checks input read into checks: names, expectations, one per line or ended by ";".

import { expect, test } from '@jest/globals'
import { parseChecks } from '../../../src/compare/checks.js'

test("the input's own text: one check per line, named and expected by the comments before it", () => {
  const text = [
    '-- name: customers present',
    'select count(*) > 0 from customers;',
    '',
    '-- expect: empty',
    'select id from orphans',
    '-- a note',
    'select true'
  ].join('\n')
  expect(parseChecks(text, true)).toEqual([
    { name: 'customers present', query: 'select count(*) > 0 from customers', expect: 'true' },
    { name: 'check 2', query: 'select id from orphans', expect: 'empty' },
    { name: 'check 3', query: 'select true', expect: 'true' }
  ])
})

test('a .sql file: a check runs on to its ";" over several lines; a blank line or a new name ends one too', () => {
  const text = ['-- name: totals', 'select bool_and(total > 0)', '  from orders;', '-- name: unfinished', 'select 1', '', 'select 2;'].join(
    '\n'
  )
  expect(parseChecks(text, false)).toEqual([
    { name: 'totals', query: 'select bool_and(total > 0)\n  from orders', expect: 'true' },
    { name: 'unfinished', query: 'select 1', expect: 'true' },
    { name: 'check 3', query: 'select 2', expect: 'true' }
  ])
})

test('comments and blank lines alone are no check', () => {
  expect(parseChecks('-- nothing\n\n   \n', false)).toEqual([])
})
