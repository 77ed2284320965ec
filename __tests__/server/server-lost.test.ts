// The server stops in the middle of the restore: a clear failure, and the temporary database it
// leaves is dropped by the post step once the server is back.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseFileCommand, ROOT, runBundle, withoutProperties } from '../support/runner.js'
import { settingsFrom } from '../support/verify.js'
import { findClientTools } from '../../src/tools/locate.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work: temp } = useServer('lost', { persistent: true })

beforeAll(async () => {
  await server.query('CREATE DATABASE large')
  await server.query('CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 4) AS padding FROM generate_series(1, 800000) g', 'large')
})

test('a server that stops mid-restore fails the run clearly; the post step drops what it left once the server is back', async () => {
  const stateFile = path.join(temp, 'state')
  await writeFile(stateFile, '')
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
    env: {
      PATH: process.env.PATH,
      RUNNER_TEMP: temp,
      'INPUT_DATABASE-URL': server.url('large'),
      // The restore on the server that stops (a throwaway server's own loss is its own case).
      'INPUT_RESTORE-SERVER': 'source',
      GITHUB_STATE: stateFile
    }
  })
  let stdout = ''
  let stopping: Promise<void> | undefined
  child.stdout.on('data', (chunk) => {
    stdout += chunk
    if (!stopping && /Created temporary database/.test(stdout)) stopping = server.stop()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  await stopping
  expect(code).toBe(1)
  const error =
    withoutProperties(stdout)
      .split('\n')
      .find((line) => line.startsWith('::error::')) ?? ''
  expect(error).toMatch(/lost its connection to the server|connection to the server was lost/)
  expect(error).toContain('post step')

  await server.restart()
  const state = parseFileCommand(await readFile(stateFile, 'utf8'))
  const left = JSON.parse(state['temporary-databases'])
  expect(await temporaryDatabases(server)).toEqual(left)
  expect(left).toHaveLength(1)
  const post = await runBundle('dist/post/index.js', {
    inputs: { 'database-url': server.url('large') },
    state: { 'temporary-databases': state['temporary-databases'], 'temporary-folders': state['temporary-folders'] }
  })
  expect(post.code).toBe(0)
  expect(await temporaryDatabases(server)).toEqual([])
})

describe('an existing backup', () => {
  const dumps: Record<string, string> = {}
  beforeAll(async () => {
    const tools = (await findClientTools())[0]
    for (const format of ['plain', 'custom']) {
      dumps[format] = path.join(temp, `large.${format}`)
      execFileSync(tools.pgDump, [`--format=${format}`, `--file=${dumps[format]}`, 'large'], {
        env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
      })
    }
  })

  /** Verifies the dump, stopping the server as soon as a log line matches. */
  async function stopWhen(pattern: RegExp, format = 'plain', more: Record<string, string> = {}) {
    const inputs: Record<string, string> = { 'backup-file': dumps[format], 'restore-database-url': server.url('postgres'), ...more }
    const settings = settingsFrom(inputs, temp)
    let stopping: Promise<void> | undefined
    const reporter = recordingReporter()
    const info = reporter.info
    reporter.info = (line) => {
      info(line)
      if (!stopping && pattern.test(line)) stopping = server.stop()
    }
    const result = await verifyBackup({ settings, reporter })
    await stopping
    await server.restart()
    // What the run could not drop, the post step drops; here, by hand.
    for (const name of await temporaryDatabases(server)) await server.query(`DROP DATABASE "${name}" WITH (FORCE)`)
    return result
  }

  test.each([
    ['plain', 'psql', false],
    ['custom', "psql (replaying pg_restore's script)", false],
    ['custom', 'pg_restore', true]
  ])(
    'a server that stops during the restore of a %s backup is named as lost, not as a backup that does not restore (%s, vouched for: %s)',
    async (format, tool, vouched) => {
      const checksum = createHash('sha256').update(readFileSync(dumps[format])).digest('hex')
      const result = await stopWhen(/^Created temporary database/, format, vouched ? { 'expected-checksum': checksum } : {})
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('connection-lost')
      expect(result.error?.message).toMatch(
        new RegExp(`^Restore failed: the connection to the server was lost while ${tool.replace(/[()]/g, '\\$&')} restored`)
      )
      expect(result.error?.hint).toContain('The server went away during the run')
    }
  )

  test('a server that stops while the backup is validated is named as lost, not as a raw driver message', async () => {
    const result = await stopWhen(/^Existing backup: /)
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('connection-lost')
    expect(result.error?.message).toMatch(
      /^(The connection to the server was lost during (Validate|Restore): |Restore failed: the connection to the server was lost)/
    )
    expect(result.error?.hint).toContain('The server went away during the run')
  })
})
