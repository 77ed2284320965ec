// The restore_command a throwaway server copies archived WAL with: a wal-archive folder whose name
// holds quotes, $( ), spaces and % still names that folder and nothing else, run as PostgreSQL runs it.

import { expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { restoreCommand } from '../../../src/physical/throwaway-server.js'

/** What PostgreSQL does with restore_command: %f, %p and %% replaced, then sh -c. */
function asPostgresRuns(command: string, file: string, target: string, cwd: string) {
  const expanded = command.replace(/%([fp%])/g, (_all, key: string) => (key === 'f' ? file : key === 'p' ? target : '%'))
  return spawnSync('sh', ['-c', expanded], { cwd, encoding: 'utf8' })
}

test.each([`it's "quoted" $(touch pwned) \`touch pwned\` 100% sure`, 'plain', "a'b'c", 'spaces  and\ttabs'])(
  'the archive %j: the segment is copied from that folder, nothing else runs',
  async (name) => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-restore-command-'))
    try {
      const archive = path.join(work, name)
      await mkdir(archive)
      await writeFile(path.join(archive, '000000010000000000000003'), 'wal bytes')
      await mkdir(path.join(work, 'pg_wal'))
      const run = asPostgresRuns(restoreCommand(archive), '000000010000000000000003', 'pg_wal/RECOVERYXLOG', work)
      expect(run.stderr).toBe('')
      expect(run.status).toBe(0)
      expect(await readFile(path.join(work, 'pg_wal', 'RECOVERYXLOG'), 'utf8')).toBe('wal bytes')
      expect(existsSync(path.join(work, 'pwned'))).toBe(false)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }
)
