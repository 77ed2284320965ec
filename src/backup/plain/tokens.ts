// Tokens of SQL as psql reads them: their kinds, the bytes that start and continue them, a statement's
// text cut into tokens again, and the tests on a token that every reader of statements shares.

/**
 * word: an identifier or keyword, lowercased as the server folds it (ASCII only); quoted: a "name"
 * with "" undone; string: a literal's content ('...', E'...' with its escapes undone, $tag$...$tag$);
 * number; symbol: one character of punctuation or an operator; backslash: a backslash outside any
 * quote (psql's \; or \: or a meta-command inside a statement); continuation: a string taken up
 * again on a later line ('a'<line break>'b'), which psql, reading line by line, starts anew.
 */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol' | 'backslash' | 'continuation'

export interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'symbol'
  /** word: lowercased; quoted: the identifier with "" undone; string and number: as written; symbol: the character. */
  text: string
}

/** What the tests below read of a token: tokenize's, or the gate's (which also says where it starts). */
interface TokenText {
  kind: TokenKind
  text: string
}

const NL = 10
const CR = 13

export function isIdentStart(b: number): boolean {
  return (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b === 95 || b >= 128
}
export function isIdentCont(b: number): boolean {
  return isIdentStart(b) || (b >= 48 && b <= 57) || b === 36
}
export function isDigit(b: number): boolean {
  return b >= 48 && b <= 57
}
export function isSpace(b: number): boolean {
  return b === 32 || b === 9 || b === NL || b === CR || b === 12
}

/** Whether the token is a word: any word, or one of these keywords (lower case, as tokens give them). */
export function isWord(token: TokenText | undefined, ...words: string[]): boolean {
  return token?.kind === 'word' && (words.length === 0 || words.includes(token.text))
}

/** Whether the token is one of these symbols. */
export function isSymbol(token: TokenText | undefined, ...symbols: string[]): boolean {
  return token?.kind === 'symbol' && symbols.includes(token.text)
}

/** A word as it reads, a quoted name as written (quotes and doubled quotes put back). */
export function writtenName(token: TokenText): string {
  return token.kind === 'quoted' ? `"${token.text.replace(/"/g, '""')}"` : token.text
}

/**
 * The tokens of a statement's text (latin1, as the lexer keeps it): enough to recognise the
 * statements pg_dump writes. Comments are skipped; at most `max` tokens are read.
 */
export function tokenize(text: string, max = Number.POSITIVE_INFINITY): Token[] {
  const tokens: Token[] = []
  const n = text.length
  let i = 0
  while (i < n && tokens.length < max) {
    const c = text.charCodeAt(i)
    if (isSpace(c)) {
      i++
    } else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      while (i < n && text.charCodeAt(i) !== NL) i++
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      let depth = 0
      for (i += 2; i < n;) {
        if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
          depth++
          i += 2
        } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
          i += 2
          if (depth-- === 0) break
        } else i++
      }
    } else if (c === 34) {
      let value = ''
      for (i++; i < n;) {
        if (text.charCodeAt(i) === 34) {
          if (text.charCodeAt(i + 1) !== 34) {
            i++
            break
          }
          value += '"'
          i += 2
        } else value += text[i++]
      }
      tokens.push({ kind: 'quoted', text: value })
    } else if (c === 39) {
      const start = i
      for (i++; i < n;) {
        if (text.charCodeAt(i) === 39) {
          if (text.charCodeAt(i + 1) !== 39) {
            i++
            break
          }
          i += 2
        } else i++
      }
      tokens.push({ kind: 'string', text: text.slice(start, i) })
    } else if (isIdentStart(c)) {
      const start = i
      while (i < n && isIdentCont(text.charCodeAt(i))) i++
      tokens.push({ kind: 'word', text: text.slice(start, i).replace(/[A-Z]/g, (upper) => upper.toLowerCase()) })
    } else if (isDigit(c)) {
      const start = i
      while (i < n && (isIdentCont(text.charCodeAt(i)) || text.charCodeAt(i) === 46) && text.charCodeAt(i) !== 36) i++
      tokens.push({ kind: 'number', text: text.slice(start, i) })
    } else {
      tokens.push({ kind: 'symbol', text: text[i++] })
    }
  }
  return tokens
}

/** A qualified name as tokens read it: its parts, or undefined where the tokens hold none. */
export function readQualifiedName(tokens: readonly TokenText[], at: number): { parts: string[]; next: number } | undefined {
  const parts: string[] = []
  let i = at
  for (;;) {
    const token = tokens[i]
    if (!token || (token.kind !== 'word' && token.kind !== 'quoted')) return undefined
    parts.push(writtenName(token))
    i++
    if (!isSymbol(tokens[i], '.')) return { parts, next: i }
    i++
  }
}
