// The per-database histories a fleet report draws its trend arrows from: every *.jsonl below a
// folder, each database's records by the name its runs were given (else the file's name). A file
// that is not a history is named and left out; the report goes on without its trend.

import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseHistory, type HistoryRecord } from '../records/history.js'
import { VerificationError } from '../run/errors.js'

export interface FleetHistories {
  /** Each database's records, oldest first. */
  byName: Map<string, HistoryRecord[]>
  /** Files that could not be read as a history, each with the reason. */
  unreadable: Array<{ file: string; reason: string }>
}

export async function readFleetHistories(folder: string): Promise<FleetHistories> {
  const byName = new Map<string, HistoryRecord[]>()
  const unreadable: FleetHistories['unreadable'] = []
  const info = await stat(folder).catch(() => undefined)
  if (!info?.isDirectory()) return { byName, unreadable }
  const entries = await readdir(folder, { recursive: true, withFileTypes: true })
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.jsonl'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()
  for (const file of files) {
    let records: HistoryRecord[]
    try {
      records = parseHistory(await readFile(file, 'utf8'), { path: file, given: file })
    } catch (error) {
      const reason =
        error instanceof VerificationError
          ? `it is not a backup-verify history (${/; (line \d+ .*?)\. The file/.exec(error.message)?.[1] ?? 'unreadable'})`
          : `it cannot be read (${codeOf(error)})`
      unreadable.push({ file, reason })
      continue
    }
    for (const record of records) {
      const name = record.name ?? path.basename(file, '.jsonl')
      const list = byName.get(name) ?? []
      list.push(record)
      byName.set(name, list)
    }
  }
  for (const list of byName.values()) list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
  return { byName, unreadable }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unreadable'
}
