// The team's own checks (input checks) on the restored copy, against a real server: assertions
// that pass, fail (named, their first rows shown), cannot run (a syntax error, a write, a query that
// runs forever), "-- expect: empty", a checks file, a password in a check's text; a base backup too.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { htmlProblems } from '../support/html.js'
import { createSampleDatabase, SERVER_BIN, takeBaseBackup, TEST_PASSWORD, useServer } from '../support/server.js'
import { testNeeding } from '../support/skips.js'

const { server, work } = useServer('checks')

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
}, 60_000)

async function verify(inputs: Record<string, string>) {
  const settings = settingsFrom({ 'database-url': server.url('shop'), 'min-size': '0', verify: 'rows', ...inputs }, work)
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger: new MemoryLedger() })
  return { result, reporter, settings }
}

const PASSING = [
  '-- name: customers present',
  'select count(*) = 1000 from public.customers',
  '-- name: no order without its customer',
  '-- expect: empty',
  'select o.id from sales.orders o left join public.customers c on c.id = o.customer_id where c.id is null'
].join('\n')

describe('checks on the restored copy', () => {
  test('a passing set: each named, passed, in the summary and the receipt; the temporary database dropped after', async () => {
    const { result } = await verify({ checks: PASSING })
    expect(result.error).toBeUndefined()
    expect(result.teamChecks?.outcomes.map(({ name, status }) => [name, status])).toEqual([
      ['customers present', 'passed'],
      ['no order without its customer', 'passed']
    ])
    expect(result.teamChecks?.database).toBe(result.restoreDatabase?.name)
    expect(result.restoreDatabase?.dropped).toBe(true)
    const html = renderSummary(buildSummary(result))
    expect(htmlProblems(html)).toEqual([])
    expect(html).toContain('Checks on the restored copy')
    expect(html).toContain('customers present')
  })

  test('a failing assertion fails the run after the comparison, named, with its first rows', async () => {
    const { result } = await verify({
      checks: [
        '-- name: big spenders',
        'select count(*) > 1000000 from sales.orders',
        '-- name: orphans',
        '-- expect: empty',
        'select id, status from sales.orders order by id limit 7'
      ].join('\n')
    })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('check-failed')
    expect(result.error?.message).toMatch(
      /2 of 2 check\(s\) on the restored copy did not pass: "big spenders" failed: false, not true \(first rows: false\); "orphans" failed: 7 row\(s\), none expected \(first rows: 1 \| \w+; 2 \|/
    )
    expect(result.teamChecks?.outcomes[1].rows).toHaveLength(5)
    expect(result.tables?.missing).toEqual([])
  })

  test('with alert-mode: warn, a failed check warns and the run passes', async () => {
    const { result, reporter } = await verify({ checks: 'select false', 'alert-mode': 'warn' })
    expect(result.status).toBe('passed')
    expect(reporter.warnings.join('\n')).toContain('check 1" failed: false, not true')
  })

  test.each([
    ['a syntax error', 'selec 1', /could not run: the server said: syntax error at or near "selec"/],
    [
      'a write',
      'insert into public.customers (name, email) values ($$x$$, $$y$$) returning true',
      /cannot execute INSERT in a read-only transaction/
    ],
    ['a query that runs forever', 'select pg_sleep(600) is not null', /stopped after 1 s \(checks-timeout\)/]
  ])('%s is an error, reported; the run fails without hanging', async (_what, check, said) => {
    const started = Date.now()
    const { result } = await verify({ checks: check, 'checks-timeout': '1s' })
    expect(result.error?.problem).toBe('check-failed')
    expect(result.error?.message).toMatch(said)
    expect(result.teamChecks?.outcomes[0].status).toBe('error')
    expect(Date.now() - started).toBeLessThan(60_000)
    const [{ count }] = await server.query<{ count: string }>(
      "SELECT count(*)::text AS count FROM public.customers WHERE name = 'x'",
      'shop'
    )
    expect(count).toBe('0')
  })

  test('a .sql file of checks, several lines each; one that does not exist is refused before connecting', async () => {
    const file = path.join(work, 'invariants.sql')
    await writeFile(
      file,
      '-- name: totals are positive\nselect bool_and(total > 0)\n  from sales.orders;\n\n-- expect: empty\nselect 1 where false;\n'
    )
    const { result } = await verify({ checks: file })
    expect(result.error).toBeUndefined()
    expect(result.teamChecks?.outcomes.map((outcome) => outcome.name)).toEqual(['totals are positive', 'check 2'])
    const missing = await verify({ checks: path.join(work, 'nope.sql') })
    expect(missing.result.error?.problem).toBe('bad-input')
    expect(missing.result.error?.message).toContain('Input "checks"')
    expect(missing.result.phases.every((phase) => phase.status === 'not run')).toBe(true)
  })

  test('a check whose text holds the password: masked in the log, the summary, the receipt and the error', async () => {
    const { result, reporter } = await verify({ checks: `select '${TEST_PASSWORD.replace(/'/g, "''")}' = 'x'` })
    expect(result.error?.problem).toBe('check-failed')
    const said = [...reporter.lines, ...reporter.warnings, JSON.stringify(result), renderSummary(buildSummary(result))]
    expect(said.filter((text) => text.includes(TEST_PASSWORD))).toEqual([])
  })
})

const maybe = testNeeding('PostgreSQL 15 server binaries (postgresql-15)', SERVER_BIN)

describe('checks on a base backup', () => {
  maybe('run on the copy, in the database with the most tables', async () => {
    const backup = path.join(work, 'base')
    const made = takeBaseBackup(server, backup)
    expect(made.status).toBe(0)
    const settings = settingsFrom({ method: 'physical', 'backup-file': backup, checks: PASSING }, work)
    const result = await verifyBackup({
      settings,
      reporter: recordingReporter(),
      ledger: new MemoryLedger(),
      env: { PATH: process.env.PATH }
    })
    expect(result.error).toBeUndefined()
    expect(result.teamChecks?.database).toBe('shop')
    expect(result.teamChecks?.outcomes.every((outcome) => outcome.status === 'passed')).toBe(true)
  })
})
