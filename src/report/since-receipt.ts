// What changed since another backup's receipt, in the user's words: label and text pairs for the
// summary and the log (see records/since-receipt.ts for the comparison itself).

import type { SinceReceipt, TableSinceReceipt } from './result.js'

const MAX_NAMED = 20

/** How much of `before` is gone in `now`, in percent (0 when nothing was there). */
export const shrinkPercent = (before: number, now: number) => (before > 0 ? ((before - now) / before) * 100 : 0)

export function describeShrink(entry: TableSinceReceipt): string {
  const then = entry.rowsThen ?? 0
  const now = entry.rowsNow ?? 0
  return `${entry.table} ${then} rows then, ${now} now (-${shrinkPercent(then, now).toFixed(1)}%)`
}

/** Up to MAX_NAMED names, then how many more. */
export function named(names: string[]): string {
  const shown = names.slice(0, MAX_NAMED).join('; ')
  return names.length > MAX_NAMED ? `${shown}; and ${names.length - MAX_NAMED} more` : shown
}

function rowsMoved(entry: TableSinceReceipt): string {
  return entry.rowsThen === entry.rowsNow
    ? `${entry.table} (same ${entry.rowsNow} rows)`
    : `${entry.table} (${entry.rowsThen} rows then, ${entry.rowsNow} now)`
}

/** The comparison as label and text pairs, for the summary and the log: every table named, compared or not. */
export function describeSinceReceipt(since: SinceReceipt): Array<[string, string]> {
  const { receipt, definitions } = since
  const of = `another backup's receipt (SHA-256 ${receipt.sha256 ? `${receipt.sha256.slice(0, 12)}…` : 'unknown'}, verified ${receipt.startedAt})`
  const lines: Array<[string, string]> = []
  const content = [
    since.identical.length > 0 ? `the same in ${since.identical.length}: ${named(since.identical)}` : 'the same in none',
    since.changed.length > 0 ? `changed in ${since.changed.length}: ${named(since.changed.map(rowsMoved))}` : 'changed in none'
  ]
  lines.push([
    `Content since ${of}`,
    `${since.identical.length + since.changed.length} table(s) compared by fingerprint; ${content.join('; ')}`
  ])
  if (since.notCompared.length > 0)
    lines.push([
      'Not compared by content',
      `${since.notCompared.length} table(s), by row count only: ${named(since.notCompared.map((entry) => `${entry.table} (${entry.reason})`))}`
    ])
  if (since.added.length > 0) lines.push(['Tables added since', `${since.added.length}: ${named(since.added)}`])
  lines.push([
    'Rows since the receipt',
    since.missing.length + since.shrank.length === 0
      ? since.rowsCounted
        ? `no table lost more than max-shrink (${since.maxShrinkPercent}%) of its rows, none is gone`
        : 'none is gone; rows not counted (verify: schema), so no table was held to max-shrink'
      : [
          since.missing.length > 0 ? `gone: ${named(since.missing)}` : '',
          since.shrank.length > 0
            ? `lost more than max-shrink (${since.maxShrinkPercent}%): ${named(since.shrank.map(describeShrink))}`
            : ''
        ]
          .filter(Boolean)
          .join('; ')
  ])
  lines.push([
    'Definitions since the receipt',
    `${definitions.compared} compared by ${definitions.by === 'hash' ? 'hash' : 'name only (the receipt was read on a server of another major)'}; ` +
      `${definitions.differ.length > 0 ? `differ: ${named(definitions.differ)}` : 'none differs'}; ` +
      `${definitions.gone.length > 0 ? `gone: ${named(definitions.gone)}` : 'none is gone'}; ${definitions.added} added`
  ])
  return lines
}
