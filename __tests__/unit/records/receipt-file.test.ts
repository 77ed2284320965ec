// Two runs in one second (two steps of one job) each keep their own receipt: a later step that
// compares with the first run's receipt gets the first run's, not the second's.

import { expect, test } from '@jest/globals'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { buildReceipt, writeReceipt } from '../../../src/records/receipt.js'
import { DefinitionList } from '../../../src/compare/definition-list.js'
import type { VerificationResult } from '../../../src/report/result.js'

test('receipts of runs that started in the same second are two files, each with its own content', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-receipts-'))
  try {
    const run = (sha256: string): VerificationResult => ({
      status: 'passed',
      phases: [],
      startedAt: '2026-12-02T01:02:03.004Z',
      durationMs: 1,
      backup: { path: '/b', sizeBytes: 1, sha256, format: 'custom', compression: 'none', jobs: 1, streamed: false, kept: true }
    })
    const first = await writeReceipt(folder, buildReceipt(run('a'.repeat(64))))
    const second = await writeReceipt(folder, buildReceipt(run('b'.repeat(64))))
    expect(first).not.toBe(second)
    expect(path.basename(first)).toMatch(/^backup-verify-receipt-20261202T010203004Z-[0-9a-f]{6}\.json$/)
    expect((await readdir(folder)).length).toBe(2)
    expect(JSON.parse(await readFile(first, 'utf8')).backup.sha256).toBe('a'.repeat(64))
    expect(JSON.parse(await readFile(second, 'utf8')).backup.sha256).toBe('b'.repeat(64))
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})

test('a receipt of thousands of definitions, written a part at a time, reads back as the receipt built: none, one, and parts over', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-receipts-'))
  try {
    for (const count of [0, 1, 2000, 4501]) {
      const receipt = buildReceipt({
        status: 'passed',
        phases: [],
        startedAt: '2026-12-02T01:02:03.004Z',
        durationMs: 1,
        inventory: {
          serverVersionNumber: 150018,
          tables: ['public.t'],
          content: [{ table: 'public.t', rows: 3 }],
          objects: {},
          sequences: [],
          definitions: DefinitionList.from(
            Array.from({ length: count }, (_, i) => ({
              kind: 'column' as const,
              name: `public."t ${String(i).padStart(4, '0')}".c`,
              table: 'public.t',
              text: `integer "quoted" \\ ${i}`
            }))
          )
        }
      } as unknown as VerificationResult)
      const file = await writeReceipt(folder, receipt)
      const text = await readFile(file, 'utf8')
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(receipt)))
      expect(JSON.parse(text).inventory.definitions).toHaveLength(count)
      expect(text).not.toContain('written apart')
    }
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})
