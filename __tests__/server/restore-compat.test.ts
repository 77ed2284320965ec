// A plain dump from a newer pg_dump restores into an older server: pg_dump 17+ writes
// "SET transaction_timeout = 0;", which servers before 17 reject.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { SettingsFilter, unknownSettings } from '../../src/restore/compat.js'
import { chooseConnection } from '../../src/inputs/connection.js'
import { clientEnvironment } from '../../src/connection/environment.js'
import { runTool } from '../../src/tools/process.js'
import { openSession } from '../../src/connection/session.js'
import { takeInventory } from '../../src/compare/inventory.js'
import { inspectRestored } from '../../src/compare/restored.js'
import { compareInventories } from '../../src/compare/compare.js'
import { restoreBackup } from '../../src/restore/restore.js'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { testRun } from '../support/reporter.js'
import { createSampleDatabase, temporaryDatabases, unavailableReason, useServer } from '../support/server.js'
import { describeIf } from '../support/skips.js'

async function filtered(text: string, settings: string[], chunk = 0): Promise<{ output: string; removed: string[] }> {
  const filter = new SettingsFilter(settings)
  const bytes = Buffer.from(text)
  const chunks = chunk
    ? Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk))
    : [bytes]
  const out: Buffer[] = []
  await pipeline(Readable.from(chunks), filter, new Writable({ write: (c: Buffer, _e, done) => (out.push(c), done()) }))
  return { output: Buffer.concat(out).toString(), removed: filter.removed }
}

describe('SettingsFilter', () => {
  const head =
    "SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\n"

  test('only settings unknown to the server are dropped', () => {
    expect(unknownSettings(16)).toEqual(['transaction_timeout'])
    expect(unknownSettings(17)).toEqual([])
  })

  test.each([0, 1, 7, 1000])('drops the SET line from the head and nothing else (chunks of %d bytes)', async (chunk) => {
    const rest = 'COPY t (a) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n'.repeat(3000)
    const { output, removed } = await filtered(head + rest, ['transaction_timeout'], chunk)
    expect(removed).toEqual(['SET transaction_timeout = 0;'])
    expect(output).toBe(head.replace('SET transaction_timeout = 0;\n', '') + rest)
  })
})

const reason = unavailableReason(14)
const maybe = describeIf(reason)
if (reason) console.warn(`Skipping the restore-into-an-older-server test: ${reason}`)

maybe("restoring a newer client's plain dump into PostgreSQL 14", () => {
  const { server, work } = useServer('compat', { major: 14 })
  let local: ClientTools
  let dumpFile: string
  let checksum: string

  beforeAll(async () => {
    await createSampleDatabase(server, 'shop')
    local = (await findClientTools())[0]
    const choice = chooseConnection(server.url('shop'), {}, undefined)
    if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
    const env = clientEnvironment(choice.target, 'shop', undefined)
    const dump = await runTool(local.pgDump, ['--format=plain', '--no-password'], { env })
    expect(dump.exitCode).toBe(0)
    // What pg_dump 17+ writes after statement_timeout.
    const newer = dump.stdout.replace('SET statement_timeout = 0;\n', 'SET statement_timeout = 0;\nSET transaction_timeout = 0;\n')
    expect(newer).toContain('SET transaction_timeout = 0;')
    dumpFile = path.join(work, 'newer.sql')
    await writeFile(dumpFile, newer)
    checksum = createHash('sha256')
      .update(await readFile(dumpFile))
      .digest('hex')
  })

  const restoreAs = async (clientMajor: number, name: string) => {
    const choice = chooseConnection(server.url('shop'), {}, undefined)
    if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
    const session = await openSession(choice.target)
    const run = testRun()
    try {
      const source = await takeInventory(session, 'rows')
      const request = {
        server: { target: choice.target, session, major: 14 },
        tools: { ...local, version: { ...local.version, major: clientMajor } },
        backup: { path: dumpFile, format: 'plain' as const },
        jobs: 1,
        strict: false,
        untrusted: true,
        databaseName: name
      }
      return await restoreBackup(
        run,
        request,
        async (database) => (await inspectRestored(choice.target, database, 'rows', 1)).inventory
      ).then(({ inspected, restoredChecksum }) => {
        expect(restoredChecksum).toBe(checksum)
        return {
          comparison: compareInventories(source, inspected, [], 'snapshot', 'rows'),
          lines: [...run.lines, ...run.reporter.warnings]
        }
      })
    } finally {
      await session.end()
    }
  }

  test('as is, the server rejects the setting', async () => {
    await expect(restoreAs(14, 'backup_verify_compat_plain')).rejects.toThrow(/unrecognized configuration parameter "transaction_timeout"/)
    expect(await temporaryDatabases(server)).toEqual([])
  })

  test('from a client of a newer major, the setting is left out, said in the log, and every table restores', async () => {
    const { comparison, lines } = await restoreAs(17, 'backup_verify_compat_filtered')
    expect(comparison.restored).toHaveLength(4)
    expect(comparison.rowMismatches).toEqual([])
    expect(lines.join('\n')).toContain('is newer than the server (major 14): left out SET transaction_timeout = 0; while restoring')
    expect(await temporaryDatabases(server)).toEqual([])
  })
})
