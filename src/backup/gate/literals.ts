// What pg_dump writes as data inside statements: an INSERT's values (--inserts) and the arguments of
// the pg_catalog calls it writes are literals, never a call, a column or a subquery that would run.

import { isSymbol, isWord } from '../plain/tokens.js'
import type { StatementToken } from './vocabulary.js'

/** An INSERT as pg_dump writes it (--inserts, --column-inserts): INSERT INTO name [(columns)] VALUES (literals), ...; */
export class InsertReader {
  private phase:
    | 'into'
    | 'name'
    | 'after-name'
    | 'columns'
    | 'before-values'
    | 'overriding'
    | 'overriding-value'
    | 'default-values'
    | 'rows'
    | 'conflict'
    | 'end'
    | 'done' = 'into'
  private expect: string[] = []
  private depth = 0
  private previous: StatementToken | undefined
  private bad: string | undefined

  problem(): string | undefined {
    if (this.bad) return this.bad
    return this.phase === 'done' ? undefined : 'an INSERT statement in a form pg_dump never writes'
  }

  /** Each token after INSERT. */
  token(token: StatementToken): void {
    if (this.bad) return
    const previous = this.previous
    this.previous = token
    switch (this.phase) {
      case 'into':
        return isWord(token, 'into') ? void (this.phase = 'name') : this.fail()
      case 'name':
        return token.kind === 'word' || token.kind === 'quoted' ? void (this.phase = 'after-name') : this.fail()
      case 'after-name':
        if (isSymbol(token, '.')) return void (this.phase = 'name')
        if (isSymbol(token, '(')) return void (this.phase = 'columns')
        return this.beforeValues(token)
      case 'columns':
        if (isSymbol(token, ')')) return void (this.phase = 'before-values')
        return token.kind === 'word' || token.kind === 'quoted' || isSymbol(token, ',') ? undefined : this.fail()
      case 'before-values':
        return this.beforeValues(token)
      case 'overriding':
        return isWord(token, 'system', 'user') ? void (this.phase = 'overriding-value') : this.fail()
      case 'overriding-value':
        return isWord(token, 'value') ? void (this.phase = 'before-values') : this.fail()
      case 'default-values':
        return isWord(token, 'values') ? void (this.phase = 'end') : this.fail()
      case 'rows':
        return this.row(token, previous)
      case 'conflict':
        if (this.expect.length > 0) return isWord(token, this.expect.shift() as string) ? undefined : this.fail()
        return this.end(token)
      case 'end':
        return this.end(token)
      case 'done':
        return this.fail()
    }
  }

  private beforeValues(token: StatementToken): void {
    if (isWord(token, 'overriding')) return void (this.phase = 'overriding')
    if (isWord(token, 'values')) return void (this.phase = 'rows')
    // A table without columns: INSERT INTO t DEFAULT VALUES;
    if (isWord(token, 'default')) return void (this.phase = 'default-values')
    this.fail()
  }

  private end(token: StatementToken): void {
    if (isSymbol(token, ';')) this.phase = 'done'
    else if (isWord(token, 'on') && this.phase === 'end') {
      // DEFAULT VALUES ON CONFLICT DO NOTHING (--on-conflict-do-nothing, a table without columns).
      this.phase = 'conflict'
      this.expect = ['conflict', 'do', 'nothing']
    } else this.fail()
  }

  /** VALUES (literal, ...), (...) [ON CONFLICT DO NOTHING];: nothing but literals, no call, no subquery. */
  private row(token: StatementToken, previous: StatementToken | undefined): void {
    if (isSymbol(token, '(')) return this.depth++ === 0 ? undefined : this.fail('a parenthesis inside a row: a call or a subquery')
    if (isSymbol(token, ')')) return this.depth-- === 1 ? undefined : this.fail()
    if (this.depth === 0) {
      if (isSymbol(token, ',')) return
      if (isWord(token, 'on')) {
        this.phase = 'conflict'
        this.expect = ['conflict', 'do', 'nothing']
        return
      }
      return this.end(token)
    }
    // B'0101' and X'ff': a letter right before a string; no other word may name a type there.
    if (token.kind === 'string') return !isWord(previous) || isWord(previous, 'b', 'x', 'n') ? undefined : this.fail()
    if (token.kind === 'number' || isSymbol(token, ',', '-', '+', '.')) return
    if (isWord(token, 'null', 'true', 'false', 'default', 'b', 'x', 'n')) return
    this.fail(`${token.kind === 'word' ? `"${token.text}"` : token.text} among the values: not a literal`)
  }

  private fail(why?: string): void {
    this.bad ??= why ? `an INSERT whose values are not all literals (${why})` : 'an INSERT statement in a form pg_dump never writes'
  }
}

/**
 * The arguments of a call from just after its "(": each a literal (a string, a number, true, false,
 * null, a sign), optionally cast to a type by name; no call, no column, no subquery.
 */
export function literalArguments(tokens: StatementToken[], at: number): { arguments: StatementToken[][]; next: number } | undefined {
  const args: StatementToken[][] = [[]]
  let castType = false
  for (let i = at; i < tokens.length; i++) {
    const token = tokens[i]
    if (isSymbol(token, ')')) return { arguments: args[0].length === 0 && args.length === 1 ? [] : args, next: i + 1 }
    if (isSymbol(token, ',')) {
      args.push([])
      castType = false
      continue
    }
    if (isSymbol(token, ':') && isSymbol(tokens[i + 1], ':')) {
      castType = true
      i++
      continue
    }
    const current = args[args.length - 1]
    if (castType) {
      // A type's name: words, quoted names, a schema's dot, array brackets.
      if (token.kind === 'word' || token.kind === 'quoted' || isSymbol(token, '.', '[', ']')) continue
      return undefined
    }
    if (token.kind === 'string' || token.kind === 'number' || isSymbol(token, '-', '+', '.') || isWord(token, 'true', 'false', 'null')) {
      current.push(token)
      continue
    }
    return undefined
  }
  return undefined
}
