// pg_dump's COPY statement, read by its tokens: the table and the column list, as written.

import { readQualifiedName, tokenize, type Token } from './lexer.js'

export interface CopyStatement {
  /** As the dump wrote it, quotes kept: public."Order Items". */
  table: string
  /** As written, quotes kept; undefined when the statement lists none (every column, in order). */
  columns?: string[]
  /** The same statement reading the table out: COPY table (columns) TO STDOUT; latin1 text, like the dump's. */
  readBack: string
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.value === word
}

function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token?.kind === 'symbol' && token.value === symbol
}

function written(token: Token): string {
  return token.kind === 'quoted' ? `"${token.value.replace(/"/g, '""')}"` : token.value
}

/** COPY name [(column, ...)] FROM stdin; as pg_dump writes it; anything else is undefined. */
export function parseCopyStatement(text: string): CopyStatement | undefined {
  const tokens = tokenize(text)
  if (!isWord(tokens[0], 'copy')) return undefined
  const name = readQualifiedName(tokens, 1)
  if (!name || name.parts.length > 2) return undefined
  let i = name.next
  let columns: string[] | undefined
  if (isSymbol(tokens[i], '(')) {
    columns = []
    for (i++; ;) {
      const token = tokens[i]
      if (token?.kind !== 'word' && token?.kind !== 'quoted') return undefined
      columns.push(written(token))
      i++
      if (isSymbol(tokens[i], ')')) break
      if (!isSymbol(tokens[i], ',')) return undefined
      i++
    }
    i++
  }
  if (!isWord(tokens[i], 'from') || !isWord(tokens[i + 1], 'stdin') || !isSymbol(tokens[i + 2], ';') || i + 3 !== tokens.length)
    return undefined
  const table = name.parts.join('.')
  return { table, columns, readBack: `COPY ${table}${columns ? ` (${columns.join(', ')})` : ''} TO STDOUT;` }
}
