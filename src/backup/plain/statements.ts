// Statements pg_dump writes, recognised by their tokens: COPY ... FROM stdin (its table and column
// list, as written), and the index and key definitions that touch one table only.

import type { DumpStatement } from './units.js'
import { isSymbol, isWord, readQualifiedName, tokenize, writtenName, type Token } from './tokens.js'

export interface CopyStatement {
  /** As the dump wrote it, quotes kept: public."Order Items". */
  table: string
  /** As written, quotes kept; undefined when the statement lists none (every column, in order). */
  columns?: string[]
  /** The same statement reading the table out: COPY table (columns) TO STDOUT; latin1 text, like the dump's. */
  readBack: string
}

/** Whether a statement is COPY ... FROM STDIN, after which psql sends the lines that follow as data. */
export function isCopyFromStdin(text: string): boolean {
  if (!isWord(tokenize(text, 1)[0], 'copy')) return false
  const tokens = tokenize(text)
  let depth = 0
  for (let i = 1; i + 1 < tokens.length; i++) {
    const token = tokens[i]
    if (token.kind === 'symbol') depth += token.text === '(' ? 1 : token.text === ')' ? -1 : 0
    else if (depth === 0 && isWord(token, 'from') && isWord(tokens[i + 1], 'stdin')) return true
  }
  return false
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
      columns.push(writtenName(token))
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

/** The table of pg_dump's COPY statement: COPY name [(column, ...)] FROM stdin; anything else is undefined. */
export function copyTable(text: string): string | undefined {
  return parseCopyStatement(text)?.table
}

/**
 * The table an index or key entry works on, when every statement in it is one of those pg_dump
 * writes for one table: CREATE [UNIQUE] INDEX name ON [ONLY] table USING ..., or ALTER TABLE ONLY
 * table ADD CONSTRAINT name PRIMARY KEY | UNIQUE | EXCLUDE ..., then only ALTER TABLE on that same
 * table or ALTER INDEX. A foreign key needs another table's rows too: never here.
 */
export function definitionTable(statements: DumpStatement[]): { table: string; shared: boolean } | undefined {
  if (statements.length === 0 || statements.some((statement) => statement.truncated || statement.copyIn)) return undefined
  const [first, ...rest] = statements.map((statement) => tokenize(statement.text, 64))
  let table: string | undefined
  let index = false
  if (isWord(first[0], 'create')) {
    let i = 1
    if (isWord(first[i], 'unique')) i++
    if (!isWord(first[i++], 'index')) return undefined
    if (isWord(first[i], 'concurrently') || isWord(first[i], 'if')) return undefined
    if (first[i]?.kind !== 'word' && first[i]?.kind !== 'quoted') return undefined
    i++
    if (!isWord(first[i++], 'on')) return undefined
    if (isWord(first[i], 'only')) i++
    const name = readQualifiedName(first, i)
    if (!name || name.parts.length > 2 || !isWord(first[name.next], 'using')) return undefined
    table = name.parts.join('.')
    index = true
  } else {
    table = alteredTable(first, true)
    if (!table) return undefined
    const at = first.findIndex((token, i) => i > 0 && isWord(token, 'add') && isWord(first[i + 1], 'constraint'))
    if (
      at < 0 ||
      (first[at + 2]?.kind !== 'word' && first[at + 2]?.kind !== 'quoted') ||
      !isWord(first[at + 3], 'primary', 'unique', 'exclude')
    )
      return undefined
    // Nothing between the table's name and ADD: one action only.
    const name = readQualifiedName(first, isWord(first[2], 'only') ? 3 : 2)
    if (!name || name.next !== at) return undefined
  }
  for (const tokens of rest) {
    if (isWord(tokens[0], 'alter') && isWord(tokens[1], 'index')) continue
    if (alteredTable(tokens, false) !== table) return undefined
  }
  return { table, shared: index && rest.length === 0 }
}

/** ALTER TABLE [ONLY] name ...: the name (ONLY required when asked). */
function alteredTable(tokens: Token[], requireOnly: boolean): string | undefined {
  if (!isWord(tokens[0], 'alter') || !isWord(tokens[1], 'table')) return undefined
  const only = isWord(tokens[2], 'only')
  if (requireOnly && !only) return undefined
  const name = readQualifiedName(tokens, only ? 3 : 2)
  return name && name.parts.length <= 2 ? name.parts.join('.') : undefined
}
