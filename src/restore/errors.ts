// The errors a restore reports, sorted and named: some are expected when a backup is restored
// elsewhere or by another user (a role that does not exist there, an object the template already
// has), and are counted and shown; any other error fails the restore, with a hint that fits what it
// says. With strict, every error does. A server that went away is named as such.

import { classifyToolError, VerificationError } from '../run/errors.js'

export interface RestoreErrors {
  harmless: Map<string, number>
  fatal: string[]
  total: number
}

/** A restore elsewhere (restore-database-url) lacks the source's tablespaces; pg_dump's SET default_tablespace then fails. */
export const MISSING_TABLESPACE = 'a tablespace the dump names does not exist (its objects restored into the default tablespace)'

/** Patterns of errors that leave the restored data and schema whole. */
const HARMLESS: Array<[RegExp, string]> = [
  [/role "[^"]+" does not exist/, 'a role the dump names does not exist (ownership or privileges not restored)'],
  [/schema "public" already exists/, 'schema "public" already exists'],
  [/must be owner of extension/, 'comment on an extension owned by another role'],
  [/must be owner of schema public/, 'ownership of schema public'],
  [/extension "plpgsql" already exists/, 'extension plpgsql already exists'],
  [/invalid value for parameter "default_tablespace": "[^"]*"/, MISSING_TABLESPACE]
]

const MAX_KEPT = 50

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
}

export class RestoreErrorSorter {
  private readonly errors: RestoreErrors = { harmless: new Map(), fatal: [], total: 0 }
  /** Per session: psql sessions print side by side. */
  private readonly sources = new Map<number, SourceState>()

  /** Feed every line of psql's or pg_restore's stderr; source: the session that printed it. */
  line(text: string, source = 0): void {
    let state = this.sources.get(source)
    if (!state) this.sources.set(source, (state = {}))
    const prefixed = TOOL_PREFIX.test(text)
    if (!prefixed && state.inStatement) return
    const command = COMMAND_WAS.exec(text)
    if (command) return this.statement(state, command[1])
    if (!prefixed) {
      const context = CONTEXT.exec(text)
      // The first line of the context says where (a function inlined, a COPY's line): it goes with the error.
      if (context && state.fatal !== undefined && !state.contextShown) {
        this.errors.fatal[state.fatal] += ` (${shortened(context[1])})`
        state.contextShown = true
      }
      return
    }
    state.inStatement = false
    state.fatal = undefined
    state.contextShown = false
    const at = text.indexOf('ERROR:')
    if (at === -1) return
    const message = text.slice(at + 'ERROR:'.length).trim()
    this.errors.total++
    const known = HARMLESS.find(([pattern]) => pattern.test(message))
    if (known) this.errors.harmless.set(known[1], (this.errors.harmless.get(known[1]) ?? 0) + 1)
    else if (this.errors.fatal.length < MAX_KEPT) {
      this.errors.fatal.push(message)
      state.fatal = this.errors.fatal.length - 1
    }
  }

  /** A harmless case the restore met and steered around, without an error of the tools' (see HARMLESS). */
  noteHarmless(what: string): void {
    this.errors.total++
    this.errors.harmless.set(what, (this.errors.harmless.get(what) ?? 0) + 1)
  }

  /** The statement that failed, as far as it names things, goes with its error. */
  private statement(state: SourceState, text: string): void {
    state.inStatement = true
    const head = statementHead(text)
    if (state.fatal !== undefined && head) this.errors.fatal[state.fatal] += `; in ${head}`
    state.fatal = undefined
  }

  result(): RestoreErrors {
    return this.errors
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
    'Roles the dump names must exist on the restore server: create them there, or run without strict: true to count this as harmless.'
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
    /permission denied|must be owner|must be superuser|must be a member/i,
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

/** A failed restore in the user's terms: a server that went away, or what the backup's errors say, with a hint that fits them. */
export function restoreFailure(what: string, message: string, lines: string[], stderr: string): VerificationError {
  if (serverGone(stderr)) {
    const known = classifyToolError(stderr)
    return new VerificationError(
      'connection-lost',
      `Restore failed: the connection to the server was lost while ${what} restored: ${lines.join(' | ') || 'no error message'}`,
      known?.problem === 'connection-lost' ? known.hint : classifyToolError('server closed the connection unexpectedly')?.hint
    )
  }
  return new VerificationError('restore-failed', message, restoreHint(lines))
}

/** Errors that leave the restore incomplete (the tools' stderr tells whether the server went away). */
export function incompleteRestore(fatal: string[], stderr: string): VerificationError {
  const message = `Restore failed: ${fatal.length === 1 ? 'an error that leaves' : `${fatal.length} errors that leave`} the restore incomplete: ${fatal.slice(0, 5).join(' | ')}`
  return restoreFailure('psql', message, fatal, stderr)
}
