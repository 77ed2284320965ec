// One statement of a dump as the gate reads it: its tokens as psql lexes them (see PlainDumpLexer),
// the first of them kept, the rest followed as they pass (an INSERT's values, a function's
// language), and what it would do once run: act inside the database it is restored into, act on the
// database itself (a --create dump's preamble), or reach beyond it. Pure: no file, no server.

import { isSymbol, isWord, readQualifiedName, type TokenKind } from '../plain/tokens.js'
import { InsertReader, literalArguments } from './literals.js'
import { objectKind, OBJECT_KINDS, SHARED_KINDS, type StatementToken } from './vocabulary.js'

export type { StatementToken } from './vocabulary.js'

/** What a statement would do, as far as the gate is concerned. */
export interface StatementJudgement {
  /** Why it may not run at all. */
  refuse?: string
  /** Why it is not sent, though harmless to read (privileges on a function that reaches the server's host). */
  leaveOut?: string
  /** A statement on a database by name: the one a --create dump makes, or another. */
  database?: DatabaseStatement
  /** SET SESSION AUTHORIZATION or SET ROLE: to this role, or back (undefined). */
  sessionRole?: { role: string | undefined }
  /** CREATE FUNCTION or PROCEDURE: its name and language (or another way to run code of the server's host: why). */
  routine?: { name: string; language: string; why?: string }
  subscription?: 'create' | 'drop'
}

export interface DatabaseStatement {
  action: 'create' | 'drop' | 'template' | 'set' | 'alter' | 'comment' | 'grant' | 'role-setting'
  name: string
  /** Where the name is in the statement's text, for a rewrite that puts another there. */
  nameAt: number
  nameEnd: number
  /** SET and RESET: the setting's name. */
  setting?: string
}

/** Tokens kept whole; a statement longer than this is judged from them and what was followed after. */
const HEAD_TOKENS = 4096

/**
 * The variables psql sets itself (and ON_ERROR_STOP, which the restore sets): ":NAME" outside quotes is
 * replaced by the value of one that is set, and an error's message is one. Names like theirs, of
 * versions to come, are held the same.
 */
const PSQL_VARIABLES = new Set([
  'AUTOCOMMIT',
  'COMP_KEYWORD_CASE',
  'DBNAME',
  'ECHO',
  'ECHO_HIDDEN',
  'ENCODING',
  'ERROR',
  'FETCH_COUNT',
  'HIDE_TABLEAM',
  'HIDE_TOAST_COMPRESSION',
  'HISTCONTROL',
  'HISTFILE',
  'HISTSIZE',
  'HOST',
  'IGNOREEOF',
  'LASTOID',
  'ON_ERROR_ROLLBACK',
  'ON_ERROR_STOP',
  'PORT',
  'PROMPT1',
  'PROMPT2',
  'PROMPT3',
  'QUIET',
  'ROW_COUNT',
  'SERVER_VERSION_NAME',
  'SERVER_VERSION_NUM',
  'SERVICE',
  'SHOW_ALL_RESULTS',
  'SHOW_CONTEXT',
  'SINGLELINE',
  'SINGLESTEP',
  'SQLSTATE',
  'USER',
  'VERBOSITY',
  'VERSION',
  'VERSION_NAME',
  'VERSION_NUM',
  'WATCH_INTERVAL'
])
const PSQL_VARIABLE_LIKE = /^(LAST_|SHELL_|PIPELINE_)|ERROR|MESSAGE/

function isPsqlVariable(name: string): boolean {
  return PSQL_VARIABLES.has(name) || PSQL_VARIABLE_LIKE.test(name)
}

/** Languages whose functions cannot reach the server's host or files. */
const TRUSTED_LANGUAGES = new Set(['sql', 'plpgsql', 'plperl', 'pltcl', 'plv8', 'pllua', 'plrust', 'java', 'pljs'])

export function isTrustedLanguage(language: string): boolean {
  return TRUSTED_LANGUAGES.has(language)
}

/** Settings pg_dump and pg_restore write, and settings a person adds to speed a restore up; none reaches beyond the session. */
const SETTINGS = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'transaction_timeout',
  'client_encoding',
  'standard_conforming_strings',
  'check_function_bodies',
  'xmloption',
  'client_min_messages',
  'row_security',
  'default_tablespace',
  'default_table_access_method',
  'default_with_oids',
  'default_toast_compression',
  'search_path',
  'escape_string_warning',
  'session_replication_role',
  'default_transaction_read_only',
  'synchronous_commit',
  'maintenance_work_mem',
  'work_mem',
  'max_parallel_maintenance_workers',
  'max_parallel_workers_per_gather',
  'jit'
])

/** Settings psql follows to read what comes next: only in the forms its lexer (and ours) follows. */
const LEXER_SETTINGS = new Set(['client_encoding', 'standard_conforming_strings'])

/** Functions pg_dump's SELECT statements call, all in pg_catalog, all with literal arguments. */
const CALLS = new Set(['setval', 'set_config', 'lo_create', 'lo_open', 'lowrite', 'lo_close', 'lo_unlink'])
/** PostgreSQL 18's statistics, called as SELECT * FROM pg_catalog.f(...). */
const STATISTICS_CALLS = new Set([
  'pg_restore_relation_stats',
  'pg_restore_attribute_stats',
  'pg_restore_extended_stats',
  'pg_clear_relation_stats',
  'pg_clear_attribute_stats'
])

/**
 * The server's functions that reach its files, programs, other servers, other sessions or its
 * settings: refused wherever a statement calls them (a view, a default, a check, an index; pg_dump's
 * own SELECT statements are held to a list of their own).
 */
/** Words after which a name is made, written into or named, not called. */
const NAMING_WORDS = [
  'table',
  'function',
  'procedure',
  'routine',
  'aggregate',
  'into',
  'copy',
  'references',
  'on',
  'only',
  'exists',
  'view',
  'index',
  'type',
  'sequence',
  'of',
  'trigger',
  'domain',
  'statistics'
]

const HOST_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'pg_file_write',
  'pg_file_sync',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_logdir_ls',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_promote',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_replication_slot_advance',
  'pg_logical_emit_message',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  'pg_replication_origin_advance',
  'pg_replication_origin_session_setup',
  'pg_stat_reset_shared',
  'pg_stat_reset_slru',
  'pg_stat_reset_replication_slot',
  'pg_stat_reset_subscription_stats',
  'pg_log_backend_memory_contexts',
  'set_config',
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_connect_u',
  'dblink_send_query',
  'dblink_open',
  'query_to_xml',
  'ts_stat',
  'ts_rewrite',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema'
])

/** Reads one statement's tokens as they come and judges it once it has ended. */
export class StatementReader {
  /** psql knows SQL-standard bodies: a BEGIN ATOMIC body may hold semicolons. */
  constructor(private readonly atomicBodies = true) {}

  head: StatementToken[] = []
  count = 0
  private depth = 0
  private previous: StatementToken | undefined
  private beforePrevious: StatementToken | undefined
  /** Facts followed beyond the head. */
  private backslash = false
  private variables: StatementToken[] = []
  private colonAt = -2
  private colonIsCast = false
  private depth0As = false
  private languages: string[] = []
  private languageNext = false
  private bodyStarted = false
  private onTarget: string[] | undefined
  private onNext = 0
  private insert: InsertReader | undefined
  private continued = false
  private semicolons = 0
  /** The first ")" back at depth 0 has closed a routine's argument list: its clauses follow. */
  private signatureClosed = false
  /** A BEGIN ATOMIC body: read, ended by the END that starts a statement of its own, then terminated. */
  private atomic: 'none' | 'body' | 'segment' | 'closed' | 'terminated' | 'broken' = 'none'
  private hostCall: string | undefined
  /** A host function named where no call is written (CREATE OPERATOR ... FUNCTION = lo_export). */
  private hostName: string | undefined
  /** The last tokens, to tell a call from a name being made or written into (CREATE TABLE dblink (...)). */
  private recent: StatementToken[] = []
  private junk: string | undefined
  private unicodeName = false

  reset(): void {
    this.head = []
    this.count = 0
    this.depth = 0
    this.previous = this.beforePrevious = undefined
    this.backslash = false
    this.variables = []
    this.colonAt = -2
    this.colonIsCast = false
    this.depth0As = false
    this.languages = []
    this.languageNext = false
    this.bodyStarted = false
    this.onTarget = undefined
    this.onNext = 0
    this.insert = undefined
    this.continued = false
    this.semicolons = 0
    this.signatureClosed = false
    this.atomic = 'none'
    this.hostCall = undefined
    this.hostName = undefined
    this.recent = []
    this.junk = undefined
    this.unicodeName = false
  }

  token(kind: TokenKind, text: string, at: number): void {
    const token: StatementToken = { kind, text, at }
    if (this.count < HEAD_TOKENS) this.head.push(token)
    this.count++
    if (this.count === 1 && kind === 'word' && text === 'insert') this.insert = new InsertReader()
    else this.insert?.token(token)
    if (kind === 'backslash') this.backslash = true
    if (kind === 'continuation') this.continued = true
    // A number run into a word or a "$" ("1a$$", "1e5$$"): psql's versions end it in different places.
    if (kind === 'number' && !/^\d+(?:[eE]\d*)?$/.test(text)) this.junk ??= text
    // U&"..." and U&'...': names and strings with escapes of their own, which pg_dump never writes.
    if ((kind === 'quoted' || kind === 'string') && isSymbol(this.previous, '&') && isWord(this.beforePrevious, 'u'))
      this.unicodeName = true
    if (
      (kind === 'word' || kind === 'quoted') &&
      HOST_FUNCTIONS.has(text) &&
      (isSymbol(this.previous, '=') || isWord(this.previous, 'function'))
    )
      this.hostName ??= text
    this.followVariables(token)
    this.followBody(token)
    if (kind === 'symbol') {
      if (text === '(') {
        const called = this.previous
        if ((called?.kind === 'word' || called?.kind === 'quoted') && HOST_FUNCTIONS.has(called.text) && this.isCall())
          this.hostCall ??= called.text
        this.depth++
      } else if (text === ')') {
        this.depth = Math.max(0, this.depth - 1)
        if (this.depth === 0) this.signatureClosed = true
      } else if (text === ';' && this.depth === 0) this.semicolons++
    } else if (this.depth === 0) {
      this.followWords(token)
    }
    this.beforePrevious = this.previous
    this.previous = token
    this.recent.push(token)
    if (this.recent.length > 8) this.recent.shift()
  }

  /**
   * The name before this "(" is called, unless it is being made, written into or named: after
   * TABLE, FUNCTION, INTO, COPY, REFERENCES, ON and the like (CREATE TABLE public.dblink (...)).
   */
  private isCall(): boolean {
    let at = this.recent.length - 1
    while (at >= 2 && isSymbol(this.recent[at - 1], '.') && (this.recent[at - 2].kind === 'word' || this.recent[at - 2].kind === 'quoted'))
      at -= 2
    return !isWord(this.recent[at - 1], ...NAMING_WORDS)
  }

  /**
   * A SQL-standard body (BEGIN ATOMIC ... END) is the one place a statement holds semicolons: it
   * ends at the first END that starts a statement of its own (END inside a statement closes a CASE),
   * and only the statement's own semicolon may follow it.
   */
  private followBody(token: StatementToken): void {
    const { kind, text } = token
    switch (this.atomic) {
      case 'none':
        if (kind === 'word' && text === 'atomic' && isWord(this.previous, 'begin') && this.signatureClosed && this.depth === 0)
          this.atomic = 'body'
        return
      case 'body':
        if (kind === 'symbol' && text === ';' && this.depth === 0) this.atomic = 'segment'
        return
      case 'segment':
        this.atomic = kind === 'word' && text === 'end' ? 'closed' : kind === 'symbol' && text === ';' ? 'segment' : 'body'
        return
      case 'closed':
        this.atomic = kind === 'symbol' && text === ';' ? 'terminated' : 'broken'
        return
      case 'terminated':
        this.atomic = 'broken'
    }
  }

  /** ":name", ":'name'" and ':"name"' right after a colon: psql puts its variable's value there. */
  private followVariables(token: StatementToken): void {
    if (token.kind === 'symbol' && token.text === ':') {
      // "::" is a cast, and so the colon after a colon is no variable's.
      this.colonIsCast = this.colonAt === token.at - 1 && !this.colonIsCast
      this.colonAt = token.at
      return
    }
    const substituted =
      token.kind === 'word' || token.kind === 'quoted' || token.kind === 'string' || (token.kind === 'symbol' && token.text === '{')
    if (this.colonAt === token.at - 1 && !this.colonIsCast && substituted) {
      if (this.variables.length < 16) this.variables.push(token)
    }
  }

  private followWords(token: StatementToken): void {
    if (token.kind !== 'word') {
      if (this.languageNext && (token.kind === 'quoted' || token.kind === 'string')) this.languages.push(token.text.toLowerCase())
      this.languageNext = false
      if (this.onTarget && this.onTarget.length < this.onNext) this.onTarget.push('')
      return
    }
    const word = token.text
    if (this.languageNext) {
      this.languages.push(word)
      this.languageNext = false
    } else if (word === 'language' && !this.bodyStarted) {
      this.languageNext = true
    }
    // A SQL-standard body (BEGIN ATOMIC ... END, RETURN ...) comes last, after the arguments: its words are not clauses.
    if (this.signatureClosed && (word === 'atomic' ? isWord(this.previous, 'begin') : word === 'return')) this.bodyStarted = true
    if (word === 'as') this.depth0As = true
    if (this.onTarget && this.onTarget.length < this.onNext) this.onTarget.push(word)
    else if (word === 'on' && !this.onTarget) {
      this.onTarget = []
      this.onNext = 3
    }
  }

  /** What the statement would do. `text` is the statement's text (its head, when it was too long to keep whole). */
  judge(text: string, truncated: boolean): StatementJudgement {
    const shape = this.judgeShape(text, truncated)
    if (shape) return { refuse: shape }
    return this.judgeVerb()
  }

  private judgeVerb(): StatementJudgement {
    const first = this.head[0]
    if (!first) return {}
    if (first.kind === 'symbol' && first.text === ';') return {}
    if (first.kind !== 'word') return { refuse: 'not a statement pg_dump writes' }
    switch (first.text) {
      case 'set':
        return this.judgeSet()
      case 'reset':
        return this.judgeReset()
      case 'select':
        return this.judgeSelect()
      case 'copy':
        return this.judgeCopy()
      case 'insert':
        return this.insert?.problem() ? { refuse: this.insert.problem() } : {}
      case 'create':
        return this.judgeCreate()
      case 'alter':
        return this.judgeAlter()
      case 'drop':
        return this.judgeDrop()
      case 'comment':
        return this.judgeOn(2, 'COMMENT')
      case 'security':
        return isWord(this.head[1], 'label') ? this.judgeOn(isWord(this.head[2], 'for') ? 5 : 3, 'SECURITY LABEL') : refuseVerb('SECURITY')
      case 'grant':
      case 'revoke':
        return this.judgeGrant(first.text)
      case 'refresh':
      case 'truncate':
      case 'begin':
      case 'start':
      case 'commit':
      case 'end':
      case 'rollback':
      case 'abort':
        return this.fitsHead()
      case 'load':
        return { refuse: "LOAD loads a library into the server's process" }
      case 'do':
        return { refuse: 'DO runs a block of code; pg_dump never writes one' }
      case 'call':
        return { refuse: 'CALL runs a procedure; pg_dump never writes one' }
      case 'import':
        return { refuse: 'IMPORT FOREIGN SCHEMA connects to another server' }
      case 'reassign':
        return { refuse: `REASSIGN OWNED acts on ${SHARED_KINDS.owned}` }
      case 'checkpoint':
        return { refuse: 'CHECKPOINT acts on the whole server' }
      case 'update':
        return this.judgeUpdate()
    }
    return refuseVerb(first.text.toUpperCase())
  }

  /** In a statement not yet ended: what psql acts on at once (a meta-command, a variable), before the statement's end. */
  hazard(): string | undefined {
    if (this.backslash) return 'a backslash outside quotes, which psql acts on at once'
    if (this.variables.length > 0) return 'a psql variable outside quotes, which psql puts in at once'
    if (this.continued) return 'a string taken up again on another line'
    return undefined
  }

  /** What makes psql, the server and the gate read a statement differently; undefined when nothing does. */
  private judgeShape(text: string, truncated: boolean): string | undefined {
    if (this.backslash)
      return 'a backslash outside quotes: psql would run it as a meta-command (\\; sends two statements as one); pg_dump never writes one'
    if (this.continued)
      return 'a string taken up again on another line, which psql and the server read differently; pg_dump never writes one'
    if (text.includes('\u0000')) return 'a NUL byte, after which psql reads nothing of its line'
    for (const variable of this.variables) {
      if (variable.kind === 'symbol') return '":{" outside quotes: psql would put the answer to whether a variable of its own is set there'
      // psql's variable names stop at a "$", which an identifier may hold.
      const name = (variable.kind === 'word' ? originalWord(text, variable, truncated) : variable.text)?.split('$')[0]
      if (name === undefined || isPsqlVariable(name))
        return `":${name ?? variable.text}" outside quotes: psql would put its own variable's value there, unseen`
    }
    const inner = this.semicolons - (isSymbol(this.previous, ';') ? 1 : 0)
    if (inner > 0 && !(this.atomicBodies && this.isRoutine() && this.atomic === 'terminated'))
      return 'more than one statement in one: psql would send them together, and the server run each'
    if (this.junk) return `"${this.junk}": a number run into a word or a "$", which psql's versions read differently`
    if (this.unicodeName) return 'a U&"..." name or U&\'...\' string, whose escapes pg_dump never writes'
    const verb = this.head[0]?.text ?? ''
    // Privileges, comments and labels name a function without calling it (GRANT ... ON FUNCTION pg_catalog.pg_ls_dir(text)).
    const names = ['grant', 'revoke', 'comment', 'security'].includes(verb)
    if (this.hostCall && verb !== 'select' && !names)
      return `calls ${this.hostCall}, which reaches the server's files, programs, settings, other sessions or other servers`
    if (this.hostName && verb === 'create' && this.makesCallable())
      return `makes ${this.hostName} callable as an operator, aggregate, cast, type or transform; it reaches the server's files, programs, settings, other sessions or other servers`
    return undefined
  }

  /** CREATE OPERATOR, AGGREGATE, CAST, TYPE, TRANSFORM, CONVERSION: a function named in them is called where they are used. */
  private makesCallable(): boolean {
    let i = 1
    if (isWord(this.head[i], 'or') && isWord(this.head[i + 1], 'replace')) i += 2
    if (isWord(this.head[i], 'default')) i++
    return isWord(this.head[i], 'operator', 'aggregate', 'cast', 'type', 'transform', 'conversion')
  }

  /** SELECT pg_catalog.set_config('search_path', ...): part of pg_dump's preamble. */
  isSearchPathCall(): boolean {
    const [select, schema, dot, name] = this.head
    return isWord(select, 'select') && isWord(schema, 'pg_catalog') && isSymbol(dot, '.') && isWord(name, 'set_config')
  }

  /** CREATE [OR REPLACE] FUNCTION or PROCEDURE. */
  private isRoutine(): boolean {
    const [first, second, third, fourth] = this.head
    if (!isWord(first, 'create')) return false
    return (
      isWord(second, 'function', 'procedure') ||
      (isWord(second, 'or') && isWord(third, 'replace') && isWord(fourth, 'function', 'procedure'))
    )
  }

  /** The setting psql reads the rest of the dump by that this statement sets, if it sets one. */
  readingSetting(): string | undefined {
    const [first, second, third] = this.head
    if (!isWord(first, 'set')) return undefined
    const name = isWord(second, 'session', 'local') ? third : second
    const setting = name?.kind === 'word' || name?.kind === 'quoted' ? name.text.toLowerCase() : ''
    return LEXER_SETTINGS.has(setting) ? setting : undefined
  }

  private fitsHead(): StatementJudgement {
    return this.count > HEAD_TOKENS ? { refuse: 'too long to read whole' } : {}
  }

  /** pg_dump --clean --create of a template database: UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'name'; */
  private judgeUpdate(): StatementJudgement {
    const expected = ['update', 'pg_catalog', '.', 'pg_database', 'set', 'datistemplate', '=', 'false', 'where', 'datname', '=']
    const tokens = this.head
    const name = tokens[expected.length]
    if (
      expected.every((word, i) => tokens[i]?.text === word) &&
      name?.kind === 'string' &&
      isSymbol(tokens[expected.length + 1], ';') &&
      this.count === expected.length + 2
    )
      return { database: { action: 'template', name: name.text, nameAt: name.at, nameEnd: name.at } }
    return refuseVerb('UPDATE')
  }

  private judgeSet(): StatementJudgement {
    let i = 1
    if (isWord(this.head[i], 'session') && isWord(this.head[i + 1], 'authorization')) return this.sessionRole(i + 2)
    if (isWord(this.head[i], 'session', 'local')) i++
    const name = this.head[i]
    if (isWord(name, 'role')) return this.sessionRole(i + 1)
    if (isWord(name, 'session_authorization')) return this.sessionRole(i + 1)
    if (!name || (name.kind !== 'word' && name.kind !== 'quoted')) return { refuse: 'a SET statement pg_dump never writes' }
    const setting = name.text.toLowerCase()
    if (!SETTINGS.has(setting)) return { refuse: `SET ${setting}: not a setting pg_dump writes` }
    if (!isSymbol(this.head[i + 1], '=') && !isWord(this.head[i + 1], 'to')) return { refuse: 'a SET statement pg_dump never writes' }
    if (this.count > 64) return { refuse: 'a SET statement too long to be one of pg_dump' }
    return {}
  }

  private judgeReset(): StatementJudgement {
    const name = this.head[1]
    if (isWord(name, 'session') && isWord(this.head[2], 'authorization')) return { sessionRole: { role: undefined } }
    if (isWord(name, 'role')) return { sessionRole: { role: undefined } }
    if (name?.kind === 'word' && SETTINGS.has(name.text) && !LEXER_SETTINGS.has(name.text) && this.count === 3) return {}
    return { refuse: 'a RESET statement pg_dump never writes' }
  }

  /** SET SESSION AUTHORIZATION x / SET ROLE x / SET role = x: the role, or none (DEFAULT, NONE). */
  private sessionRole(at: number): StatementJudgement {
    let i = at
    if (isSymbol(this.head[i], '=') || isWord(this.head[i], 'to')) i++
    const role = this.head[i]
    if (!role || !isSymbol(this.head[i + 1], ';') || this.count !== i + 2)
      return { refuse: 'a SET ROLE or SESSION AUTHORIZATION pg_dump never writes' }
    if (role.kind === 'word' && (role.text === 'default' || role.text === 'none')) return { sessionRole: { role: undefined } }
    if (role.kind === 'word' || role.kind === 'quoted' || role.kind === 'string') return { sessionRole: { role: role.text } }
    return { refuse: 'a SET ROLE or SESSION AUTHORIZATION pg_dump never writes' }
  }

  private judgeSelect(): StatementJudgement {
    if (this.count > HEAD_TOKENS) return { refuse: 'a query too long to read whole' }
    const tokens = this.head
    let i = 1
    const star = isSymbol(tokens[i], '*') && isWord(tokens[i + 1], 'from')
    if (star) i += 2
    if (!isWord(tokens[i], 'pg_catalog') || !isSymbol(tokens[i + 1], '.') || tokens[i + 2]?.kind !== 'word') return refuseQuery(tokens)
    const name = tokens[i + 2].text
    if (name.startsWith('binary_upgrade_'))
      return {
        refuse: `pg_catalog.${name}: a dump made for pg_upgrade (--binary-upgrade), which only a server in binary-upgrade mode takes`
      }
    if (star ? !STATISTICS_CALLS.has(name) : !CALLS.has(name)) return refuseQuery(tokens)
    if (!isSymbol(tokens[i + 3], '(')) return refuseQuery(tokens)
    if (name === 'lo_unlink' && isWord(tokens[i + 4], 'oid')) return largeObjectUnlink(tokens, i + 4)
    const call = literalArguments(tokens, i + 4)
    if (!call || !isSymbol(tokens[call.next], ';') || call.next + 1 !== tokens.length) return refuseQuery(tokens)
    if (name === 'set_config') {
      const [setting, , local] = call.arguments
      if (
        setting?.length !== 1 ||
        setting[0].kind !== 'string' ||
        setting[0].text !== 'search_path' ||
        !(local?.length === 1 && isWord(local[0], 'false'))
      )
        return { refuse: "pg_catalog.set_config of anything but the session's search_path: pg_dump sets no other" }
    }
    return {}
  }

  private judgeCopy(): StatementJudgement {
    const tokens = this.head
    if (this.count > HEAD_TOKENS) return { refuse: 'a COPY statement too long to read whole' }
    const name = readQualifiedName(tokens, 1)
    if (!name) return { refuse: 'COPY of a query, or in a form pg_dump never writes' }
    let i = name.next
    if (isSymbol(tokens[i], '(')) {
      for (i++; tokens[i]?.kind === 'word' || tokens[i]?.kind === 'quoted';) {
        i++
        if (isSymbol(tokens[i], ',')) i++
        else break
      }
      if (!isSymbol(tokens[i], ')')) return { refuse: 'a COPY statement in a form pg_dump never writes' }
      i++
    }
    const direction = tokens[i]
    const source = tokens[i + 1]
    if (isWord(source, 'program')) return { refuse: "COPY ... PROGRAM runs a program on the database server's host" }
    if (source?.kind === 'string') return { refuse: "COPY to or from a file on the database server's host" }
    if (isWord(direction, 'to')) return { refuse: 'COPY ... TO: pg_dump only writes COPY ... FROM stdin' }
    if (!isWord(direction, 'from') || !isWord(source, 'stdin') || !isSymbol(tokens[i + 2], ';') || tokens.length !== i + 3)
      return { refuse: 'a COPY statement in a form pg_dump never writes (only COPY table (columns) FROM stdin;)' }
    return {}
  }

  private judgeCreate(): StatementJudgement {
    let i = 1
    if (isWord(this.head[i], 'or') && isWord(this.head[i + 1], 'replace')) i += 2
    while (isWord(this.head[i], 'unique', 'temp', 'temporary', 'unlogged', 'global', 'local', 'recursive', 'trusted', 'procedural')) i++
    const { kind, next } = objectKind(this.head, i)
    if (SHARED_KINDS[kind]) return { refuse: `CREATE ${kind.toUpperCase()} acts on ${SHARED_KINDS[kind]}` }
    if (kind === 'database') return this.databaseStatement('create', next)
    if (!OBJECT_KINDS.has(kind)) return { refuse: `CREATE ${kind.toUpperCase()}: not an object pg_dump creates` }
    if (kind === 'table' && this.depth0As) return { refuse: 'CREATE TABLE ... AS runs a query; pg_dump never writes one' }
    if (kind === 'subscription') {
      if (!this.subscriptionStaysUnconnected()) return { refuse: 'CREATE SUBSCRIPTION without connect = false connects to its publisher' }
      return { subscription: 'create' }
    }
    if (kind === 'server' || kind === 'foreign data wrapper') return { routine: this.foreignAccess(kind, next) }
    if (kind === 'language') {
      // A language with a handler of the dump's choosing: its functions run whatever that C function runs.
      const handler = this.head.findIndex((token) => isWord(token, 'handler'))
      if (handler < 0) return {}
      const name = this.head[next]?.text ?? '?'
      const by = readQualifiedName(this.head, handler + 1)?.parts.join('.') ?? '?'
      return { routine: { name: `language ${name} (handler ${by})`, language: 'c' } }
    }
    if (kind === 'function' || kind === 'procedure') {
      const name = readQualifiedName(this.head, next)
      const signature = name ? this.signature(name.next) : ''
      return { routine: { name: `${name?.parts.join('.') ?? '?'}${signature}`, language: this.languages[0] ?? 'sql' } }
    }
    return {}
  }

  /**
   * A foreign server (and the wrapper it uses) reaches another server, or files and programs of the
   * database server's host (file_fdw), whenever one of its tables is read or written during the
   * restore (an INSERT, a materialized view's refresh): code of another kind for the host.
   */
  private foreignAccess(kind: string, at: number): NonNullable<StatementJudgement['routine']> {
    const name = readQualifiedName(this.head, isWord(this.head[at], 'if') ? at + 3 : at)?.parts.join('.') ?? '?'
    return {
      name: `${kind} ${name}`,
      language: 'connections to other servers',
      why: `${kind} ${name} reaches another server, or files and programs of the database server's host, whenever one of its tables is read or written`
    }
  }

  /** The argument list's text as written, for a name in a message (short). */
  private signature(at: number): string {
    if (!isSymbol(this.head[at], '(')) return ''
    const parts: string[] = []
    let depth = 0
    for (let i = at; i < this.head.length && parts.join('').length < 120; i++) {
      const token = this.head[i]
      if (isSymbol(token, '(')) depth++
      else if (isSymbol(token, ')') && --depth === 0) break
      else if (depth === 1)
        parts.push(token.kind === 'symbol' ? token.text : ` ${token.kind === 'quoted' ? `"${token.text}"` : token.text}`)
    }
    return `(${parts.join('').replace(/ ,/g, ',').trim()})`
  }

  private subscriptionStaysUnconnected(): boolean {
    const tokens = this.head
    for (let i = 0; i + 2 < tokens.length; i++) {
      if (
        isWord(tokens[i], 'connect') &&
        isSymbol(tokens[i + 1], '=') &&
        (isWord(tokens[i + 2], 'false') || tokens[i + 2].text === 'false')
      )
        return true
    }
    return false
  }

  private judgeAlter(): StatementJudgement {
    const { kind, next } = objectKind(this.head, 1)
    const owner = this.ownerTo()
    if (kind === 'role' || kind === 'user' || kind === 'group') {
      // ALTER ROLE r IN DATABASE d SET ...: a setting of the role's in that database alone.
      const role = this.head[next]
      if (
        (role?.kind === 'word' || role?.kind === 'quoted') &&
        isWord(this.head[next + 1], 'in') &&
        isWord(this.head[next + 2], 'database') &&
        isWord(this.head[next + 4], 'set', 'reset')
      )
        return this.databaseStatement('role-setting', next + 3, this.head[next + 5])
    }
    if (SHARED_KINDS[kind]) return { refuse: `ALTER ${kind.toUpperCase()} acts on ${SHARED_KINDS[kind]}` }
    if (kind === 'database') {
      const action = isWord(this.head[next + 1], 'set', 'reset') ? 'set' : 'alter'
      return this.databaseStatement(action, next, this.head[next + 2])
    }
    if (!OBJECT_KINDS.has(kind)) return { refuse: `ALTER ${kind.toUpperCase()}: not an object pg_dump alters` }
    if (kind === 'subscription' && !owner)
      return { refuse: 'ALTER SUBSCRIPTION other than OWNER TO can connect to its publisher; pg_dump writes only OWNER TO' }
    return {}
  }

  /** The role after a top-level OWNER TO, when the statement has one. */
  private ownerTo(): string | undefined {
    for (let i = 1; i + 2 < this.head.length; i++) {
      if (isWord(this.head[i], 'owner') && isWord(this.head[i + 1], 'to')) {
        const role = this.head[i + 2]
        if (role.kind === 'word' || role.kind === 'quoted') return role.text
      }
    }
    return undefined
  }

  private judgeDrop(): StatementJudgement {
    const { kind, next } = objectKind(this.head, 1)
    if (SHARED_KINDS[kind]) return { refuse: `DROP ${kind.toUpperCase()} acts on ${SHARED_KINDS[kind]}` }
    if (kind === 'database') return this.databaseStatement('drop', isWord(this.head[next], 'if') ? next + 2 : next)
    if (!OBJECT_KINDS.has(kind)) return { refuse: `DROP ${kind.toUpperCase()}: not an object pg_dump drops` }
    return kind === 'subscription' ? { subscription: 'drop' } : {}
  }

  /** COMMENT ON / SECURITY LABEL ON: the object's kind decides. */
  private judgeOn(at: number, verb: string): StatementJudgement {
    if (!isWord(this.head[at - 1], 'on')) return { refuse: `a ${verb} statement pg_dump never writes` }
    const { kind, next } = objectKind(this.head, at)
    if (SHARED_KINDS[kind]) return { refuse: `${verb} ON ${kind.toUpperCase()} acts on ${SHARED_KINDS[kind]}` }
    if (kind === 'database') return this.databaseStatement('comment', next)
    return {}
  }

  private judgeGrant(verb: string): StatementJudgement {
    const target = this.onTarget
    if (!target) return { refuse: `${verb.toUpperCase()} of a role: role membership is shared by every database of the server` }
    const kind = target[0] === 'all' ? 'all' : target.slice(0, 2).join(' ')
    const single = target[0] ?? ''
    if (SHARED_KINDS[single]) return { refuse: `${verb.toUpperCase()} ON ${single.toUpperCase()} acts on ${SHARED_KINDS[single]}` }
    if (single === 'database') {
      // The name follows ON DATABASE; find it in the head.
      const on = this.head.findIndex((token, i) => isWord(token, 'on') && isWord(this.head[i + 1], 'database'))
      if (on < 0) return { refuse: `${verb.toUpperCase()} ON DATABASE too long to read whole` }
      return this.databaseStatement('grant', on + 2)
    }
    if (kind === '') return { refuse: `a ${verb.toUpperCase()} statement pg_dump never writes` }
    // A role given a function that reaches the host could call it in the temporary database while the run lasts.
    const host = single === 'function' && verb === 'grant' ? this.head.find((token) => HOST_FUNCTIONS.has(token.text)) : undefined
    return host ? { leaveOut: `privileges on ${host.text}, a function that reaches the server's host` } : {}
  }

  private databaseStatement(action: DatabaseStatement['action'], at: number, setting?: StatementToken): StatementJudgement {
    const name = this.head[at]
    if (!name || (name.kind !== 'word' && name.kind !== 'quoted'))
      return { refuse: `a statement on a database pg_dump never writes (${action.toUpperCase()})` }
    const end = name.kind === 'quoted' ? closingQuote(name) : name.at + name.text.length
    const set = setting && (setting.kind === 'word' || setting.kind === 'quoted') ? setting.text.toLowerCase() : undefined
    return { database: { action, name: name.text, nameAt: name.at, nameEnd: end, setting: set } }
  }
}

function refuseVerb(verb: string): StatementJudgement {
  return { refuse: `pg_dump writes no ${verb} statement` }
}

function refuseQuery(tokens: StatementToken[]): StatementJudgement {
  const called = tokens.findIndex((token, i) => i > 0 && isSymbol(tokens[i + 1], '('))
  const name = called > 0 ? tokens[called].text : undefined
  const files = name && /^(lo_import|lo_export|pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file|pg_file_write)$/.test(name)
  return {
    refuse: files
      ? `${name} reads or writes a file on the database server's host`
      : "a query: pg_dump's SELECT statements only call pg_catalog's setval, set_config (search_path), large-object and statistics functions, with literal arguments"
  }
}

/** SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = 'n'; (pg_dump --clean). */
function largeObjectUnlink(tokens: StatementToken[], at: number): StatementJudgement {
  const expected = [')', 'from', 'pg_catalog', '.', 'pg_largeobject_metadata', 'where', 'oid', '=']
  for (let i = 0; i < expected.length; i++) {
    const token = tokens[at + 1 + i]
    if (!token || token.text !== expected[i]) return refuseQuery(tokens)
  }
  const oid = tokens[at + 1 + expected.length]
  const end = tokens[at + 2 + expected.length]
  if ((oid?.kind === 'string' || oid?.kind === 'number') && isSymbol(end, ';') && tokens.length === at + 3 + expected.length) return {}
  return refuseQuery(tokens)
}

/** A word as written (capitals kept), from the statement's text; undefined when the text no longer holds it. */
function originalWord(text: string, token: StatementToken, truncated: boolean): string | undefined {
  if (truncated && token.at + token.text.length > text.length) return undefined
  return text.slice(token.at, token.at + token.text.length)
}

/** Where a quoted name ends in the text: past its closing quote ("" inside counted twice). */
function closingQuote(token: StatementToken): number {
  return token.at + 2 + token.text.length + (token.text.match(/"/g)?.length ?? 0)
}
