// Well-formedness of the job summary: every element closed in order, no stray '<', every table row
// as wide as its header. Returns the problems found; an empty list means the HTML is well formed.

const VOID = new Set(['br', 'hr', 'img', 'wbr'])

export function htmlProblems(html: string): string[] {
  const problems: string[] = []
  const tags = [...html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?>/g)]
  const angles = html.split('<').length - 1
  if (angles !== tags.length) problems.push(`${angles - tags.length} '<' outside a tag`)
  const open: string[] = []
  for (const [text, closing, rawName] of tags) {
    const name = rawName.toLowerCase()
    if (VOID.has(name)) continue
    if (!closing) open.push(name)
    else if (open.at(-1) === name) open.pop()
    else problems.push(`${text} closes <${open.at(-1) ?? 'nothing'}>`)
  }
  if (open.length > 0) problems.push(`never closed: ${open.map((name) => `<${name}>`).join(' ')}`)
  for (const table of html.match(/<table>[\s\S]*?<\/table>/g) ?? []) {
    const widths = (table.match(/<tr>[\s\S]*?<\/tr>/g) ?? []).map((row) => (row.match(/<(td|th)[\s>]/g) ?? []).length)
    if (widths.some((width) => width !== widths[0])) problems.push(`a table with rows of ${[...new Set(widths)].join(', ')} cells`)
  }
  return problems
}
