// Which statement of psql's input sits on a line psql names in an error: a missing role is harmless
// only where it fails a change of owner or of privileges, and psql says no more than the line
// (its messages name no statement, and the server's say the same for a policy or a GRANT).

import { PlainDumpLexer } from '../backup/plain/lexer.js'
import { newlines } from '../backup/plain/line-numbers.js'
import { isSymbol, isWord, tokenize, type Token } from '../backup/plain/tokens.js'
import type { DumpUnit } from '../backup/plain/units.js'

/**
 * ownership: ALTER ... OWNER TO, or pg_dump's SET/RESET SESSION AUTHORIZATION; privileges: GRANT,
 * REVOKE, ALTER DEFAULT PRIVILEGES. A failure of either leaves every row and object in place.
 */
export type StatementKind = 'ownership' | 'privileges'

/** The kind of one statement, by its tokens; undefined for any other statement. */
function kindOf(tokens: Token[]): StatementKind | undefined {
  const last = tokens[tokens.length - 1]
  if (isSymbol(last, ';')) tokens = tokens.slice(0, -1)
  const [first, second, third] = tokens
  if (isWord(first, 'grant', 'revoke')) return 'privileges'
  if (isWord(first, 'alter') && isWord(second, 'default') && isWord(third, 'privileges')) return 'privileges'
  if (isWord(first, 'set', 'reset') && isWord(second, 'session') && isWord(third, 'authorization')) return 'ownership'
  if (!isWord(first, 'alter')) return undefined
  // ALTER <object> <name> OWNER TO <role>, one action only: a top-level comma would add another.
  let depth = 0
  for (const token of tokens) {
    if (token.kind !== 'symbol') continue
    if (token.text === '(') depth++
    else if (token.text === ')') depth--
    else if (token.text === ',' && depth === 0) return undefined
  }
  const n = tokens.length
  const owner = tokens[n - 3]
  const to = tokens[n - 2]
  const role = tokens[n - 1]
  return isWord(owner, 'owner') && isWord(to, 'to') && (role?.kind === 'word' || role?.kind === 'quoted') ? 'ownership' : undefined
}

/**
 * The kind of a command (pg_restore runs an entry's statements as one): every statement in it must
 * be of one of the kinds; privileges when any grants or revokes. Undefined for anything else.
 */
export function commandKind(text: string): StatementKind | undefined {
  const statements: Token[][] = [[]]
  for (const token of tokenize(text)) {
    if (isSymbol(token, ';')) statements.push([])
    else statements[statements.length - 1].push(token)
  }
  let kind: StatementKind | undefined
  for (const tokens of statements) {
    if (tokens.length === 0) continue
    const one = kindOf(tokens)
    if (!one) return undefined
    kind = kind === 'privileges' ? kind : one
  }
  return kind
}

/**
 * The lines of one psql session's input on which a change of owner or privileges ends, alone (psql
 * names the line where a statement's semicolon is). Fed with everything the session is sent, in
 * order: units of the dump as the lexer cut them, and lines of the run's own (\restrict, guards).
 */
export class StatementLines {
  /** psql's number of the line the next byte sent is on. */
  private next = 1
  private readonly kinds = new Map<number, StatementKind>()
  /** The line the last statement ended on, and its kind there (undefined: another statement ends there too). */
  private lastLine = 0
  private lastKind: StatementKind | undefined

  /** The kind of the statement psql names by this line, when it is one and alone there. */
  kindAt(line: number): StatementKind | undefined {
    return this.kinds.get(line)
  }

  /** Bytes of the run's own, holding no statement of the dump. */
  passed(bytes: Buffer | string): void {
    this.next += newlines(bytes)
  }

  /** A unit of the dump, sent as the lexer read it (sent: its bytes), or in the gate's own words (then nothing ends on a known line). */
  unit(unit: DumpUnit, sent: Buffer[]): void {
    if (sent !== unit.chunks) {
      for (const bytes of sent) this.passed(bytes)
      this.lastLine = this.next
      this.lastKind = undefined
      this.kinds.delete(this.next)
      return
    }
    const first = this.next
    let chunk = 0
    let chunkStart = unit.start
    let line = first
    let counted = unit.start
    const truncated = unit.statements.some((statement) => statement.truncated)
    for (const statement of unit.statements) {
      const semicolon = statement.start + statement.text.length - 1
      // Counted on from the last statement's end, through the chunks.
      while (counted < semicolon && chunk < unit.chunks.length) {
        const bytes = unit.chunks[chunk]
        const end = Math.min(semicolon, chunkStart + bytes.length)
        line += newlines(bytes, counted - chunkStart, end - chunkStart)
        counted = end
        if (counted === chunkStart + bytes.length) {
          chunkStart += bytes.length
          chunk++
        }
      }
      this.ended(line, truncated ? undefined : kindOf(tokenize(statement.text)))
    }
    for (const bytes of unit.chunks) this.next += newlines(bytes)
    if (truncated) {
      // Where its statements end is not known: no line of the unit counts.
      for (let at = first; at <= this.next; at++) this.kinds.delete(at)
      this.lastLine = this.next
      this.lastKind = undefined
    }
  }

  /** Everything sent so far is forgotten: a new psql reads from line 1. */
  reset(): void {
    this.next = 1
    this.kinds.clear()
    this.lastLine = 0
    this.lastKind = undefined
  }

  private ended(line: number, kind: StatementKind | undefined): void {
    if (line !== this.lastLine) {
      this.lastLine = line
      this.lastKind = kind
      if (kind) this.kinds.set(line, kind)
      return
    }
    // Two statements end on one line: psql would name the same line for either, so it counts only
    // while every statement ending there is of one kind.
    if (kind !== this.lastKind) {
      this.kinds.delete(line)
      this.lastKind = undefined
    }
  }
}

/**
 * StatementLines for a session whose input is not cut by a lexer already (the parallel replay's
 * sessions): what the session is sent is read again, as psql reads it.
 */
export class LexedStatementLines {
  readonly lines = new StatementLines()
  private lexer: PlainDumpLexer | undefined

  constructor(private readonly reading: { noAtomicBodies?: boolean }) {
    this.lexer = this.newLexer()
  }

  sent(data: Buffer | string): void {
    if (!this.lexer) return
    try {
      this.lexer.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
    } catch {
      // What psql reads can no longer be followed: no line counts from here on.
      this.lexer = undefined
      this.lines.reset()
    }
  }

  reset(): void {
    this.lines.reset()
    this.lexer = this.newLexer()
  }

  private newLexer(): PlainDumpLexer {
    return new PlainDumpLexer((unit) => this.lines.unit(unit, unit.chunks), { keepBytes: true, ...this.reading })
  }
}
