// How long reading and appending to a full history takes: a history of `history-limit` records
// (100 by default, or --records N), read and parsed, then appended to (lock, read again, write, fsync,
// rename), each timed over --repeats runs. Run with `npm run bench:history`.

import { mkdtemp, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { appendHistory, readHistory } from '../build/src/records/history.js'

const { values } = parseArgs({ options: { records: { type: 'string', default: '100' }, repeats: { type: 'string', default: '200' } } })
const records = Number(values.records)
const repeats = Number(values.repeats)
const dir = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-bench-history-'))
const file = { path: path.join(dir, 'history.jsonl'), given: 'history.jsonl' }
const record = (index) => ({
  tool: 'backup-verify',
  schema: 1,
  time: new Date(Date.UTC(2026, 0, 1) + index * 86_400_000).toISOString(),
  result: index % 10 === 9 ? 'failed' : 'passed',
  durationMs: 60_000 + index,
  phases: { Create: 20_000, Validate: 1_000, Restore: 39_000 },
  sizeBytes: 300_000_000 + index * 1000,
  format: 'plain',
  tables: 120,
  rows: 5_000_000 + index,
  serverVersion: '17.2',
  clientVersion: '17.2',
  checksum: 'b23b3430fb1fe8d851bb74a830d60ef928e47801830cd249bb8b939eda6bfc9a',
  verifyLevel: 'rows'
})
try {
  for (let index = 0; index < records; index++) await appendHistory(file, record(index), records)
  const median = (times) => times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
  const reads = []
  const appends = []
  for (let index = 0; index < repeats; index++) {
    let started = performance.now()
    const read = await readHistory(file)
    reads.push(performance.now() - started)
    if (read.length !== records) throw new Error(`read ${read.length} records, expected ${records}`)
    started = performance.now()
    await appendHistory(file, record(records + index), records)
    appends.push(performance.now() - started)
  }
  const { size } = await stat(file.path)
  console.log(`History of ${records} records, ${size} bytes; medians of ${repeats} runs:`)
  console.log(`  read and check every record   ${median(reads).toFixed(2)} ms`)
  console.log(`  append (lock, read, write, fsync, rename)   ${median(appends).toFixed(2)} ms`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
