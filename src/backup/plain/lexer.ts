// Follows a plain-format dump the way psql reads it: where each statement ends (quotes, dollar
// quotes, comments, parentheses and BEGIN ATOMIC bodies, tracked as psql's own lexer tracks them),
// which lines are meta-commands, and which are COPY data up to their "\." line. An identifier may
// hold anything pg_dump can write (line breaks, quotes, "FROM stdin;", "\."): it is only ever text
// inside a quoted token. The bytes are cut into units of whole lines, at the line ends where psql
// holds no unfinished statement, so that a unit run elsewhere runs exactly as psql would run it.

import { CopyRowFraming } from './row-framing.js'
import { characterLength, readingSetting } from './reading-settings.js'
import { isCopyFromStdin } from './statements.js'
import { isDigit, isIdentCont, isIdentStart, isSpace } from './tokens.js'
import { PART_BYTES, type DumpStatement, type DumpUnit, type DumpUnitKind, type TokenSink } from './units.js'

export interface LexerOptions {
  /** Hand each unit's bytes over with it (a planner needs them; a scanner does not). */
  keepBytes: boolean
  /** Hand over the bytes of rows units even when keepBytes is off (a scanner that fingerprints rows). */
  rowBytes?: boolean
  /** Receives every statement token by token, as psql reads it (the gate that judges what may run). */
  tokens?: TokenSink
  /** psql 13 knows no SQL-standard body: a semicolon inside BEGIN ATOMIC ... END ends its statement there. */
  noAtomicBodies?: boolean
}

/** Words and names are given up to this many characters, literals' contents up to LITERAL_TEXT. */
const WORD_TEXT = 64
const LITERAL_TEXT = 256

/** A statement is classified by its text; of a longer one only the start is kept. */
const MAX_STATEMENT_BYTES = 1024 * 1024
const MAX_LINE_TEXT = 4096

const enum State {
  Normal,
  /** After "-": a second one starts a comment. */
  Dash,
  /** After "/": a "*" starts a block comment. */
  Slash,
  LineComment,
  Block,
  BlockStar,
  BlockSlash,
  /** '...' (and B'', X'', N'', U&''). */
  Quote,
  /** E'...', and '...' while standard_conforming_strings is off: backslash escapes. */
  EQuote,
  EQuoteEscape,
  /** Just after a string's closing quote: '' continues it, and so may a quote on a later line. */
  QuoteEnd,
  QuoteStop,
  QuoteStopDash,
  QuoteStopComment,
  DoubleQuote,
  DoubleQuoteEnd,
  /** "$" at a token start: a dollar-quote delimiter may follow. */
  DollarOpen,
  Dollar,
  DollarClose,
  /** After a backslash: ";" and ":" are literal, anything else is a meta-command. */
  Backslash,
  /** A meta-command: to the end of its line. */
  Meta,
  /** COPY data lines, up to "\.". */
  Rows
}

const NL = 10
const CR = 13

function lower(b: number): number {
  return b >= 65 && b <= 90 ? b + 32 : b
}

/** Turns the bytes of a plain dump into units; see DumpUnit. */
export class PlainDumpLexer {
  private offset = 0
  private state = State.Normal
  /** The kind of string a quote-stop returns to when the string continues. */
  private stringState: State.Quote | State.EQuote = State.Quote
  private quoteStopNewline = false
  private blockDepth = 0
  private parenDepth = 0
  private beginDepth = 0
  /** psql's first letters of the statement's first identifiers (for CREATE [OR REPLACE] FUNCTION). */
  private identifiers: number[] = []
  private identifierCount = 0
  /** The identifier or number being read, the start of the identifier (lowercased), and where it starts in the statement. */
  private token: 'none' | 'ident' | 'number' = 'none'
  private tokenText = ''
  private tokenAt = 0
  /** A string or quoted name being read for the token sink: its content so far and where it starts. */
  private literal = ''
  private literalAt = 0
  /** Where in the statement the "-", "/" or "$" whose meaning the next byte decides was kept. */
  private pendingAt = 0
  /** The string being read is B'...' or X'...': no escapes, and a quote always ends it. */
  private bitString = false
  /** Where in the statement a quote would open a U&'...' string (just after an adjacent "u&"). */
  private unicodeQuoteAt = -1
  /** File offset of the byte being read. */
  private at = 0
  private statementStart = 0
  private readonly sink: TokenSink | undefined
  private dollarTag = ''
  private dollarCandidate = ''
  /** Bytes left of a multibyte character in an unsafe client encoding. */
  private skip = 0
  private encoding = ''
  private standardStrings = true

  /** The statement being read. */
  private statementStarted = false
  private statementBuffer = Buffer.allocUnsafe(4096)
  private statementBytes = 0
  /** Bytes of the statement read so far, kept or not: where its tokens are, however long it is. */
  private statementLength = 0
  private statementTruncated = false
  /** The last 64 bytes of a statement too long to keep, as a ring. */
  private readonly statementTail = Buffer.alloc(64)
  private statementTailAt = 0
  /** The unit being read. */
  private unitStart = 0
  private unitStatements: DumpStatement[] = []
  private unitUncertain: string | undefined
  private unitContinued = false
  private kept: Buffer[] = []
  private keptBytes = 0
  /** The chunk being read, and where the bytes of the current unit not yet kept begin in it. */
  private chunk: Buffer = Buffer.alloc(0)
  private chunkBase = 0
  private segment = 0
  /** The line being read: its first bytes (for a comment or meta line), and whether a statement is on it. */
  private lineHead: number[] = []
  private lineHasStatement = false
  private metaLine = false
  /** COPY ... FROM stdin statements whose rows psql reads next. */
  private copiesPending = 0
  /** Rows: cut into whole lines up to their "\." line. */
  private readonly framing = new CopyRowFraming({
    rows: (bytes, start) => this.emitRows(bytes, start),
    endOfRows: (bytes, start) => this.endRows(bytes, start)
  })
  private stateAfterRows = State.Normal
  /** The COPY statement whose rows are being read (up to 200 characters). */
  openCopy: string | undefined
  /** Statements read in all, and COPY statements among them. */
  statements = 0
  copies = 0
  /** Set by end() when the input ended where psql was still reading a statement: where it was. */
  unfinished: string | undefined

  constructor(
    private readonly emit: (unit: DumpUnit) => void,
    private readonly options: LexerOptions
  ) {
    this.sink = options.tokens
  }

  /** Between statements, outside rows: where a complete dump ends. */
  get betweenStatements(): boolean {
    return this.state === State.Normal && !this.statementStarted && this.copiesPending === 0
  }

  /** Inside rows that have not reached their "\." line. */
  get inRows(): boolean {
    return this.state === State.Rows
  }

  push(chunk: Buffer): void {
    this.chunk = chunk
    this.chunkBase = this.offset
    this.segment = 0
    this.offset += chunk.length
    let position = 0
    while (position < chunk.length)
      position = this.state === State.Rows ? this.framing.frame(chunk, this.chunkBase, position) : this.lex(position)
    if (this.options.keepBytes && this.segment < chunk.length && this.state !== State.Rows) {
      // A copy: the chunk's reader may fill its buffer again once this returns.
      this.kept.push(Buffer.from(chunk.subarray(this.segment)))
      this.keptBytes += chunk.length - this.segment
    }
    this.segment = chunk.length
    if (this.options.keepBytes && this.keptBytes > PART_BYTES && this.state !== State.Rows) this.handOverPart()
  }

  end(): void {
    this.chunk = Buffer.alloc(0)
    this.chunkBase = this.offset
    this.segment = 0
    if (this.state === State.Rows) return this.framing.end()
    this.unfinished = this.describeUnfinished()
    if (this.offset > this.unitStart) {
      // psql sends what is left at the end of its input as a statement of its own.
      if (this.statementStarted) this.finishStatement(false)
      this.closeUnit(this.offset, this.metaLine ? 'meta' : this.unitStatements.length > 0 ? 'statements' : 'comment')
    }
  }

  private describeUnfinished(): string | undefined {
    switch (this.state) {
      case State.Quote:
      case State.EQuote:
      case State.EQuoteEscape:
        return 'inside a quoted string'
      case State.DoubleQuote:
        return 'inside a quoted identifier'
      case State.Dollar:
      case State.DollarClose:
        return 'inside a dollar-quoted body'
      case State.Block:
      case State.BlockStar:
      case State.BlockSlash:
        return 'inside a /* comment */'
    }
    return this.statementStarted ? 'in the middle of a statement (no semicolon)' : undefined
  }

  /** Lexes SQL from `from` to the end of the chunk, or to where rows begin; returns where it stopped. */
  private lex(from: number): number {
    const chunk = this.chunk
    const length = chunk.length
    for (let i = from; i < length; i++) {
      const b = chunk[i]
      if (this.skip > 0) {
        this.skip--
        this.keep(b)
        if (this.sink && this.literal.length < LITERAL_TEXT && this.inLiteral()) this.literal += String.fromCharCode(b)
        continue
      }
      this.at = this.chunkBase + i
      if (this.encoding !== '' && b >= 0x80) this.skip = characterLength(this.encoding, b, i + 1 < length ? chunk[i + 1] : 0x40) - 1
      this.step(b)
      if (b === NL) {
        this.endOfLine(this.chunkBase + i + 1)
        if (this.state === State.Rows) return i + 1
      } else if (this.lineHead.length < MAX_LINE_TEXT && (this.metaLine || !this.lineHasStatement)) {
        this.lineHead.push(b)
      }
    }
    return length
  }

  /** One byte, by the state it is read in. */
  private step(b: number): void {
    switch (this.state) {
      case State.Normal:
        return this.normal(b)
      case State.Dash:
      case State.Slash:
      case State.LineComment:
        return this.comment(b)
      case State.Block:
      case State.BlockStar:
      case State.BlockSlash:
        return this.block(b)
      case State.Quote:
      case State.EQuote:
      case State.EQuoteEscape:
      case State.QuoteEnd:
        return this.string(b)
      case State.QuoteStop:
      case State.QuoteStopDash:
      case State.QuoteStopComment:
        return this.afterString(b)
      case State.DoubleQuote:
      case State.DoubleQuoteEnd:
        return this.quotedIdentifier(b)
      case State.DollarOpen:
        return this.dollarOpen(b)
      case State.Dollar:
      case State.DollarClose:
        return this.dollarBody(b)
      case State.Backslash:
        return this.backslash(b)
      case State.Meta:
      case State.Rows:
        return
    }
  }

  /** After "-" or "/": a comment may start; inside a "--" comment, its line end ends it. */
  private comment(b: number): void {
    if (this.state === State.LineComment) {
      if (b === NL || b === CR) this.state = State.Normal
      return
    }
    if (this.state === State.Dash) {
      this.state = State.Normal
      if (b === 45) {
        this.state = State.LineComment
        return
      }
      this.begin(this.at - 1)
      this.sink?.token('symbol', '-', this.statementLength)
      this.keep(45)
      return this.normal(b)
    }
    if (b === 42) {
      this.keep(b)
      this.state = State.Block
      this.blockDepth = 0
      return
    }
    this.sink?.token('symbol', '/', this.pendingAt)
    this.state = State.Normal
    this.normal(b)
  }

  /** Inside '...' or E'...': a quote ends it, unless another follows ('' is a quote). */
  private string(b: number): void {
    switch (this.state) {
      case State.Quote:
        this.keep(b)
        if (b === 39) this.state = State.QuoteEnd
        else this.literalByte(b)
        return
      case State.EQuote:
        this.keep(b)
        if (b === 92) this.state = State.EQuoteEscape
        else if (b === 39) this.state = State.QuoteEnd
        else this.literalByte(b)
        return
      case State.EQuoteEscape:
        this.keep(b)
        this.literalByte(b)
        this.state = State.EQuote
        return
    }
    if (b === 39) {
      if (this.bitString) {
        // B'' and X'' know no doubled quote: psql ends the string, and this quote opens another.
        this.literalEnds('string')
        return this.openString(this.statementLength, this.standardStrings ? State.Quote : State.EQuote)
      }
      // '' inside a string is a quote.
      this.keep(b)
      this.literalByte(b)
      this.state = this.stringState
      return
    }
    this.state = State.QuoteStop
    this.quoteStopNewline = false
    this.quoteStop(b)
  }

  /** After a string: blanks and "--" comments until it is clear whether the string goes on. */
  private afterString(b: number): void {
    if (this.state === State.QuoteStop) return this.quoteStop(b)
    if (this.state === State.QuoteStopComment) {
      if (b === NL || b === CR) {
        this.quoteStopNewline = true
        this.state = State.QuoteStop
      }
      return
    }
    if (b === 45) {
      this.state = State.QuoteStopComment
      return
    }
    // Not a comment: the string has ended, and the "-" is ordinary text.
    this.state = State.Normal
    this.literalEnds('string')
    this.sink?.token('symbol', '-', this.statementLength)
    this.keep(45)
    this.normal(b)
  }

  /** Inside "...": a double quote ends it, unless another follows. */
  private quotedIdentifier(b: number): void {
    if (this.state === State.DoubleQuote) {
      this.keep(b)
      if (b === 34) this.state = State.DoubleQuoteEnd
      else this.literalByte(b)
      return
    }
    if (b === 34) {
      this.keep(b)
      this.literalByte(b)
      this.state = State.DoubleQuote
      return
    }
    this.state = State.Normal
    this.literalEnds('quoted')
    this.normal(b)
  }

  /** After "$" at a token start: $tag$ opens a dollar quote; "$1" or "$name" alone do not. */
  private dollarOpen(b: number): void {
    if (b === 36) {
      this.keep(b)
      this.dollarTag = this.dollarCandidate
      this.dollarCandidate = ''
      this.state = State.Dollar
      this.literal = ''
      this.literalAt = this.pendingAt
      return
    }
    if (this.dollarCandidate === '' ? isIdentStart(b) : isIdentCont(b) && b !== 36) {
      this.keep(b)
      this.dollarCandidate += String.fromCharCode(b)
      return
    }
    // Not a quote: psql then reads "name" as an identifier.
    this.state = State.Normal
    this.sink?.token('symbol', '$', this.pendingAt)
    if (this.dollarCandidate !== '') {
      this.token = 'ident'
      this.tokenText = this.dollarCandidate.toLowerCase().slice(0, WORD_TEXT)
      this.tokenAt = this.pendingAt + 1
    }
    this.normal(b)
  }

  /** Inside a dollar quote: only its own $tag$ ends it. */
  private dollarBody(b: number): void {
    this.keep(b)
    this.literalByte(b)
    if (this.state === State.Dollar) {
      if (b === 36) {
        this.state = State.DollarClose
        this.dollarCandidate = ''
      }
      return
    }
    if (b === 36) {
      if (this.dollarCandidate === this.dollarTag) {
        this.state = State.Normal
        // The content without its closing delimiter (when it was kept whole).
        const closing = this.dollarTag.length + 2
        if (this.literal.length < LITERAL_TEXT) this.literal = this.literal.slice(0, Math.max(0, this.literal.length - closing))
        this.literalEnds('string')
      }
      // Otherwise "$junk$" was in the body, and this "$" may open the real delimiter.
      this.dollarCandidate = ''
      return
    }
    if (this.dollarCandidate === '' ? isIdentStart(b) : isIdentCont(b)) this.dollarCandidate += String.fromCharCode(b)
    else this.state = State.Dollar
  }

  /** After a backslash inside a statement: "\;" and "\:" are characters; anything else is a meta-command. */
  private backslash(b: number): void {
    if (b === 59 || b === 58) {
      this.keep(b)
      this.state = State.Normal
      if (b === 59) this.identifierCount = 0
      return
    }
    // psql runs a meta-command in the middle of a statement: what follows cannot be divided with certainty.
    this.unitUncertain ??= 'a psql meta-command inside a statement'
    this.state = State.Meta
  }

  /** A word or number being read: true when this byte goes on with it (or opens its string). */
  private wordOrNumber(b: number): boolean {
    if (this.token === 'ident') {
      if (isIdentCont(b)) {
        this.keep(b)
        if (this.tokenText.length < WORD_TEXT) this.tokenText += String.fromCharCode(lower(b))
        return true
      }
      this.token = 'none'
      const word = this.tokenText
      this.identifier(word)
      if (word === 'e' && b === 39) {
        this.openString(this.tokenAt, State.EQuote)
        return true
      }
      if ((word === 'b' || word === 'x') && b === 39) {
        this.openString(this.tokenAt, State.Quote)
        this.bitString = true
        return true
      }
      this.sink?.token('word', word, this.tokenAt)
      // U&'...': its escapes are its own (UESCAPE), never backslashes, whatever standard_conforming_strings says.
      if (word === 'u' && b === 38) this.unicodeQuoteAt = this.statementLength + 1
    } else if (this.token === 'number') {
      if (isIdentCont(b) && b !== 36) {
        this.keep(b)
        if (this.tokenText.length < WORD_TEXT) this.tokenText += String.fromCharCode(b)
        return true
      }
      this.token = 'none'
      // A "$" right after a number: psql's versions read "1a$$" and "1e5$$" differently (a junk number, or a dollar quote).
      this.sink?.token('number', b === 36 ? `${this.tokenText}$` : this.tokenText, this.tokenAt)
    }
    return false
  }

  private normal(b: number): void {
    if (this.token !== 'none' && this.wordOrNumber(b)) return
    if (isSpace(b)) {
      if (this.statementStarted) this.keep(b)
      return
    }
    switch (b) {
      case 45: // -
        this.state = State.Dash
        return
      case 92: // backslash
        if (!this.statementStarted && !this.lineHasStatement) {
          // A meta-command line between statements: the whole line is the command.
          this.metaLine = true
          this.state = State.Meta
          return
        }
        this.begin(this.at)
        this.sink?.token('backslash', '\\', this.statementLength)
        this.keep(b)
        this.state = State.Backslash
        return
    }
    this.begin(this.at)
    const at = this.statementLength
    this.keep(b)
    switch (b) {
      case 47: // /
        this.pendingAt = at
        this.state = State.Slash
        return
      case 39: // '
        this.stringState = this.standardStrings || this.unicodeQuoteAt === at ? State.Quote : State.EQuote
        this.state = this.stringState
        this.literal = ''
        this.literalAt = at
        return
      case 34: // "
        this.state = State.DoubleQuote
        this.literal = ''
        this.literalAt = at
        return
      case 36: // $
        this.pendingAt = at
        this.dollarCandidate = ''
        this.state = State.DollarOpen
        return
      case 40: // (
        this.parenDepth++
        this.sink?.token('symbol', '(', at)
        return
      case 41: // )
        if (this.parenDepth > 0) this.parenDepth--
        this.sink?.token('symbol', ')', at)
        return
      case 59: // ;
        this.sink?.token('symbol', ';', at)
        if (this.parenDepth === 0 && this.beginDepth === 0) this.finishStatement(true)
        return
    }
    if (isIdentStart(b)) {
      this.token = 'ident'
      this.tokenText = String.fromCharCode(lower(b))
      this.tokenAt = at
    } else if (isDigit(b)) {
      this.token = 'number'
      this.tokenText = String.fromCharCode(b)
      this.tokenAt = at
    } else {
      this.sink?.token('symbol', String.fromCharCode(b), at)
    }
  }

  /** A string opens (its quote is this byte): E'...' with escapes, or '...' and B'...' without. */
  private openString(at: number, kind: State.Quote | State.EQuote): void {
    this.keep(39)
    this.stringState = kind
    this.state = kind
    this.literal = ''
    this.literalAt = at
  }

  /** A byte of the string or quoted name being read, for the token sink (up to LITERAL_TEXT). */
  private literalByte(b: number): void {
    if (this.sink && this.literal.length < LITERAL_TEXT) this.literal += String.fromCharCode(b)
  }

  /** The string or quoted name read so far has ended: handed to the token sink. */
  private literalEnds(kind: 'string' | 'quoted'): void {
    this.bitString = false
    if (!this.sink) return
    this.sink.token(kind, this.literal, this.literalAt)
    this.literal = ''
  }

  private inLiteral(): boolean {
    switch (this.state) {
      case State.Quote:
      case State.EQuote:
      case State.EQuoteEscape:
      case State.DoubleQuote:
      case State.Dollar:
      case State.DollarClose:
        return true
    }
    return false
  }

  /** psql's heuristic for CREATE FUNCTION ... BEGIN ATOMIC ... END: semicolons inside do not end it. */
  private identifier(word: string): void {
    if (word === '' || this.options.noAtomicBodies) return
    if (this.identifierCount === 0) this.identifiers = []
    if (
      this.identifierCount < 4 &&
      (word === 'create' || word === 'function' || word === 'procedure' || word === 'or' || word === 'replace')
    ) {
      this.identifiers[this.identifierCount] = word.charCodeAt(0)
    }
    this.identifierCount++
    const [first, second, third, fourth] = this.identifiers
    const routine =
      first === 99 && (second === 102 || second === 112 || (second === 111 && third === 114 && (fourth === 102 || fourth === 112)))
    if (!routine || this.parenDepth !== 0) return
    if (word === 'begin') this.beginDepth++
    else if (word === 'case') {
      if (this.beginDepth >= 1) this.beginDepth++
    } else if (word === 'end' && this.beginDepth > 0) this.beginDepth--
  }

  /** After a string's closing quote: blanks with a line break, then a quote, continue the string. */
  private quoteStop(b: number): void {
    if (b === 32 || b === 9 || b === 12) return
    if (b === NL || b === CR) {
      this.quoteStopNewline = true
      return
    }
    if (b === 45) {
      this.state = State.QuoteStopDash
      return
    }
    if (b === 39 && this.quoteStopNewline) {
      // 'a'<line break>'b': the server reads one string, in the first one's kind; psql, reading a
      // line at a time, ends the first and starts a string of the plain kind here.
      this.sink?.token('continuation', '', this.statementLength)
      this.keep(b)
      this.bitString = false
      this.stringState = this.standardStrings ? State.Quote : State.EQuote
      this.state = this.stringState
      return
    }
    this.state = State.Normal
    this.literalEnds('string')
    this.normal(b)
  }

  private block(b: number): void {
    this.keep(b)
    if (this.state === State.BlockStar) {
      if (b === 47) {
        if (this.blockDepth === 0) this.state = State.Normal
        else {
          this.blockDepth--
          this.state = State.Block
        }
        return
      }
      if (b === 42) return
    } else if (this.state === State.BlockSlash && b === 42) {
      this.blockDepth++
      this.state = State.Block
      return
    }
    this.state = b === 42 ? State.BlockStar : b === 47 ? State.BlockSlash : State.Block
  }

  /** The statement has begun: its first byte that is neither blank nor part of a "--" comment. */
  private begin(offset: number): void {
    if (this.statementStarted) return
    this.unicodeQuoteAt = -1
    this.statementStarted = true
    this.lineHasStatement = true
    this.statements++
    this.statementStart = offset
    this.sink?.begin(offset)
  }

  private keep(b: number): void {
    if (!this.statementStarted) return
    this.statementLength++
    if (this.statementBytes === this.statementBuffer.length) {
      if (this.statementBytes >= MAX_STATEMENT_BYTES) {
        // Only its end still matters (a COPY's "FROM stdin;"), and only for a statement this long.
        this.statementTruncated = true
        this.statementTail[this.statementTailAt++ & 63] = b
        return
      }
      const larger = Buffer.allocUnsafe(Math.min(MAX_STATEMENT_BYTES, this.statementBuffer.length * 2))
      this.statementBuffer.copy(larger, 0, 0, this.statementBytes)
      this.statementBuffer = larger
    }
    this.statementBuffer[this.statementBytes++] = b
  }

  private finishStatement(terminated: boolean): void {
    if (this.sink) this.flushToken()
    const text = this.statementBuffer.toString('latin1', 0, this.statementBytes)
    const copyIn =
      terminated &&
      (this.statementTruncated ? /^\s*copy\b/i.test(text) && /\bfrom\s+stdin\b[^;]*;$/i.test(this.tail()) : isCopyFromStdin(text))
    if (copyIn && this.statementTruncated) this.unitUncertain ??= 'a COPY statement too long to read whole'
    const statement: DumpStatement = { text, start: this.statementStart, truncated: this.statementTruncated, copyIn }
    this.sink?.end(statement)
    this.unitStatements.push(statement)
    if (statement.copyIn) {
      this.copiesPending++
      this.copies++
      this.openCopy ??= text.slice(0, 200)
    }
    if (terminated) this.noteSetting(text)
    this.statementStarted = false
    this.statementBytes = 0
    this.statementLength = 0
    this.statementTruncated = false
    this.statementTailAt = 0
    if (this.statementBuffer.length > 65536) this.statementBuffer = Buffer.allocUnsafe(4096)
    this.identifierCount = 0
    this.parenDepth = 0
    this.beginDepth = 0
    this.token = 'none'
  }

  /** At the end of a statement that has no semicolon (the input ended): what was being read goes to the sink. */
  private flushToken(): void {
    if (this.token === 'ident') this.sink?.token('word', this.tokenText, this.tokenAt)
    else if (this.token === 'number') this.sink?.token('number', this.tokenText, this.tokenAt)
    else if (this.inLiteral() || this.state === State.QuoteEnd || this.state === State.QuoteStop)
      this.literalEnds(this.state === State.DoubleQuote ? 'quoted' : 'string')
    else if (this.state === State.DoubleQuoteEnd) this.literalEnds('quoted')
  }

  private tail(): string {
    const at = this.statementTailAt
    if (at <= 64) return this.statementTail.toString('latin1', 0, at)
    const start = at & 63
    return Buffer.concat([this.statementTail.subarray(start), this.statementTail.subarray(0, start)]).toString('latin1')
  }

  /** Settings that change how psql reads what follows. */
  private noteSetting(text: string): void {
    const setting = readingSetting(text)
    if (setting?.encoding !== undefined) this.encoding = setting.encoding
    if (setting?.standardStrings !== undefined) this.standardStrings = setting.standardStrings
  }

  private endOfLine(lineEnd: number): void {
    if (this.state === State.Backslash) {
      this.unitUncertain ??= 'a psql meta-command inside a statement'
      this.state = State.Meta
    }
    if (this.state === State.Meta) {
      // A meta-command takes the rest of its line; a statement it interrupted goes on.
      this.state = State.Normal
      if (this.metaLine) {
        this.closeUnit(lineEnd, 'meta')
        return this.startLine()
      }
    }
    if (this.copiesPending > 0) {
      // psql reads the rows from the next line on; what is left of this line waits until after them.
      if (!(this.state === State.Normal && !this.statementStarted)) this.unitUncertain ??= 'text after COPY ... FROM stdin on the same line'
      if (this.copiesPending > 1) this.unitUncertain ??= 'two COPY statements on one line'
      this.stateAfterRows = this.state
      this.closeUnit(lineEnd, 'statements')
      this.startLine()
      this.state = State.Rows
      return
    }
    if (this.state === State.Normal && !this.statementStarted)
      this.closeUnit(lineEnd, this.unitStatements.length > 0 ? 'statements' : 'comment')
    this.startLine()
  }

  private startLine(): void {
    this.lineHead = []
    this.lineHasStatement = this.statementStarted
    this.metaLine = false
  }

  private closeUnit(end: number, kind: DumpUnitKind): void {
    const line = kind === 'comment' || kind === 'meta' ? trimLineEnd(Buffer.from(this.lineHead).toString('latin1')) : ''
    this.emit({
      kind,
      start: this.unitStart,
      end,
      statements: this.unitStatements,
      line,
      continued: this.unitContinued,
      uncertain: this.unitUncertain,
      chunks: this.takeBytes(end)
    })
    this.unitStart = end
    this.unitStatements = []
    this.unitUncertain = undefined
    this.unitContinued = false
  }

  /** The unit's bytes: those kept from earlier chunks, and this chunk's up to `end`. */
  private takeBytes(end: number): Buffer[] {
    const at = end - this.chunkBase
    if (!this.options.keepBytes) {
      this.segment = at
      return []
    }
    const chunks = this.kept
    if (at > this.segment) chunks.push(this.chunk.subarray(this.segment, at))
    this.segment = at
    this.kept = []
    this.keptBytes = 0
    return chunks
  }

  /** A unit too long to hold: what there is of it goes now. */
  private handOverPart(): void {
    this.emit({
      kind: 'partial',
      start: this.unitStart,
      end: this.offset,
      statements: [],
      line: '',
      continued: this.unitContinued,
      uncertain: this.unitUncertain,
      chunks: this.kept
    })
    this.kept = []
    this.keptBytes = 0
    this.unitStart = this.offset
    this.unitUncertain = undefined
    this.unitContinued = true
  }

  private emitRows(bytes: Buffer, start: number): void {
    this.emit({
      kind: 'rows',
      start,
      end: start + bytes.length,
      statements: [],
      line: '',
      continued: false,
      chunks: this.options.keepBytes || this.options.rowBytes ? [bytes] : []
    })
    this.unitStart = start + bytes.length
    this.segment = Math.max(this.segment, this.unitStart - this.chunkBase)
  }

  private endRows(bytes: Buffer, start: number): void {
    const end = start + bytes.length
    this.emit({
      kind: 'end-of-rows',
      start,
      end,
      statements: [],
      line: '\\.',
      continued: false,
      chunks: this.options.keepBytes ? [bytes] : []
    })
    this.unitStart = end
    this.segment = Math.max(this.segment, end - this.chunkBase)
    this.copiesPending--
    this.openCopy = undefined
    if (this.copiesPending === 0) this.state = this.stateAfterRows
    this.startLine()
  }
}

function trimLineEnd(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text
}
