// The trend as the job summary shows it (figures, Mermaid line charts of the size, the duration, the
// restore time and the backup's age, a table of the same figures) and as the terminal prints it:
// pure functions of a Trend.

import { humanBytes } from '../run/bytes.js'
import { formatAge, formatDuration } from '../run/duration.js'
import type { Change, Trend } from './result.js'

interface TrendTable {
  heading: string
  header: string[]
  rows: string[][]
}

export interface TrendSection {
  /** Lines of figures: the failure rate, the streak, the change since the last passing run. Plain text. */
  figures: string[]
  /** Mermaid sources (xychart-beta), one per chart. */
  charts: string[]
  /** The change since the last passing run, when there was one. Plain text cells. */
  change?: TrendTable
  /** Every run's figures: what the charts draw. Plain text cells. */
  runs: TrendTable
}

const SIZE_UNITS: Array<[string, number]> = [
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
  ['bytes', 1]
]

const AGE_UNITS: Array<[string, number]> = [
  ['days', 86_400],
  ['hours', 3600],
  ['minutes', 60],
  ['seconds', 1]
]

/** The largest unit in which the largest value is at least 1. */
function unitOf(units: Array<[string, number]>, largest: number): [string, number] {
  return units.find(([, factor]) => largest >= factor) ?? units[units.length - 1]
}

function rounded(value: number): string {
  return String(Math.round(value * 1000) / 1000)
}

/** A Mermaid xychart-beta line chart; labels are run numbers. */
function lineChart(title: string, axis: string, labels: string[], values: number[]): string {
  const top = Math.max(...values, 0)
  return [
    // GitHub's blue, so that the line reads in both themes (mermaid's default is a pale lilac).
    '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0969da"}}}}%%',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis "Run" [${labels.map((label) => `"${label}"`).join(', ')}]`,
    `  y-axis "${axis}" 0 --> ${rounded(top > 0 ? top * 1.1 : 1)}`,
    `  line [${values.map(rounded).join(', ')}]`
  ].join('\n')
}

function describeChange(name: string, moved: Change | undefined, show: (value: number) => string): string[] | undefined {
  if (!moved) return undefined
  const sign = moved.delta > 0 ? '+' : moved.delta < 0 ? '-' : '±'
  return [name, show(moved.before), show(moved.now), `${sign}${show(Math.abs(moved.delta))}`, formatPercent(moved.percent) || '—']
}

const count = (value: number) => value.toLocaleString('en-US')

export function trendSection(trend: Trend): TrendSection {
  const runs = trend.points.map((point, index) => ({ ...point, label: String(index + 1) }))
  const figures = [
    `${trend.points.length} runs recorded; failure rate ${(trend.failureRate * 100).toFixed(0)}% ` +
      `(${trend.failed} of ${trend.counted} failed); consecutive failures now: ${trend.consecutiveFailures}.`
  ]
  const since = trend.sinceLastPass
  let change: TrendTable | undefined
  if (since) {
    figures.push(`Compared with the last passing run (${since.time}):`)
    if (since.sizeNotCompared) figures.push(`Backup size not compared: ${since.sizeNotCompared}.`)
    change = {
      heading: 'Change since the last passing run',
      header: ['Figure', 'Last passing run', 'This run', 'Change', 'Percent'],
      rows: [
        describeChange('Backup size', since.size, humanBytes),
        describeChange('Rows', since.rows, count),
        describeChange('Tables', since.tables, count),
        describeChange('Duration', since.duration, formatDuration),
        describeChange('Restore time', since.restore, formatDuration),
        describeChange('Backup age', since.age, formatAge)
      ].filter((row): row is string[] => row !== undefined)
    }
  } else {
    figures.push('No earlier run passed: there is nothing to compare this run with yet.')
  }
  const sized = runs.filter((run) => run.sizeBytes !== undefined)
  const charts: string[] = []
  if (sized.length >= 2) {
    const [unit, factor] = unitOf(SIZE_UNITS, Math.max(...sized.map((run) => run.sizeBytes as number)))
    charts.push(
      lineChart(
        `Backup size (${unit})`,
        unit,
        sized.map((run) => run.label),
        sized.map((run) => (run.sizeBytes as number) / factor)
      )
    )
  }
  charts.push(
    lineChart(
      'Total duration (s)',
      'seconds',
      runs.map((run) => run.label),
      runs.map((run) => run.durationMs / 1000)
    )
  )
  // The recovery time and point, from the runs that measured them (a failed run may not have).
  const restored = runs.filter((run) => run.restoreMs !== undefined)
  if (restored.length >= 2) {
    charts.push(
      lineChart(
        'Time to restore (s)',
        'seconds',
        restored.map((run) => run.label),
        restored.map((run) => (run.restoreMs as number) / 1000)
      )
    )
  }
  const aged = runs.filter((run) => run.backupAgeSeconds !== undefined)
  if (aged.length >= 2) {
    const [unit, factor] = unitOf(AGE_UNITS, Math.max(...aged.map((run) => run.backupAgeSeconds as number)))
    charts.push(
      lineChart(
        `Backup age when restored (${unit})`,
        unit,
        aged.map((run) => run.label),
        aged.map((run) => (run.backupAgeSeconds as number) / factor)
      )
    )
  }
  const measured = restored.length > 0 || aged.length > 0
  const table: TrendTable = {
    heading: 'Runs',
    header: ['Run', 'Time', 'Result', 'Backup size', 'Rows', 'Duration', ...(measured ? ['Restore time', 'Backup age'] : [])],
    rows: runs.map((run) => [
      run.label,
      run.time,
      run.result,
      run.sizeBytes === undefined ? '—' : humanBytes(run.sizeBytes),
      run.rows === undefined ? '—' : count(run.rows),
      formatDuration(run.durationMs),
      ...(measured
        ? [
            run.restoreMs === undefined ? '—' : formatDuration(run.restoreMs),
            run.backupAgeSeconds === undefined ? '—' : formatAge(run.backupAgeSeconds)
          ]
        : [])
    ])
  }
  return { figures, charts, change, runs: table }
}

/** The same figures as lines of text, for the terminal. */
export function trendLines(trend: Trend): string[] {
  const section = trendSection(trend)
  const lines = ['Trend:', ...section.figures.map((line) => `  ${line}`)]
  for (const table of [section.change, section.runs].filter((entry): entry is TrendTable => entry !== undefined)) {
    const widths = table.header.map((cell, column) => Math.max(cell.length, ...table.rows.map((row) => row[column].length)))
    const line = (cells: string[]) => `    ${cells.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd()
    lines.push(`  ${table.heading}:`, line(table.header), ...table.rows.map(line))
  }
  return lines
}

/** "+12.5%", "-3.0%", "±0%", or "" when there is no percentage. */
function formatPercent(percent: number | undefined): string {
  if (percent === undefined) return ''
  if (percent === 0) return '±0%'
  // A small change keeps two significant digits: one row more in ten thousand is +0.0096%, not ±0%.
  const digits = Math.abs(percent) >= 1 ? percent.toFixed(1) : percent.toPrecision(2)
  return `${percent > 0 ? '+' : ''}${digits}%`
}
