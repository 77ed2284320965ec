// How pg_amcheck's answer is read: corruption fails, binaries without the amcheck extension say the
// check did not run (never that it passed, never that the backup is damaged). pg_amcheck is stood in
// for by a script that answers as it does; the real one runs in physical.test.ts.

import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { runAmcheck } from '../../../src/physical/prove.js'
import type { ThrowawayServer } from '../../../src/physical/throwaway-server.js'

let work: string
const server = { socketDirectory: '/nowhere', port: 5432, superuser: 'postgres' } as ThrowawayServer

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-amcheck-'))
})

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

async function standIn(name: string, stdout: string, stderr: string, code: number): Promise<string> {
  const file = path.join(work, name)
  await writeFile(file, `#!/bin/sh\nprintf '%s' '${stdout}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`)
  await chmod(file, 0o755)
  return file
}

test('no amcheck extension in the binaries: not run, said so', async () => {
  const tool = await standIn('no-extension', '', 'pg_amcheck: error: extension "amcheck" is not available\n', 1)
  expect(await runAmcheck(tool, server, 1, new AbortController().signal)).toEqual({
    ran: false,
    passed: true,
    detail: 'not run: these server binaries have no amcheck extension (contrib)'
  })
})

test('corruption: failed, with what pg_amcheck said', async () => {
  const tool = await standIn('corrupt', 'btree index "shop.public.customers_pkey":\n    block 1 is not a valid page\n', '', 2)
  expect(await runAmcheck(tool, server, 1, new AbortController().signal)).toEqual({
    ran: true,
    passed: false,
    detail: 'btree index "shop.public.customers_pkey": | block 1 is not a valid page'
  })
})

test('no pg_amcheck at all: not run, said so', async () => {
  expect((await runAmcheck(undefined, server, 1, new AbortController().signal)).ran).toBe(false)
})
