// The one gate every statement of a backup passes before it may reach a server: it reads the dump
// token by token as psql does (PlainDumpLexer) and lets through what pg_dump writes for one
// database, run in the temporary database. A --create dump's preamble is understood, not run: the
// temporary database stands in for the database it names. Everything else that would act beyond
// that database (a role, another database, the server's configuration or files, the runner through
// a psql meta-command) is refused, and named. Pure: it sees the dump's text, never a server.

import { readingSetting, unsafeEncoding } from '../plain/reading-settings.js'
import { isWord, type TokenKind } from '../plain/tokens.js'
import { PART_BYTES, type DumpStatement, type DumpUnit, type TokenSink } from '../plain/units.js'
import { judgeMeta } from './meta.js'
import { decodeDumpText } from '../dump-text.js'
import { extensionCreated, rolesNamed } from './needs.js'
import { isTrustedLanguage, StatementReader, type DatabaseStatement, type StatementJudgement, type StatementToken } from './statement.js'

export type Verdict =
  | { action: 'run' }
  /** Not sent: the temporary database already is what it would make, or it concerns no restore. */
  | { action: 'leave-out'; reason: string }
  /** Sent in this form instead (latin1 text, one char a byte, like the dump's). */
  | { action: 'replace'; text: string; reason: string }
  | { action: 'refuse'; reason: string }

export interface GateOptions {
  /** Functions in languages whose code reaches the server's host: refused (an untrusted backup), or only reported. */
  untrustedCode: 'refuse' | 'report'
  /** restore: the temporary database, which stands in for the one a --create dump makes. */
  temporaryDatabase?: string
  /** pg_restore runs the statements itself: nothing can be left out or changed, only refused. */
  archive?: boolean
  /** The psql of the restore runs every session under a \restrict key of its own: the dump's are left out. */
  ownRestrictKey?: boolean
  /** psql knows SQL-standard bodies (14 and later): a BEGIN ATOMIC body may hold semicolons. Validate assumes it does. */
  atomicBodies?: boolean
}

export interface Refusal {
  /** The statement's head (keywords and names, never a literal's content) or the meta-command. */
  text: string
  reason: string
  /** Where it starts: an offset of the file (plain) or of pg_restore's script (archives). */
  offset: number
  /** The archive's table-of-contents entry it belongs to, as pg_restore's script names it. */
  entry?: string
  /** The line of a plain dump, once counted (only what is named is). */
  line?: number
}

export interface UntrustedRoutine {
  routine: string
  language: string
  /** Another way than a function to run code or read files of the server's host, in words. */
  why?: string
  offset: number
  entry?: string
  line?: number
}

export interface GateReport {
  /** The first refusals (refusedTotal counts them all). */
  refused: Refusal[]
  refusedTotal: number
  /** Statements the temporary database made needless (a --create preamble), the first of them. */
  leftOut: Array<{ text: string; reason: string }>
  leftOutTotal: number
  /** Statements sent in another form: ALTER DATABASE <name> SET applied to the temporary database. */
  rewritten: number
  /** Functions and procedures in languages whose code runs on the server's host. */
  untrustedCode: UntrustedRoutine[]
  /** The database a --create dump makes, for which the temporary database stood in. */
  standIn?: string
  /** The roles its statements name (owners, grantees, grantors, policies' roles), predefined ones (pg_*) left out. */
  roles: string[]
  /** The extensions it creates. */
  extensions: string[]
}

/**
 * Client encodings (PostgreSQL's names for them, lowercased without punctuation) whose characters
 * never hold an ASCII byte: psql and the gate read a dump in them alike. Any other is refused.
 */
const SAFE_ENCODINGS = new Set([
  'sqlascii',
  'utf8',
  'unicode',
  'eucjp',
  'euccn',
  'euckr',
  'euctw',
  'eucjis2004',
  'muleinternal',
  ...Array.from({ length: 10 }, (_, i) => `latin${i + 1}`),
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16].map((n) => `iso8859${n}`),
  ...Array.from({ length: 9 }, (_, i) => `win125${i}`),
  ...Array.from({ length: 9 }, (_, i) => `windows125${i}`),
  'win866',
  'windows866',
  'win874',
  'windows874',
  'win',
  'alt',
  'abc',
  'koi8',
  'koi8r',
  'koi8u',
  'tcvn',
  'tcvn5712',
  'vscii'
])

/** Settings of the database a --create dump makes that are applied to the temporary one. */
const DATABASE_SETTINGS = new Set([
  'search_path',
  'timezone',
  'datestyle',
  'intervalstyle',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'default_text_search_config',
  'bytea_output',
  'extra_float_digits',
  'xmlbinary',
  'xmloption',
  'work_mem',
  'maintenance_work_mem',
  'random_page_cost',
  'seq_page_cost',
  'effective_cache_size',
  'default_statistics_target',
  'jit'
])

const MAX_LISTED = 20
const HEAD_SHOWN = 14

const RUN: Verdict = { action: 'run' }
/** Roles (and extensions) a dump may name that a server of the run's own makes or checks: more are left to the restore's errors. */
const MAX_ROLES = 10_000

export class DumpGate implements TokenSink {
  private readonly reader: StatementReader
  /** Verdicts of the statements that ended since the last unit was judged. */
  private pending: Verdict[] = []
  private readonly report: GateReport = {
    refused: [],
    refusedTotal: 0,
    leftOut: [],
    leftOutTotal: 0,
    rewritten: 0,
    untrustedCode: [],
    roles: [],
    extensions: []
  }
  private readonly roles = new Set<string>()
  private readonly extensions = new Set<string>()
  private standIn: string | undefined
  /** DROP DATABASE statements read before any CREATE DATABASE: the --clean preamble, once the name matches. */
  private readonly earlyDrops: Array<{ name: string; refusal: Refusal }> = []
  private subscriptionsCreated = 0
  private inTransaction = false
  /** How psql reads the dump: an unsafe client encoding's class, and standard_conforming_strings. */
  private standardStrings = true
  private stringsBeforeTransaction = true
  private entry: string | undefined
  private clientEncoding = 'UTF8'
  private finished = false
  /** Before the dump's first object (or just after the \connect of a --create dump): where pg_dump sets what psql reads it by. */
  private preamble = true
  private readonly readingSettings = new WeakSet<DumpStatement>()
  /** Since the CREATE DATABASE of a --create dump, only statements on that database: its \connect opens the preamble again. */
  private reopenable = false
  /** A part of the unit being read was refused (counted once). */
  private partRefused = false

  constructor(private readonly options: GateOptions) {
    this.reader = new StatementReader(options.atomicBodies ?? true)
  }

  begin(): void {
    this.reader.reset()
  }

  token(kind: TokenKind, text: string, at: number): void {
    this.reader.token(kind, text, at)
  }

  end(statement: DumpStatement): void {
    const verdict = this.decide(statement)
    if (verdict.action === 'refuse') this.refused(this.refusal(statement, verdict.reason))
    else if (verdict.action === 'leave-out') this.leftOut(statement, verdict.reason)
    else if (verdict.action === 'replace') this.report.rewritten++
    this.pending.push(verdict)
  }

  /**
   * The verdicts on a unit the lexer handed over: one per statement that ended in it, or one for a
   * meta-command line; none for comments and rows. Call it with every unit, in order.
   */
  judge(unit: DumpUnit): Verdict[] {
    if (unit.kind === 'comment') {
      this.noteComment(unit.line)
      return []
    }
    if (unit.kind === 'meta') return [this.meta(unit)]
    if (unit.kind === 'partial') return this.partial(unit)
    const refusedInParts = this.partRefused
    this.partRefused = false
    if (unit.kind !== 'statements') return []
    const verdicts = this.pending
    this.pending = []
    if (refusedInParts) return verdicts.map(() => ({ action: 'refuse', reason: 'refused in its first part' }))
    // Validate reads a line whole; a restore hands one over 1 MiB on in parts: both judge it as too long.
    const long = unit.continued || unit.end - unit.start > PART_BYTES
    const crowded =
      this.crowded(unit, long) ??
      (long && verdicts.some((verdict) => verdict.action !== 'run' && verdict.action !== 'refuse')
        ? 'a statement to leave out or rewrite, on a line too long to hold whole'
        : undefined)
    if (unit.uncertain || crowded) {
      const reason = crowded ?? `psql's reading of the dump cannot be followed with certainty here (${unit.uncertain})`
      this.refused({ text: unit.statements[0] ? this.shown(unit.statements[0]) : '', reason, offset: unit.start, entry: this.entry })
      return verdicts.map(() => ({ action: 'refuse', reason }))
    }
    return verdicts
  }

  /** The first statement refused so far. */
  firstRefusal(): Refusal | undefined {
    return this.report.refused[0]
  }

  /**
   * What pg_dump writes on a line of its own: a setting psql reads the dump by (the planner gives
   * it to every session only then), a COPY (psql reads its rows from the next line, and its guard
   * lines go around it alone), none of them on a line too long to hold.
   */
  private crowded(unit: DumpUnit, long: boolean): string | undefined {
    const { statements } = unit
    if (statements.some((statement) => statement.copyIn) && (statements.length > 1 || long))
      return 'a COPY with another statement on its line, or on a line too long to hold; pg_dump writes it on a line of its own'
    if (statements.length > 1 && statements.some((statement) => this.readingSettings.has(statement)))
      return 'a setting psql reads the dump by, on one line with another statement; pg_dump writes it on a line of its own'
    return undefined
  }

  /**
   * The first part of a unit too long to hold goes on before the unit has ended: only when every
   * statement that ended in it runs as it is, and the one still open holds nothing psql acts on at
   * once (a meta-command, a variable).
   */
  private partial(unit: DumpUnit): Verdict[] {
    const blocked = this.pending.find((verdict) => verdict.action !== 'run')
    if (blocked?.action === 'refuse') return [blocked]
    const reason = blocked
      ? 'a statement to leave out or rewrite, on a line too long to hold whole'
      : (this.reader.hazard() ??
        (unit.uncertain && `psql's reading of the dump cannot be followed with certainty here (${unit.uncertain})`))
    if (!reason) return []
    if (!this.partRefused) this.refused({ text: '', reason, offset: unit.start, entry: this.entry })
    this.partRefused = true
    return [{ action: 'refuse', reason }]
  }

  /** The dump has ended: what could only be decided at its end, and the report. */
  finish(): GateReport {
    if (!this.finished) {
      this.finished = true
      for (const drop of this.earlyDrops) {
        if (drop.name !== this.standIn)
          this.refused({ ...drop.refusal, reason: `drops database ${drop.name}, which the dump does not create` })
      }
      this.report.standIn = this.standIn === undefined ? undefined : this.decode(this.standIn)
      this.report.roles = [...this.roles].sort()
      this.report.extensions = [...this.extensions].sort()
    }
    return this.report
  }

  private decide(statement: DumpStatement): Verdict {
    const reader = this.reader
    const judged = reader.judge(statement.text, statement.truncated)
    if (judged.refuse) return { action: 'refuse', reason: judged.refuse }
    for (const role of rolesNamed(reader.head)) {
      if (this.roles.size < MAX_ROLES && !role.startsWith('pg_')) this.roles.add(this.decode(role))
    }
    const extension = extensionCreated(reader.head)
    if (extension !== undefined && this.extensions.size < MAX_ROLES) this.extensions.add(this.decode(extension))
    if (judged.leaveOut) return { action: 'leave-out', reason: judged.leaveOut }
    const reading = this.reading(statement, judged)
    if (reading) return reading
    if (judged.database) return this.database(statement, judged.database)
    if (judged.sessionRole) return sessionRole(judged.sessionRole.role)
    if (judged.routine && !isTrustedLanguage(judged.routine.language)) {
      const { name: routine, language, why } = judged.routine
      if (this.report.untrustedCode.length < 100)
        this.report.untrustedCode.push({
          routine: this.decode(routine),
          language,
          why: why && this.decode(why),
          offset: statement.start,
          entry: this.entry
        })
      if (this.options.untrustedCode === 'refuse') {
        return {
          action: 'refuse',
          reason:
            `${why ?? `${routine} is written in ${language}, a language whose code runs on the database server's host (an index, a default or a trigger calls it during the restore)`}` +
            ', and nothing vouches for this backup'
        }
      }
    }
    if (judged.subscription === 'create') this.subscriptionsCreated++
    if (judged.subscription === 'drop' && this.subscriptionsCreated > 0)
      return { action: 'refuse', reason: 'DROP SUBSCRIPTION of a subscription the dump created connects to its publisher to drop a slot' }
    return RUN
  }

  /** Transactions, and the settings psql reads the rest of the dump by. */
  private reading(statement: DumpStatement, judged: StatementJudgement): Verdict | undefined {
    this.followTransaction()
    const setting = this.reader.readingSetting()
    const first = this.reader.head[0]?.text
    if (!setting) {
      if (!['set', 'begin', 'start', 'commit', 'end'].includes(first ?? '') && !this.reader.isSearchPathCall()) {
        this.preamble = false
        if (judged.database?.action === 'create') this.reopenable = true
        else if (!judged.database) this.reopenable = false
      }
      return undefined
    }
    this.readingSettings.add(statement)
    if (!this.preamble)
      return { action: 'refuse', reason: `SET ${setting} after the dump's first object: pg_dump sets it once, before any` }
    const read = readingSetting(statement.text)
    // Only the form pg_dump writes, which every session of a parallel restore is given too.
    if (!read || !/^SET (client_encoding|standard_conforming_strings) = [^;\n]*;$/.test(statement.text))
      return { action: 'refuse', reason: `SET ${setting} in a form psql's reading of the dump cannot be followed by` }
    if (read.encoding !== undefined) {
      const name = /'([^']*)'/.exec(statement.text)?.[1] ?? ''
      this.clientEncoding = name
      if (unsafeEncoding(name) !== '' || !SAFE_ENCODINGS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ''))) {
        return {
          action: 'refuse',
          reason:
            `client encoding ${name}: its characters can hold a quote or backslash byte, so what psql reads depends on ` +
            "whether the server takes that encoding; dump in the database's own encoding (pg_dump without -E)"
        }
      }
    }
    if (read.standardStrings !== undefined) {
      // A transaction that fails or rolls back takes the setting back: psql would then read what follows otherwise.
      if (this.inTransaction && read.standardStrings !== this.stringsBeforeTransaction)
        return { action: 'refuse', reason: 'standard_conforming_strings changed inside a transaction, which may take it back' }
      this.standardStrings = read.standardStrings
    }
    return undefined
  }

  /** BEGIN opens a transaction; COMMIT, END, ROLLBACK and ABORT close it, unless AND CHAIN opens the next or it rolls back TO a savepoint. */
  private followTransaction(): void {
    const [first, second] = this.reader.head
    const word = first?.kind === 'word' ? first.text : ''
    if (word === 'begin' || word === 'start') {
      if (!this.inTransaction) this.stringsBeforeTransaction = this.standardStrings
      this.inTransaction = true
    } else if (word === 'commit' || word === 'end' || word === 'rollback' || word === 'abort') {
      const words = this.reader.head.map((token) => token.text)
      const chained = words.includes('chain') && !words.includes('no')
      const toSavepoint = isWord(second, 'to')
      if (chained) this.stringsBeforeTransaction = this.standardStrings
      this.inTransaction = chained || toSavepoint
    }
  }

  /** A --create dump's statements on its own database apply to the temporary one, or are needless; any other database is refused. */
  private database(statement: DumpStatement, db: DatabaseStatement): Verdict {
    const { name, action } = db
    if (this.options.archive)
      return {
        action: 'refuse',
        reason: `acts on database ${name}, which a restore of an archive never touches (pg_restore without --create)`
      }
    const standsIn = `the temporary database stands in for database ${name}`
    // pg_dump --clean --create makes a template database droppable first (UPDATE pg_database SET datistemplate = false).
    const what = action === 'template' ? 'its template flag cleared before DROP DATABASE' : 'DROP DATABASE'
    switch (action) {
      case 'create':
        if (this.standIn === undefined) this.standIn = name
        if (this.standIn === name) return { action: 'leave-out', reason: `CREATE DATABASE: ${standsIn}` }
        return { action: 'refuse', reason: `creates a second database, ${name}` }
      case 'drop':
      case 'template':
        if (this.standIn === undefined) {
          // pg_dump --clean --create drops the database before it creates it: decided once the CREATE is read.
          this.earlyDrops.push({ name, refusal: this.refusal(statement, '') })
          return { action: 'leave-out', reason: `${what}: ${standsIn}` }
        }
        if (this.standIn === name) return { action: 'leave-out', reason: `${what}: ${standsIn}` }
        return { action: 'refuse', reason: `drops database ${name}, another database of the server` }
      case 'set':
      case 'role-setting':
        if (this.standIn !== name)
          return { action: 'refuse', reason: `changes a setting of database ${name}, another database of the server` }
        // Every later session of the temporary database starts with it: only settings that change how values read and plan.
        if (!DATABASE_SETTINGS.has(db.setting ?? ''))
          return {
            action: 'leave-out',
            reason: `setting ${db.setting ?? '?'} of database ${name}, which would change how the restore itself runs`
          }
        return {
          action: 'replace',
          text: `${statement.text.slice(0, db.nameAt)}"${(this.options.temporaryDatabase ?? 'backup_verify').replace(/"/g, '""')}"${statement.text.slice(db.nameEnd)}`,
          reason: `applied to the temporary database, which stands in for ${name}`
        }
      case 'alter':
        if (this.standIn !== name) return { action: 'refuse', reason: `alters database ${name}, another database of the server` }
        return { action: 'leave-out', reason: `ALTER DATABASE (owner, connection limit, template): ${standsIn}` }
      case 'grant':
        if (this.standIn !== name)
          return { action: 'refuse', reason: `changes who may use database ${name}, another database of the server` }
        return { action: 'leave-out', reason: `privileges on the database: ${standsIn}` }
      case 'comment':
        return { action: 'leave-out', reason: `a comment or label on database ${name}, not on anything the restore makes` }
    }
  }

  private meta(unit: DumpUnit): Verdict {
    const judged = judgeMeta(unit.line)
    let verdict: Verdict
    switch (judged.kind) {
      case 'restrict':
      case 'unrestrict':
        verdict = this.options.ownRestrictKey ? { action: 'leave-out', reason: "psql runs under the restore's own \\restrict key" } : RUN
        break
      case 'encoding':
        verdict = { action: 'leave-out', reason: "psql's client encoding for a \\connect the temporary database makes needless" }
        break
      case 'connect':
        if (this.standIn !== undefined && judged.database === this.standIn && this.reopenable) this.preamble = true
        verdict =
          this.standIn !== undefined && judged.database === this.standIn
            ? { action: 'leave-out', reason: `\\connect: the temporary database stands in for database ${judged.database}` }
            : { action: 'refuse', reason: `connects to database ${judged.database}, another database of the server` }
        break
      case 'refuse':
        verdict = { action: 'refuse', reason: judged.reason }
    }
    const shown = this.decode(unit.line.trim().split(/\s+/)[0])
    if (verdict.action === 'refuse') this.refused({ text: shown, reason: verdict.reason, offset: unit.start, entry: this.entry })
    else if (verdict.action === 'leave-out') this.countLeftOut(shown, verdict.reason)
    return verdict
  }

  /** pg_dump's comment before each object names it; pg_restore --verbose adds the entry's number. */
  private noteComment(line: string): void {
    const toc = /^-- TOC entry (\d+)/.exec(line)
    if (toc) {
      this.entry = `TOC entry ${toc[1]}`
      return
    }
    const object = describeEntry(line)
    if (!object) return
    const decoded = this.decode(object)
    this.entry = this.entry?.startsWith('TOC entry') && !this.entry.includes('(') ? `${this.entry} (${decoded})` : decoded
  }

  /** Text as a person reads it: the dump's bytes decoded from its client encoding. */
  private decode(text: string): string {
    return decodeDumpText(text, this.clientEncoding)
  }

  private refusal(statement: DumpStatement, reason: string): Refusal {
    return { text: this.shown(statement), reason, offset: statement.start, entry: this.entry }
  }

  private refused(refusal: Refusal): void {
    this.report.refusedTotal++
    if (this.report.refused.length < MAX_LISTED) this.report.refused.push({ ...refusal, reason: this.decode(refusal.reason) })
  }

  private leftOut(statement: DumpStatement, reason: string): void {
    this.countLeftOut(this.shown(statement), reason)
  }

  private countLeftOut(text: string, reason: string): void {
    this.report.leftOutTotal++
    if (this.report.leftOut.length < MAX_LISTED) this.report.leftOut.push({ text, reason: this.decode(reason) })
  }

  /** The statement's first tokens as written, every literal's content hidden (a password may be one). */
  private shown(statement: DumpStatement): string {
    return describeStatement(this.reader.head, statement.text, (text) => this.decode(text))
  }
}

/**
 * SET SESSION AUTHORIZATION (only a superuser may run it) and SET ROLE change whose rights the rest
 * of the restore, and any function the backup defines, runs with: never the server's own roles that
 * carry powers over its host and other sessions. pg_dump names owners, grantors and the
 * --superuser of --disable-triggers this way.
 */
function sessionRole(role: string | undefined): Verdict {
  if (role === undefined || !role.startsWith('pg_') || role === 'pg_database_owner') return RUN
  return { action: 'refuse', reason: `sets the session's role to ${role}, a predefined role of the server with powers beyond one database` }
}

/** Keywords and names of a statement's first tokens, its literals as '…' (a literal can hold a password). */
function describeStatement(head: StatementToken[], text: string, decode: (text: string) => string): string {
  const parts: string[] = []
  for (const token of head.slice(0, HEAD_SHOWN)) {
    let shown: string
    if (token.kind === 'string') shown = "'…'"
    else if (token.kind === 'quoted') shown = `"${decode(token.text)}"`
    else if (token.kind === 'word') shown = decode(text.slice(token.at, token.at + token.text.length) || token.text)
    else if (token.kind === 'number') shown = '…'
    else shown = token.text
    const attach = token.kind === 'symbol' && /^[.,;)(:]$/.test(token.text)
    if (parts.length > 0 && !attach && !parts[parts.length - 1].endsWith('(') && !parts[parts.length - 1].endsWith('.')) parts.push(' ')
    parts.push(shown)
  }
  return head.length > HEAD_SHOWN ? `${parts.join('')} …` : parts.join('')
}

/** What of a unit may be sent: its own bytes, other bytes (a statement left out or rewritten), or nothing but a refusal. */
export type Admission = { bytes: Buffer[] } | { refused: string }

/** The bytes to send for a unit, given the gate's verdicts on it. */
export function admit(unit: DumpUnit, verdicts: Verdict[]): Admission {
  if (verdicts.every((verdict) => verdict.action === 'run')) return { bytes: unit.chunks }
  const refused = verdicts.find((verdict) => verdict.action === 'refuse')
  if (refused) return { refused: refused.reason }
  // The first part of a statement too long to hold went on already: it can no longer be left out.
  if (unit.continued) return { refused: 'a statement too long to leave out or rewrite' }
  if (unit.kind === 'meta') return { bytes: [] }
  const texts = unit.statements.flatMap((statement, i) => {
    const verdict = verdicts[i]
    if (verdict.action === 'leave-out') return []
    return [verdict.action === 'replace' ? verdict.text : statement.text]
  })
  return { bytes: texts.length === 0 ? [] : [Buffer.from(`${texts.join('\n')}\n`, 'latin1')] }
}

/**
 * "-- Name: t; Type: TABLE; Schema: public; Owner: app" as "TABLE t in schema public". A name may
 * hold "; " itself: the type is the capitals before "; Schema: ", the owner what follows the last "; Owner: ".
 */
function describeEntry(line: string): string | undefined {
  const head = /^-- (?:Data for )?Name: /.exec(line)
  if (!head) return undefined
  const typed = /; Type: ([A-Z][A-Z ]*?); Schema: /.exec(line)
  const owner = line.lastIndexOf('; Owner: ')
  if (!typed || owner < typed.index) return undefined
  const name = line.slice(head[0].length, typed.index)
  const schema = line.slice(typed.index + typed[0].length, owner)
  return `${typed[1]} ${name}${schema === '-' ? '' : ` in schema ${schema}`}`
}
