// What the plain-dump lexer hands over: units of whole lines, the statements that end in them, and
// each statement token by token to a sink (the gate), as psql reads them.

import type { TokenKind } from './tokens.js'

export interface DumpStatement {
  /** The statement from its first token through its semicolon, latin1-decoded (one char a byte). */
  text: string
  /** File offset of its first byte. */
  start: number
  /** Longer than MAX_STATEMENT_BYTES: only its start was kept. */
  truncated: boolean
  /** A COPY ... FROM stdin: rows follow, from the next line on. */
  copyIn: boolean
}

export type DumpUnitKind =
  /** A blank line, or a line holding only a "--" comment, between statements. */
  | 'comment'
  /** Whole lines holding one or more complete statements. */
  | 'statements'
  /** The first part of a unit too long to hold; the rest follows as the next unit (marked continued). */
  | 'partial'
  /** A psql meta-command line (\restrict, \connect, ...) between statements. */
  | 'meta'
  /** Whole lines of COPY data. */
  | 'rows'
  /** The "\." line that ends COPY data. */
  | 'end-of-rows'

export interface DumpUnit {
  kind: DumpUnitKind
  /** File offsets [start, end). */
  start: number
  end: number
  /** statements: those that end in this unit, in order. */
  statements: DumpStatement[]
  /** comment and meta: the line without its line end, latin1-decoded, up to MAX_LINE_TEXT bytes. */
  line: string
  /** The rest of a unit handed over in parts ('partial' units before it). */
  continued: boolean
  /** Set where psql's reading of the dump cannot be followed with certainty from here on. */
  uncertain?: string
  /** The unit's bytes, when the lexer keeps them (LexerOptions.keepBytes). */
  chunks: Buffer[]
}

/** A reader of statements token by token, whatever their length (it keeps what it needs). */
export interface TokenSink {
  /** A statement begins at this file offset; its tokens follow. */
  begin(offset: number): void
  /** One token, and where it starts in the statement's text (the text the statement is given with). */
  token(kind: TokenKind, text: string, at: number): void
  /** The statement ends; it is handed over in its unit next. */
  end(statement: DumpStatement): void
}

/** A unit still open beyond this many kept bytes is handed over in parts. */
export const PART_BYTES = 1024 * 1024
