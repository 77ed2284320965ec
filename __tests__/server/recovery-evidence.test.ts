// The recovery point and time, whatever the method: how old the copy's newest data is once it is
// ready (a dump made now, an existing dump's header, a base backup's last replayed commit, or the
// application's own freshness-query) and how long the restore took; the objectives max-age and
// max-restore-time; the receipt and the history.

import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { outputsOf } from '../../src/report/outputs.js'
import { findClientTools } from '../../src/tools/locate.js'
import { createSampleDatabase, SERVER_BIN, takeBaseBackup, useServer } from '../support/server.js'
import { testNeeding } from '../support/skips.js'

const { server, work } = useServer('evidence')

async function verify(inputs: Record<string, string>) {
  const settings = settingsFrom({ 'min-size': '0', verify: 'rows', ...inputs }, work)
  return verifyBackup({ settings, reporter: recordingReporter(), ledger: new MemoryLedger(), env: { PATH: process.env.PATH } })
}

/** A verbose plain dump of shop whose "-- Started on" line says it began an hour ago; the file itself is new. */
async function dumpAnHourOld(): Promise<string> {
  const tools = (await findClientTools()).sort((a, b) => b.version.major - a.version.major)[0]
  const file = path.join(work, 'hour-old.sql')
  const made = spawnSync(path.join(tools.directory, 'pg_dump'), ['--verbose', `--file=${file}`, server.url('shop')], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' }
  })
  expect(made.status).toBe(0)
  const hourAgo = new Date(Date.now() - 3600_000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
  const text = await readFile(file, 'utf8')
  expect(text).toMatch(/^-- Started on .+$/m)
  await writeFile(file, text.replace(/^-- Started on .+$/m, `-- Started on ${hourAgo}`))
  return file
}

describe('the recovery point and time', () => {
  test('a dump made now: its newest data is the snapshot, seconds old; the restore time is given; receipt and history carry both', async () => {
    await createSampleDatabase(server, 'shop')
    const history = path.join(work, 'history.jsonl')
    const result = await verify({ 'database-url': server.url('shop'), history })
    expect(result.error).toBeUndefined()
    expect(result.evidence?.newestData?.from).toBe('the snapshot pg_dump dumped')
    expect(result.evidence?.ageSeconds).toBeLessThan(60)
    expect(result.evidence?.restoreMs).toBeGreaterThan(0)
    expect(Number(outputsOf(result)['restore-duration'])).toBeGreaterThan(0)
    expect(outputsOf(result)['backup-age']).toBe(String(result.evidence?.ageSeconds))
    const receipt = JSON.parse(await readFile(result.receiptPath!, 'utf8'))
    expect(receipt.evidence).toEqual(result.evidence)
    const record = JSON.parse((await readFile(history, 'utf8')).trim().split('\n').at(-1)!)
    expect(record).toEqual(
      expect.objectContaining({ restoreMs: result.evidence?.restoreMs, backupAgeSeconds: result.evidence?.ageSeconds })
    )
  })

  test('an existing dump made an hour before: an hour, from its header, not the file; max-age 2h passes, 30m fails', async () => {
    const file = await dumpAnHourOld()
    const passed = await verify({ 'backup-file': file, 'database-url': server.url('postgres'), 'max-age': '2h' })
    expect(passed.error).toBeUndefined()
    expect(passed.evidence?.newestData?.from).toBe('the dump\'s "-- Started on" line')
    expect(passed.evidence!.ageSeconds!).toBeGreaterThanOrEqual(3600)
    expect(passed.evidence!.ageSeconds!).toBeLessThan(3700)
    const failed = await verify({ 'backup-file': file, 'database-url': server.url('postgres'), 'max-age': '30m' })
    expect(failed.status).toBe('failed')
    expect(failed.error?.problem).toBe('alert')
    expect(failed.error?.message).toMatch(
      /Alert \(max-age\): The copy's newest data .* was 1h( \d+m)?( \d+s)? old when the copy was ready, over max-age, the recovery point objective \(30m\)/
    )
  })

  test('max-restore-time: 1ms fails naming the objective, the restore itself passed', async () => {
    const result = await verify({ 'database-url': server.url('shop'), 'max-restore-time': '1ms' })
    expect(result.error?.problem).toBe('alert')
    expect(result.error?.message).toMatch(
      /Alert \(max-restore-time\): The restore took .* to a usable copy, over max-restore-time, the recovery time objective \(1 ms\)/
    )
    expect(result.phases.every((phase) => phase.status === 'passed')).toBe(true)
  })

  test("freshness-query: the application's own newest time, three hours old, is the recovery point; max-age 2h fails on it", async () => {
    await server.query('CREATE DATABASE events')
    await server.query(
      "CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL); INSERT INTO events SELECT i, now() - interval '3 hours' - i * interval '1 minute' FROM generate_series(1, 50) i",
      'events'
    )
    const query = 'select max(created_at) from events'
    const result = await verify({ 'database-url': server.url('events'), 'freshness-query': query })
    expect(result.error).toBeUndefined()
    expect(result.evidence?.newestData?.from).toBe('freshness-query')
    expect(result.evidence!.ageSeconds!).toBeGreaterThanOrEqual(3 * 3600 + 60)
    expect(result.evidence!.ageSeconds!).toBeLessThan(3 * 3600 + 180)
    expect(outputsOf(result)['backup-age']).toBe(String(result.evidence?.ageSeconds))
    // Asked like a check, and listed with them.
    expect(result.teamChecks?.outcomes).toEqual([
      expect.objectContaining({ name: 'freshness-query', query, expect: 'time', status: 'passed', detail: result.evidence?.newestData?.at })
    ])
    const old = await verify({ 'database-url': server.url('events'), 'freshness-query': query, 'max-age': '2h' })
    expect(old.error?.problem).toBe('alert')
    expect(old.error?.message).toMatch(/Alert \(max-age\): The copy's newest data \(.*, from freshness-query\) was 3h 1m( \d+s)? old/)
  })

  test('freshness-query without an answer (an empty table, a write) fails the run, naming the query', async () => {
    await server.query('CREATE DATABASE quiet')
    await server.query('CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz)', 'quiet')
    const empty = await verify({ 'database-url': server.url('quiet'), 'freshness-query': 'select max(created_at) from events;' })
    expect(empty.error?.problem).toBe('check-failed')
    expect(empty.error?.message).toContain('"freshness-query" failed: NULL, not a time: no row holds one in the copy')
    expect(empty.error?.hint).toContain('(freshness-query)')
    expect(empty.evidence?.newestData?.from).toBe('the snapshot pg_dump dumped')
    const writing = await verify({
      'database-url': server.url('quiet'),
      'freshness-query': 'insert into events values (1, now()) returning created_at'
    })
    expect(writing.error?.problem).toBe('check-failed')
    expect(writing.error?.message).toContain('cannot execute INSERT in a read-only transaction')
  })

  test('max-age and a dump that carries no time: fails naming freshness-query, which then gives it', async () => {
    const tools = (await findClientTools()).sort((a, b) => b.version.major - a.version.major)[0]
    const file = path.join(work, 'untimed.sql')
    expect(spawnSync(path.join(tools.directory, 'pg_dump'), [`--file=${file}`, server.url('shop')]).status).toBe(0)
    expect(await readFile(file, 'utf8')).not.toContain('-- Started on')
    const untimed = await verify({ 'backup-file': file, 'database-url': server.url('postgres'), 'max-age': '1d' })
    expect(untimed.error?.problem).toBe('alert')
    expect(untimed.error?.message).toContain("max-age is set, and the copy's newest data has no time this run can read")
    expect(untimed.evidence?.ageSeconds).toBeUndefined()
    const told = await verify({
      'backup-file': file,
      'database-url': server.url('postgres'),
      'max-age': '1d',
      'freshness-query': "select now() - interval '2 hours'"
    })
    expect(told.error).toBeUndefined()
    expect(Math.round(told.evidence!.ageSeconds! / 60)).toBe(120)
  })

  testNeeding('PostgreSQL 15 server binaries (postgresql-15)', SERVER_BIN)(
    'a base backup: the newest data from its recovery, the time to restore its files and recovery',
    async () => {
      const backup = path.join(work, 'base')
      const made = takeBaseBackup(server, backup)
      expect(made.status).toBe(0)
      const result = await verify({ method: 'physical', 'backup-file': backup })
      expect(result.error).toBeUndefined()
      expect(result.evidence?.newestData?.from).toMatch(/the last commit recovery replayed|the backup's start/)
      expect(result.evidence?.ageSeconds).toBeLessThan(120)
      expect(result.evidence?.restoreMs).toBeGreaterThanOrEqual(result.physical!.recovery!.millisecondsToConsistent)
      // The application's own time, asked of the started copy.
      const told = await verify({ method: 'physical', 'backup-file': backup, 'freshness-query': "select now() - interval '5 days'" })
      expect(told.error).toBeUndefined()
      expect(told.evidence?.newestData?.from).toBe('freshness-query')
      expect(Math.round(told.evidence!.ageSeconds! / 3600)).toBe(120)
    }
  )
})
