// A failed run's annotation sits on the repository's file the failure is about, and on no other.

import { expect, test } from '@jest/globals'
import { failureAnnotation } from '../../../src/action/annotations.js'

const inputs: Record<string, string> = { checks: 'checks/orders.sql', 'freshness-query': 'select max(created_at) from orders' }
const inputOf = (name: string) => inputs[name] ?? ''

test('a failed check of the checks file points at it; freshness-query failing alone points at no file', () => {
  const error = { problem: 'check-failed' as const }
  expect(failureAnnotation(error, inputOf, '/work', [{ expect: 'true' }, { expect: 'time' }])).toEqual({
    title: 'backup-verify: check-failed',
    file: 'checks/orders.sql'
  })
  expect(failureAnnotation(error, inputOf, '/work', [{ expect: 'time' }])).toEqual({ title: 'backup-verify: check-failed' })
  expect(failureAnnotation(error, inputOf, '/work')).toEqual({ title: 'backup-verify: check-failed', file: 'checks/orders.sql' })
})
