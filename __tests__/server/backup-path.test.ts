// backup-file must name a backup: a regular file, or a folder of regular files. Devices, pipes,
// sockets and files the system makes up are refused before any connection, and the time limit
// bounds the reading of a file however large it is.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { runBundle, withoutProperties } from '../support/runner.js'
import { freePort, startServer, type TestServer } from '../support/server.js'

let work: string
let socketServer: net.Server

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-paths-'))
  execFileSync('mkfifo', [path.join(work, 'no-writer.fifo')])
  socketServer = net.createServer().listen(path.join(work, 'a.sock'))
  await new Promise((resolve) => socketServer.once('listening', resolve))
  await rm(path.join(work, 'folder'), { recursive: true, force: true })
  execFileSync('mkdir', ['-p', path.join(work, 'folder-with-pipe')])
  await writeFile(path.join(work, 'folder-with-pipe', 'toc.dat'), 'PGDMP')
  execFileSync('mkfifo', [path.join(work, 'folder-with-pipe', '3001.dat')])
})

afterAll(async () => {
  socketServer?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

describe('paths that are not backups', () => {
  test.each([
    ['/dev/zero', 'is a character device, which would be read forever'],
    ['/dev/urandom', 'is a character device, which would be read forever'],
    ['no-writer.fifo', 'is a FIFO (named pipe), which would be read forever'],
    ['a.sock', 'is a socket, which would be read forever'],
    ['/proc/self/status', 'is a file the system makes up as it is read, not a backup'],
    ['folder-with-pipe', 'the folder holds 3001.dat, which is not a regular file'],
    ['missing.sql', 'nothing is there']
  ])('backup-file %s is refused at once, naming the input, before any connection', async (file, reason) => {
    // Nothing listens on this port: a connection attempt would fail differently, and later.
    const port = await freePort()
    const run = await runBundle('dist/index.js', {
      inputs: { 'backup-file': file, 'restore-database-url': `postgresql://postgres:pw@127.0.0.1:${port}/postgres`, timeout: '0.5' },
      cwd: work,
      timeoutMs: 20_000
    })
    expect(run.code).toBe(1)
    const error =
      withoutProperties(run.stdout)
        .split('\n')
        .find((line) => line.startsWith('::error::')) ?? ''
    expect(error).toContain(
      `Input "backup-file" has an invalid value ${JSON.stringify(file)}: expected the path of a backup file, or of a directory-format folder of files;`
    )
    expect(error).toContain(reason)
    expect(run.stdout).not.toMatch(/Connecting to|Connection refused/)
    expect(run.elapsedMs).toBeLessThan(10_000)
  })
})

describe('the time limit', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  test('bounds the reading of a backup file however large it is: a 50 GB file of zeros stops at timeout, during Validate', async () => {
    const huge = path.join(work, 'huge.sql')
    const handle = await open(huge, 'w')
    await handle.truncate(50 * 1024 ** 3)
    await handle.close()
    const run = await runBundle('dist/index.js', {
      inputs: { 'backup-file': huge, 'restore-database-url': server.url('postgres'), timeout: '0.05' },
      cwd: work,
      timeoutMs: 60_000
    })
    expect(run.code).toBe(1)
    expect(withoutProperties(run.stdout)).toContain(
      '::error::Timed out: the verification did not finish within timeout (3 seconds) and was stopped during Validate.'
    )
    expect(run.elapsedMs).toBeLessThan(30_000)
  })
})
