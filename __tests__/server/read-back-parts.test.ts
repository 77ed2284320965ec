// A large table read back in parts, a range of its blocks each, by several sessions side by side:
// the same rows and fingerprint as one read of it, and a changed row caught in any part.

import { expect, test } from '@jest/globals'
import { verifyBackup } from '../../src/engine/verify.js'
import type { VerificationResult } from '../../src/report/result.js'
import { recordingReporter } from '../support/reporter.js'
import { useServer } from '../support/server.js'
import { settingsFrom } from '../support/verify.js'

const statements: string[] = []
const { server, work } = useServer('read-back-parts', {
  settings: ['log_statement=all'],
  onLog: (text) => statements.push(...text.split('\n').filter((line) => /statement: COPY \(SELECT/.test(line)))
})

const ROWS = 60_000

async function verify(splitBytes: number, change?: string): Promise<VerificationResult> {
  const settings = settingsFrom({ 'database-url': server.url('parts'), jobs: '4', 'min-size': '0' }, work)
  return verifyBackup({
    settings,
    reporter: recordingReporter(),
    readBackSplitBytes: splitBytes,
    hooks: change ? { afterRestore: (database) => server.query(change, database).then(() => {}) } : undefined
  })
}

const fingerprintOf = (result: VerificationResult, table: string) => result.tables?.rows.find((row) => row.table === table)

test('setup: a table of several MB and a small one', async () => {
  await server.query('CREATE DATABASE parts')
  await server.query(
    `CREATE TABLE public.big (id int PRIMARY KEY, payload text, tags jsonb);
     INSERT INTO public.big SELECT g, repeat(md5(g::text), 3), jsonb_build_object('n', g) FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE public.small (id int PRIMARY KEY); INSERT INTO public.small SELECT generate_series(1, 10);
     CREATE TABLE public.child (extra int) INHERITS (public.big); INSERT INTO public.child VALUES (-1, 'child row', '{}', 1);`,
    'parts'
  )
})

test('in four parts by block ranges: the rows and fingerprint of one read, and the source’s', async () => {
  statements.length = 0
  const parts = await verify(1024 * 1024)
  expect(parts.error).toBeUndefined()
  const ranges = statements.filter((line) => line.includes('FROM ONLY public.big WHERE ctid >='))
  expect(ranges).toHaveLength(4)
  // The inheriting table's row is not the parent's: ONLY, as COPY public.big TO reads it.
  expect(fingerprintOf(parts, 'public.big')?.restored).toBe(ROWS)
  statements.length = 0
  const whole = await verify(1024 * 1024 * 1024)
  expect(whole.error).toBeUndefined()
  expect(statements.filter((line) => line.includes('public.big WHERE ctid'))).toEqual([])
  expect(fingerprintOf(parts, 'public.big')).toEqual(fingerprintOf(whole, 'public.big'))
  expect(fingerprintOf(parts, 'public.big')?.restoredFingerprint).toBe(fingerprintOf(parts, 'public.big')?.sourceFingerprint)
}, 120_000)

test.each([
  ['in the first part', 'min'],
  ['in the last part', 'max']
])(
  'a value changed in the restored table %s is caught',
  async (_where, end) => {
    const result = await verify(
      1024 * 1024,
      `UPDATE ONLY public.big SET payload = payload || 'x' WHERE ctid = (SELECT ${end}(ctid) FROM ONLY public.big)`
    )
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(/^Content differs in 1 table\(s\) with the same row count: public\.big \(fingerprint copy:/)
  },
  120_000
)

test('a row deleted from the middle of the restored table is caught with both counts', async () => {
  const result = await verify(1024 * 1024, `DELETE FROM ONLY public.big WHERE id = ${ROWS / 2}`)
  expect(result.status).toBe('failed')
  expect(result.error?.message).toBe(`Row counts differ in 1 table(s): public.big ${ROWS} in the source, ${ROWS - 1} restored`)
}, 120_000)
