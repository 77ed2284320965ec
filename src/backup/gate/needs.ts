// What a dump needs of the server it is restored on, read from a statement's first tokens as the
// gate has them: the roles it names as owners, grantees, grantors and policies' roles (a server of
// the run's own makes them first, without login, so that ownership and privileges restore as on the
// server the dump came from), and the extensions it creates (which that server must have).

import { isSymbol, isWord } from '../plain/tokens.js'
import type { StatementToken } from './vocabulary.js'

/** Words where a role name may stand that name no role of the dump's. */
const NOT_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role', 'group', 'role', 'user'])

/** Where role names follow, by the statement's first word: the keywords before them. */
const AFTER: Record<string, string[][]> = {
  alter: [['owner', 'to'], ['for', 'role'], ['for', 'user'], ['to'], ['from']],
  grant: [['to'], ['granted', 'by']],
  revoke: [['from'], ['granted', 'by']],
  set: [['session', 'authorization']],
  create: [['authorization'], ['to'], ['mapping', 'for']]
}

/** The role names (as the dump's bytes read, latin1) a statement names; none for most statements. */
export function rolesNamed(head: StatementToken[]): string[] {
  const first = head[0]
  const patterns = first?.kind === 'word' ? AFTER[first.text] : undefined
  if (!patterns) return []
  // ALTER ... TO and FROM: only in ALTER DEFAULT PRIVILEGES ... GRANT/REVOKE and ALTER POLICY ... TO.
  const alterPrivileges = first.text === 'alter' && (isWord(head[1], 'default') || isWord(head[1], 'policy'))
  // CREATE ... TO: a policy's roles; AUTHORIZATION: a schema's owner; MAPPING FOR: a user mapping's user.
  const roles: string[] = []
  let depth = 0
  for (let i = 1; i < head.length; i++) {
    const token = head[i]
    if (isSymbol(token, '(')) depth++
    else if (isSymbol(token, ')')) depth = Math.max(0, depth - 1)
    if (depth > 0 || token.kind !== 'word') continue
    for (const keywords of patterns) {
      if (first.text === 'alter' && (keywords[0] === 'to' || keywords[0] === 'from') && !alterPrivileges) continue
      if (first.text === 'create' && keywords[0] === 'to' && !isWord(head[1], 'policy')) continue
      if (!keywords.every((word, k) => isWord(head[i + k], word))) continue
      i = readList(head, i + keywords.length, roles)
      break
    }
  }
  return roles
}

/** Role names separated by commas from `at` on (GROUP before one skipped); the index of the last one read. */
function readList(head: StatementToken[], at: number, into: string[]): number {
  let i = at
  for (;;) {
    if (isWord(head[i], 'group')) i++
    const token = head[i]
    // SET SESSION AUTHORIZATION takes the name as a string literal, as pg_dump writes it (the gate has its content).
    if (token?.kind === 'string') into.push(token.text)
    else if (!token || (token.kind !== 'word' && token.kind !== 'quoted')) return i - 1
    else if (token.kind === 'quoted' || !NOT_ROLES.has(token.text)) into.push(token.text)
    if (!isSymbol(head[i + 1], ',')) return i
    i += 2
  }
}

/** CREATE EXTENSION [IF NOT EXISTS] name: the extension's name (as the dump's bytes read). */
export function extensionCreated(head: StatementToken[]): string | undefined {
  if (!isWord(head[0], 'create') || !isWord(head[1], 'extension')) return undefined
  const at = isWord(head[2], 'if') && isWord(head[3], 'not') && isWord(head[4], 'exists') ? 5 : 2
  const name = head[at]
  return name && (name.kind === 'word' || name.kind === 'quoted') ? name.text : undefined
}
