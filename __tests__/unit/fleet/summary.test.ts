// The fleet's job summary stays under GitHub's 1 MiB a step however many databases it reports on:
// what the budget cannot hold is counted and left to the report's JSON.

import { expect, test } from '@jest/globals'
import { buildFleetReport } from '../../../src/fleet/report.js'
import type { FleetReceipt } from '../../../src/fleet/receipts.js'
import { fleetSummaryHtml } from '../../../src/fleet/summary.js'

test('5,000 failed databases with long reasons in several scripts: the summary stays under 1 MiB and says how many rows it left out', () => {
  const reason = 'Die Sicherung ist zu klein — резервная копия слишком мала — バックアップが小さすぎます '.repeat(4)
  const receipts: FleetReceipt[] = Array.from({ length: 5000 }, (_, index) => ({
    file: `/r/${index}.json`,
    name: `database-${index}`,
    verdict: 'failed',
    startedAt: '2026-12-04T10:00:00.000Z',
    durationMs: 1000,
    schemaVersion: 4,
    failedPhase: 'Validate',
    problem: 'backup-too-small',
    reason
  }))
  const report = buildFleetReport({
    receipts,
    unreadable: [],
    histories: new Map(),
    unreadableHistories: [],
    expected: [],
    failOn: 'any',
    now: new Date('2026-12-04T11:00:00.000Z')
  })
  const html = fleetSummaryHtml(report)
  expect(Buffer.byteLength(html)).toBeLessThan(1024 * 1024)
  const shown = html.match(/<tr><td>/g)?.length ?? 0
  expect(shown).toBeGreaterThan(100)
  expect(shown).toBeLessThan(5000)
  expect(html).toContain(`${5000 - shown} more lines are in the report's JSON (output report-path): the summary is kept under 1 MiB.`)
})
