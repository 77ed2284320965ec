// A client tool as the run starts it: in a process group of its own, recorded while it runs; when
// its input fails (the backup cannot be read), the tool and what it started end before the record goes.

import { afterEach, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { recordProcessGroups, runTool } from '../../../src/tools/process.js'
import { MemoryLedger } from '../../support/reporter.js'

/** Running: there, and not a zombie nobody reaped yet. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return false
  }
}

afterEach(() => recordProcessGroups(undefined))

test('a tool whose input fails is ended, with what it started, before the record of its group is removed', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-process-'))
  const ledger = new MemoryLedger()
  recordProcessGroups(ledger)
  try {
    const marker = path.join(folder, 'started.pid')
    const input = new Readable({ read() {} })
    input.push('the first bytes of a backup\n')
    setTimeout(() => input.destroy(new Error('the backup could not be read')), 300)
    // A tool that starts a process of its own and reads its input to the end, then waits for it.
    const run = runTool('/bin/sh', ['-c', `sleep 60 & echo $! > ${marker}; cat > /dev/null; wait`], {
      env: { PATH: process.env.PATH },
      stdin: input
    })
    await expect(run).rejects.toThrow('the backup could not be read')
    const started = Number(await readFile(marker, 'utf8'))
    expect(running(started)).toBe(false)
    expect(ledger.everCreated).toHaveLength(1)
    expect(ledger.live.process.size).toBe(0)
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})
