// The job summary's model as HTML: every element closed, the trend's charts as mermaid blocks.

import { escapeHtml } from './html.js'
import type { SummaryModel } from './summary.js'
import type { TrendSection } from './trend-summary.js'

/**
 * The model as HTML, every element closed. (core.summary.addTable writes an empty cell as an
 * opening tag alone, which breaks the table of a failed run.)
 */
export function renderSummary(model: SummaryModel): string {
  const element = (tag: string, content: string) => `<${tag}>${content}</${tag}>`
  const row = (tag: 'th' | 'td', cells: string[]) => element('tr', cells.map((cell) => element(tag, cell)).join(''))
  const parts = [element('h2', escapeHtml(model.title)), element('p', model.verdict)]
  if (model.hint) parts.push(element('p', `<b>Hint:</b> ${model.hint}`))
  const table = (heading: string, header: string[], rows: string[][]) =>
    [element('h3', escapeHtml(heading)), element('table', [row('th', header), ...rows.map((cells) => row('td', cells))].join(''))].join(
      '\n'
    )
  for (const entry of model.tables) parts.push(table(entry.heading, entry.header, entry.rows))
  if (model.trend) parts.push(renderTrend(model.trend, element, table))
  return `${parts.join('\n')}\n`
}

/**
 * The trend: figures, the change table, then the charts as fenced mermaid blocks between blank lines
 * (markdown, which GitHub draws as charts), then the charts' figures in a closed details element.
 */
function renderTrend(
  trend: TrendSection,
  element: (tag: string, content: string) => string,
  table: (heading: string, header: string[], rows: string[][]) => string
): string {
  const escaped = (rows: string[][]) => rows.map((cells) => cells.map(escapeHtml))
  const parts = [element('h3', 'Trend'), ...trend.figures.map((line) => element('p', escapeHtml(line)))]
  if (trend.change) parts.push(table(trend.change.heading, trend.change.header, escaped(trend.change.rows)))
  const charts = trend.charts.map((chart) => `\`\`\`mermaid\n${chart}\n\`\`\``).join('\n\n')
  const runs = `<details><summary>${escapeHtml(trend.runs.heading)}: the figures the charts draw</summary>\n${table(trend.runs.heading, trend.runs.header, escaped(trend.runs.rows))}\n</details>`
  return `${parts.join('\n')}\n\n${charts}\n\n${runs}`
}
