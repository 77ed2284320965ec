// Secrets and messages: a connection string in any form is refused without showing its password;
// children never inherit the inputs; each failure is named in the user's terms, with a hint that fits.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { durationInWords } from '../../src/run/duration.js'
import { recordingReporter } from '../support/reporter.js'
import { runBundle, withoutProperties } from '../support/runner.js'
import { useServer } from '../support/server.js'

const { server, work } = useServer('messages')

beforeAll(async () => {
  await server.query('CREATE DATABASE shop')
  await server.query(
    `CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int, parent_id int REFERENCES parent (id));
     INSERT INTO parent SELECT generate_series(1, 100); INSERT INTO child SELECT g, g FROM generate_series(1, 100) g;`,
    'shop'
  )
})

async function pgDump(file: string, format = 'plain'): Promise<void> {
  const tools = (await findClientTools())[0]
  execFileSync(tools.pgDump, [`--format=${format}`, `--file=${file}`, 'shop'], {
    env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
  })
}

describe('connection strings', () => {
  test('a key=value connection string is refused naming the input, its password hidden whole, quotes and escapes included', async () => {
    const value = `host=127.0.0.1 port=${server.port} user=postgres password='it\\'s s3cr3t pa55' dbname=shop`
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': value } })
    expect(run.code).toBe(1)
    const error =
      withoutProperties(run.stdout)
        .split('\n')
        .find((line) => line.startsWith('::error::')) ?? ''
    expect(error).toContain(
      `Input "database-url" has an invalid value "host=127.0.0.1 port=${server.port} user=postgres password=*** dbname=shop"`
    )
    expect(error).toContain('a key=value connection string is not read: write the same settings as a URL')
    for (const fragment of ['s3cr3t', 'pa55', "it\\'s", "'it"]) expect(run.everything).not.toContain(fragment)
  })

  test('a URL whose password holds an unencoded "@" is refused with the fix, and only the whole password is masked', async () => {
    const url = `postgresql://postgres:p@ss@127.0.0.1:${server.port}/shop`
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': url } })
    expect(run.code).toBe(1)
    // Command data is escaped (% as %25); the runner shows it unescaped.
    const error = (
      withoutProperties(run.stdout)
        .split('\n')
        .find((line) => line.startsWith('::error::')) ?? ''
    ).replace(/%25/g, '%')
    expect(error).toContain(
      `Input "database-url" has an invalid value "postgresql://postgres:***@127.0.0.1:${server.port}/shop": expected a URL such as postgresql://user:password@host:5432/dbname`
    )
    expect(error).toContain('the password holds an "@" that is not percent-encoded: write it as %40')
    expect(run.masks).toContain('p@ss')
    expect(run.masks).not.toContain('p')
  })

  test('no child process inherits the inputs or the URL: the version probes included', async () => {
    const tools = (await findClientTools())[0]
    const wrappers = path.join(work, 'wrappers')
    const logs = path.join(work, 'child-environments')
    execFileSync('mkdir', ['-p', wrappers, logs])
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      const wrapper = path.join(wrappers, tool)
      await writeFile(wrapper, `#!/bin/sh\nenv > "${logs}/${tool}.$$.env"\nexec "${path.join(tools.directory, tool)}" "$@"\n`)
      await chmod(wrapper, 0o755)
    }
    const url = server.url('shop')
    const run = await runBundle('dist/index.js', {
      inputs: { 'database-url': url },
      env: { PGBIN: wrappers, DATABASE_URL: url, DB_PASSWORD: server.password }
    })
    expect(run.stdout).toContain(`in ${wrappers}`)
    expect(run.code).toBe(0)
    const recorded = await readdir(logs)
    // The version probes of the three tools, pg_dump, and the psql sessions of the restore.
    expect(recorded.filter((name) => name.startsWith('pg_restore')).length).toBeGreaterThan(0)
    expect(recorded.filter((name) => name.startsWith('pg_dump')).length).toBeGreaterThan(1)
    for (const name of recorded) {
      const env = await readFile(path.join(logs, name), 'utf8')
      expect({
        name,
        leaks: env.split('\n').filter((line) => /^(INPUT_|DATABASE_URL=|DB_PASSWORD=)/.test(line) || line.includes(server.password))
      }).toEqual({ name, leaks: [] })
    }
  })
})

describe('messages', () => {
  test("a foreign key the backup's rows break gets a hint about the rows, not about templates or roles", async () => {
    const file = path.join(work, 'orphan.sql')
    await pgDump(file)
    const text = await readFile(file, 'utf8')
    await writeFile(file, text.replace(/(COPY public\.child \(id, parent_id\) FROM stdin;\n)/, '$11000\t999\n'))
    const inputs: Record<string, string> = { 'backup-file': file, 'restore-database-url': server.url('postgres'), 'min-size': '0' }
    const settings = settingsFrom(inputs, work)
    const result = await verifyBackup({ settings, reporter: recordingReporter() })
    expect(result.status).toBe('failed')
    expect(result.error?.message).toMatch(/violates foreign key constraint/)
    expect(result.error?.hint).toBe(
      'Rows in the backup break a foreign key (a row refers to one the backup does not hold): the backup is incomplete or damaged, or was made while the key was not enforced (NOT VALID, or triggers disabled).'
    )
  })

  test('a cut \\unrestrict line is named as cut, with how much of its key is left', async () => {
    const file = path.join(work, 'cut.sql')
    await pgDump(file)
    const text = await readFile(file, 'utf8')
    const key = /^\\unrestrict (\S+)$/m.exec(text)?.[1] as string
    await writeFile(file, text.replace(`\\unrestrict ${key}`, `\\unrestrict ${key.slice(0, 20)}`))
    const inputs: Record<string, string> = { 'backup-file': file, 'restore-database-url': server.url('postgres'), 'min-size': '0' }
    const settings = settingsFrom(inputs, work)
    const result = await verifyBackup({ settings, reporter: recordingReporter() })
    expect(result.status).toBe('failed')
    expect(result.error?.message).toContain(
      `\\restrict pairs: the \\unrestrict line is cut: its key ends after 20 of the ${key.length} characters of \\restrict ${key.slice(0, 12)}…`
    )
  })

  test("an existing backup's summary names the file and the server it was restored on, and the receipt as the reference", async () => {
    const file = path.join(work, 'nightly.dump')
    await pgDump(file, 'custom')
    const run = await runBundle('dist/index.js', {
      inputs: { 'backup-file': file, 'restore-database-url': server.url('postgres'), 'min-size': '0' }
    })
    expect(run.code).toBe(0)
    expect(run.summary).toContain(`<td>Backup file</td><td><code>${file}</code> (verified where it is)</td>`)
    expect(run.summary).toContain(`<td>Restored on</td><td>postgres@127.0.0.1:${server.port}/postgres</td>`)
    expect(run.summary).not.toContain('Backup kept at')
    expect(run.summary).not.toContain('<td>Database</td>')
    expect(run.outputs['backup-path']).toBe('')

    const made = await runBundle('dist/index.js', {
      inputs: { 'database-url': server.url('shop'), format: 'custom', 'keep-backup': 'true' },
      env: { RUNNER_TEMP: work }
    })
    expect(made.code).toBe(0)
    const withReceipt = await runBundle('dist/index.js', {
      inputs: {
        'backup-file': made.outputs['backup-path'],
        'restore-database-url': server.url('postgres'),
        receipt: made.outputs['report-path']
      }
    })
    expect(withReceipt.code).toBe(0)
    expect(withReceipt.summary).toContain('<th>Rows in the receipt</th>')
    expect(withReceipt.summary).toContain('<td>Rows (receipt / restored)</td><td>200 / 200</td>')
    expect(withReceipt.summary).not.toContain('in the dump')
  })

  test('kept custom and directory backups are as private as plain and tar ones', async () => {
    for (const format of ['custom', 'directory', 'plain', 'tar']) {
      const root = await mkdtemp(path.join(work, `kept-${format}-`))
      const inputs: Record<string, string> = { 'database-url': server.url('shop'), format, 'keep-backup': 'true', 'min-size': '0' }
      const settings = settingsFrom(inputs, work, { tempRoot: root })
      const result = await verifyBackup({ settings, reporter: recordingReporter() })
      expect(result.error).toBeUndefined()
      const kept = result.backup!.path
      const mode = (await stat(kept)).mode & 0o777
      expect({ format, mode: mode.toString(8) }).toEqual({ format, mode: format === 'directory' ? '700' : '600' })
      if (format === 'directory') {
        for (const name of await readdir(kept))
          expect({ name, mode: ((await stat(path.join(kept, name))).mode & 0o777).toString(8) }).toEqual({ name, mode: '600' })
      }
    }
  })

  test('durations read as words: 1 minute, 30 seconds, 1 hour 30 minutes', () => {
    expect([60_000, 30_000, 5_400_000, 600, 90_061_000].map(durationInWords)).toEqual([
      '1 minute',
      '30 seconds',
      '1 hour 30 minutes',
      '600 ms',
      '1 day 1 hour 1 minute 1 second'
    ])
  })
})
