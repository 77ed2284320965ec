// The errors a restore reports, sorted and named: some are expected when a backup is restored
// elsewhere or by another user (a change of owner or privileges naming a role that does not exist
// there or that the restoring role may not act as, an object the template already has), and are
// counted and shown; any other error fails the restore, with a hint that fits what it says. With
// strict, every error does. A server that went away is named as such.

import { classifyToolError, VerificationError } from '../run/errors.js'
import { commandKind, type StatementKind, type StatementLines } from './statement-lines.js'

export interface RestoreErrors {
  harmless: Map<string, number>
  fatal: string[]
  total: number
}

/** A restoring role that is not a superuser gives an object to a role only when it may act as that role. */
const OWNERSHIP_NOT_RESTORED =
  'ownership not restored: the restoring role may not act as the role that owns the object, so it owns it itself (restore as a superuser, or as a member of the owners, to keep owners)'

/** Nor does it change another role's default privileges (or grant as another role). */
const PRIVILEGES_NOT_RESTORED =
  "another role's default privileges or grants not restored: the restoring role may not act as that role (they concern objects that role makes later, or who granted)"

/** A restore elsewhere (restore-database-url) lacks the source's tablespaces; pg_dump's SET default_tablespace then fails. */
export const MISSING_TABLESPACE = 'a tablespace the dump names does not exist (its objects restored into the default tablespace)'

/** Patterns of errors that leave the restored data and schema whole. */
const HARMLESS: Array<[RegExp, string]> = [
  [/schema "public" already exists/, 'schema "public" already exists'],
  [/must be owner of extension/, 'comment on an extension owned by another role'],
  [/must be owner of schema public/, 'ownership of schema public'],
  [/extension "plpgsql" already exists/, 'extension plpgsql already exists'],
  [/invalid value for parameter "default_tablespace": "[^"]*"/, MISSING_TABLESPACE]
]

/**
 * Errors harmless only in a statement of a kind: a missing role fails a policy, a user mapping or a
 * row of a regrole column just as it fails a change of owner, in the same words, and only the
 * latter leaves every object and row in place.
 */
const HARMLESS_IN: Array<[RegExp, Partial<Record<StatementKind, string>>]> = [
  [
    /role "[^"]+" does not exist/,
    {
      ownership: 'a role the dump names does not exist (ownership or privileges not restored)',
      privileges: 'a role the dump names does not exist (ownership or privileges not restored)'
    }
  ],
  // PostgreSQL 16 and later: "must be able to SET ROLE"; before: "must be member of role".
  [
    /must be member of role "[^"]+"|must be able to SET ROLE "[^"]+"/,
    { ownership: OWNERSHIP_NOT_RESTORED, privileges: PRIVILEGES_NOT_RESTORED }
  ]
]

const MAX_KEPT = 50
/** A pg_restore command is read up to this many characters to tell its kind (an entry's GRANTs). */
const COMMAND_KEPT = 64 * 1024

/**
 * A line that starts a tool's message: psql's (with -f) carries its input's line number, pg_restore
 * names itself. Any other line goes on with the last message: the query's text, the context, the
 * failed statement (pg_restore's "Command was:"), none of them read as an error of its own. psql is
 * not asked to echo failed statements (-b): a statement's text, a comment say, could hold a line
 * that reads as psql's own, and a harmless error would then fail the restore.
 */
const TOOL_PREFIX = /^(psql|pg_restore)(:|$)/
const COMMAND_WAS = /^(?:pg_restore: detail: )?Command was: (.*)$/
const CONTEXT = /^CONTEXT:\s+(.*)$/
const SHOWN_MAX = 160

const shortened = (text: string) => (text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}…` : text)

/**
 * A failed statement as far as it names things: its keywords and (quoted) names up to the first
 * parenthesis, literal, dollar quote or semicolon. A literal can hold a secret (a user mapping's or
 * a subscription's password), so none is ever shown.
 */
export function statementHead(statement: string): string {
  let quoted = false
  let end = 0
  for (; end < statement.length; end++) {
    const c = statement[end]
    if (c === '"') quoted = !quoted
    else if (!quoted && (c === '(' || c === "'" || c === '$' || c === ';')) break
  }
  return shortened(statement.slice(0, end).trim())
}

interface SourceState {
  /** The fatal error (its index) the lines that follow describe. */
  fatal?: number
  contextShown?: boolean
  /** A failed statement's text is running on over lines of its own. */
  inStatement?: boolean
  /** An error harmless only in a statement of some kinds: decided once pg_restore's command is read. */
  pending?: PendingError
}

interface PendingError {
  message: string
  /** What it is counted as, by the kind of statement it failed. */
  labels: Partial<Record<StatementKind, string>>
  context?: string
  command?: string
}

/** psql's prefix with -f: "psql:<file>:<line>: ". */
const PSQL_LINE = /^psql:[^\n]*?:(\d+): /

export class RestoreErrorSorter {
  private readonly errors: RestoreErrors = { harmless: new Map(), fatal: [], total: 0 }
  /** Per session: psql sessions print side by side. */
  private readonly sources = new Map<number, SourceState>()
  /** Per session: which statement ends on each line of psql's input. */
  private readonly statementLines = new Map<number, StatementLines>()

  /** psql's errors from this session name a line of this input: what ends there tells a harmless error. */
  readsLines(lines: StatementLines, source = 0): void {
    this.statementLines.set(source, lines)
  }

  /** Feed every line of psql's or pg_restore's stderr; source: the session that printed it. */
  line(text: string, source = 0): void {
    let state = this.sources.get(source)
    if (!state) this.sources.set(source, (state = {}))
    const prefixed = TOOL_PREFIX.test(text)
    if (!prefixed && state.inStatement) {
      if (state.pending?.command !== undefined && state.pending.command.length < COMMAND_KEPT) state.pending.command += `\n${text}`
      return
    }
    const command = COMMAND_WAS.exec(text)
    if (command) return this.statement(state, command[1])
    if (!prefixed) {
      const context = CONTEXT.exec(text)
      // The first line of the context says where (a function inlined, a COPY's line): it goes with the error.
      if (context && state.pending && state.pending.context === undefined) state.pending.context = context[1]
      else if (context && state.fatal !== undefined && !state.contextShown) {
        this.errors.fatal[state.fatal] += ` (${shortened(context[1])})`
        state.contextShown = true
      }
      return
    }
    this.decide(state)
    state.inStatement = false
    state.fatal = undefined
    state.contextShown = false
    const at = text.indexOf('ERROR:')
    if (at === -1) return
    const message = text.slice(at + 'ERROR:'.length).trim()
    this.errors.total++
    const known = HARMLESS.find(([pattern]) => pattern.test(message))
    if (known) return this.countHarmless(known[1])
    const conditional = HARMLESS_IN.find(([pattern]) => pattern.test(message))
    if (conditional) {
      const [, labels] = conditional
      const psqlLine = PSQL_LINE.exec(text)
      if (!psqlLine) {
        // pg_restore: its "Command was:" follows.
        state.pending = { message, labels }
        return
      }
      const kind = this.statementLines.get(source)?.kindAt(Number(psqlLine[1]))
      const label = kind && labels[kind]
      if (label) return this.countHarmless(label)
    }
    this.keepFatal(state, message)
  }

  /** A harmless case the restore met and steered around, without an error of the tools' (see HARMLESS). */
  noteHarmless(what: string): void {
    this.errors.total++
    this.countHarmless(what)
  }

  /** The statement that failed, as far as it names things, goes with its error. */
  private statement(state: SourceState, text: string): void {
    state.inStatement = true
    if (state.pending) {
      state.pending.command = text
      return
    }
    const head = statementHead(text)
    if (state.fatal !== undefined && head) this.errors.fatal[state.fatal] += `; in ${head}`
    state.fatal = undefined
  }

  /** A pending error, once its command is read whole: harmless in a statement of its kinds, fatal in any other. */
  private decide(state: SourceState): void {
    const pending = state.pending
    if (!pending) return
    state.pending = undefined
    const kind = pending.command === undefined ? undefined : commandKind(pending.command)
    const label = kind && pending.labels[kind]
    if (label) return this.countHarmless(label)
    this.keepFatal(state, pending.message)
    if (state.fatal !== undefined) {
      if (pending.context !== undefined) this.errors.fatal[state.fatal] += ` (${shortened(pending.context)})`
      const head = pending.command === undefined ? '' : statementHead(pending.command.split('\n')[0])
      if (head) this.errors.fatal[state.fatal] += `; in ${head}`
    }
    state.fatal = undefined
  }

  private countHarmless(what: string): void {
    this.errors.harmless.set(what, (this.errors.harmless.get(what) ?? 0) + 1)
  }

  private keepFatal(state: SourceState, message: string): void {
    if (this.errors.fatal.length >= MAX_KEPT) return
    this.errors.fatal.push(message)
    state.fatal = this.errors.fatal.length - 1
  }

  /** Every error so far, those whose command was still being read decided. */
  result(): RestoreErrors {
    for (const state of this.sources.values()) this.decide(state)
    return this.errors
  }

  /** Errors were met, and every one is of a kind only strict fails on. */
  onlyHarmless(): boolean {
    const { fatal, harmless } = this.result()
    return fatal.length === 0 && harmless.size > 0
  }
}

export function describeHarmless(errors: RestoreErrors): string {
  return [...errors.harmless].map(([what, count]) => `${what} (${count}x)`).join('; ')
}

/** What to do about the errors a restore reported, by what they say. */
const RESTORE_HINTS: Array<[RegExp, string]> = [
  [
    /does not exist \((SQL function "|PL\/pgSQL function )/,
    'A function the restore runs (for an index, a constraint, a default or a generated column) names a ' +
      'table, type or function without its schema. A dump restores with an empty search_path, where such a ' +
      "name is not found: write the schema in the function's body, or give the function a search_path of " +
      'its own (ALTER FUNCTION ... SET search_path = public), and dump again.'
  ],
  [
    /violates foreign key constraint/i,
    'Rows in the backup break a foreign key (a row refers to one the backup does not hold): the backup is ' +
      'incomplete or damaged, or was made while the key was not enforced (NOT VALID, or triggers disabled).'
  ],
  [
    /duplicate key value violates unique constraint|could not create unique index/i,
    'Rows in the backup break a unique key (some are there twice): the backup is damaged, or was made while the key was not enforced.'
  ],
  [
    /role "[^"]*" does not exist/i,
    'A statement that changes neither an owner nor privileges (a row-level security policy, a user mapping, ' +
      'a row of a regrole column) names a role the restore server lacks, so what it makes is missing from the ' +
      'restore: create the role there (CREATE ROLE name NOLOGIN is enough), then verify again.'
  ],
  [
    /already exists/i,
    'An object already exists in the new database: a template database may carry it (the restore starts ' +
      'from template0), or the dump creates it twice.'
  ],
  [
    /extension "[^"]*" is not available|could not open extension control file/i,
    'The restore server lacks an extension the dump uses: install its package there.'
  ],
  [
    /permission denied|must be owner|must be superuser|must be a member|must be member|must be able to SET ROLE/i,
    'The restoring user lacks a privilege the dump needs: restore as the owner of its objects, or as a superuser.'
  ],
  [
    /syntax error|invalid input syntax|invalid byte sequence|unterminated|invalid command/i,
    'The backup holds text the server cannot read: it is damaged, or was made by a newer pg_dump for another server.'
  ]
]

function restoreHint(lines: string[]): string {
  const text = lines.join('\n')
  return (
    RESTORE_HINTS.find(([pattern]) => pattern.test(text))?.[1] ??
    'The backup does not restore as it is: the error above names the statement that fails.'
  )
}

/** The server went away: the tools say so in words of their own. */
const SERVER_GONE =
  /could not connect to server|connection refused|no connection to the server|could not receive data from server|server closed the connection/i

/** Whether a tool's stderr says the server went away. */
export function serverGone(stderr: string): boolean {
  return SERVER_GONE.test(stderr) || classifyToolError(stderr)?.problem === 'connection-lost'
}

/** strict stopped the restore at an error that changes no object and no row. */
const STRICT_HINT =
  'strict: true fails on every error, these too, though they leave every object and row in place (a change of ' +
  'owner or privileges naming a role the restore server lacks or the restoring role may not act as, an object ' +
  'the template already has): create the roles there, or run without strict to count such errors as harmless.'

/**
 * A failed restore in the user's terms: a server that went away, or what the backup's errors say,
 * with a hint that fits them. onlyStrict: strict failed it, and every error met is harmless otherwise.
 */
export function restoreFailure(what: string, message: string, lines: string[], stderr: string, onlyStrict = false): VerificationError {
  if (serverGone(stderr)) {
    const known = classifyToolError(stderr)
    return new VerificationError(
      'connection-lost',
      `Restore failed: the connection to the server was lost while ${what} restored: ${lines.join(' | ') || 'no error message'}`,
      known?.problem === 'connection-lost' ? known.hint : classifyToolError('server closed the connection unexpectedly')?.hint
    )
  }
  return new VerificationError('restore-failed', message, onlyStrict ? STRICT_HINT : restoreHint(lines))
}

/** Errors that leave the restore incomplete (the tools' stderr tells whether the server went away). */
export function incompleteRestore(fatal: string[], stderr: string): VerificationError {
  const message = `Restore failed: ${fatal.length === 1 ? 'an error that leaves' : `${fatal.length} errors that leave`} the restore incomplete: ${fatal.slice(0, 5).join(' | ')}`
  return restoreFailure('psql', message, fatal, stderr)
}
