// The server stops in the middle of the restore: a clear failure, and the temporary database it
// leaves is dropped by the post step once the server is back.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseFileCommand, ROOT, runBundle } from './support/runner.js'
import { startServer, temporaryDatabases, TEST_PASSWORD, type TestServer } from './support/server.js'

let server: TestServer
let temp: string

beforeAll(async () => {
  server = await startServer(undefined, TEST_PASSWORD, true)
  await server.query('CREATE DATABASE large')
  await server.query('CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 4) AS padding FROM generate_series(1, 800000) g', 'large')
  temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-lost-'))
})

afterAll(async () => {
  await server?.stop().catch(() => {})
  if (server) await rm(server.socketDirectory, { recursive: true, force: true })
  if (temp) await rm(temp, { recursive: true, force: true })
})

test('a server that stops mid-restore fails the run clearly; the post step drops what it left once the server is back', async () => {
  const stateFile = path.join(temp, 'state')
  await writeFile(stateFile, '')
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
    env: { PATH: process.env.PATH, RUNNER_TEMP: temp, 'INPUT_DATABASE-URL': server.url('large'), GITHUB_STATE: stateFile }
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
  const error = stdout.split('\n').find((line) => line.startsWith('::error::')) ?? ''
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
