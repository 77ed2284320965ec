// What pg_dump's statements are made of, as the gate reads them: a token and where it starts (tested
// with plain/tokens.ts), and the kinds of object a statement names (those of one database, and those
// the server shares, which a restore never touches).

import { isWord, type TokenKind } from '../plain/tokens.js'

export interface StatementToken {
  kind: TokenKind
  text: string
  /** Where it starts in the statement's text. */
  at: number
}

/** Object kinds pg_dump creates, alters, comments on and drops inside one database. */
export const OBJECT_KINDS = new Set([
  'schema',
  'table',
  'foreign table',
  'view',
  'materialized view',
  'sequence',
  'index',
  'type',
  'domain',
  'function',
  'procedure',
  'routine',
  'aggregate',
  'operator',
  'operator class',
  'operator family',
  'cast',
  'conversion',
  'collation',
  'text search parser',
  'text search dictionary',
  'text search template',
  'text search configuration',
  'extension',
  'language',
  'trigger',
  'event trigger',
  'rule',
  'policy',
  'publication',
  'subscription',
  'server',
  'foreign data wrapper',
  'user mapping',
  'statistics',
  'access method',
  'transform',
  'large object',
  'default privileges',
  'column',
  'constraint'
])

/** Kinds shared by every database of a server (or the server itself): never touched by a restore. */
export const SHARED_KINDS: Record<string, string> = {
  role: 'a role, which every database of the server shares',
  user: 'a role, which every database of the server shares',
  group: 'a role, which every database of the server shares',
  tablespace: "a tablespace, which the server shares (and a folder on the server's host)",
  system: "the server's configuration (postgresql.auto.conf)",
  parameter: "a server setting's privileges",
  owned: "every object a role owns, in this database and the server's shared catalogs"
}

const TWO_WORD_KINDS = new Set([
  'materialized view',
  'foreign table',
  'user mapping',
  'operator class',
  'operator family',
  'access method',
  'event trigger',
  'constraint trigger',
  'default privileges',
  'large object',
  'default conversion'
])

/** The kind of object a CREATE, ALTER, DROP, COMMENT ON or SECURITY LABEL ON names, and where its name starts. */
export function objectKind(tokens: StatementToken[], at: number): { kind: string; next: number } {
  const first = tokens[at]
  if (first?.kind !== 'word') return { kind: first ? first.text : '', next: at + 1 }
  const two = `${first.text} ${tokens[at + 1]?.kind === 'word' ? tokens[at + 1].text : ''}`
  if (first.text === 'text' && isWord(tokens[at + 1], 'search') && tokens[at + 2]?.kind === 'word')
    return { kind: `text search ${tokens[at + 2].text}`, next: at + 3 }
  if (first.text === 'foreign' && isWord(tokens[at + 1], 'data') && isWord(tokens[at + 2], 'wrapper'))
    return { kind: 'foreign data wrapper', next: at + 3 }
  // USER MAPPING is followed by FOR (or IF NOT EXISTS FOR): "CREATE USER mapping SUPERUSER" makes a role named mapping.
  if (two === 'user mapping' && !isWord(tokens[at + 2], 'for', 'if')) return { kind: 'user', next: at + 1 }
  if (TWO_WORD_KINDS.has(two))
    return { kind: two === 'constraint trigger' ? 'trigger' : two === 'default conversion' ? 'conversion' : two, next: at + 2 }
  if (first.text === 'procedural' && isWord(tokens[at + 1], 'language')) return { kind: 'language', next: at + 2 }
  return { kind: first.text, next: at + 1 }
}
