// The user's own password file (PGPASSFILE, else ~/.pgpass), read as libpq reads it, for a server
// whose URL names no password: the driver finds it there by itself, and the tools, which never see
// the user's PGPASSFILE (environment.ts), must get the same password through the run's own file.

import { readFile, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ConnectionTarget } from './target.js'

/** Socket folders libpq's builds use by default: a connection there matches a "localhost" line. */
const DEFAULT_SOCKET_DIRECTORIES = new Set(['/tmp', '/var/run/postgresql', '/run/postgresql'])

/** A line's fields: ":" separates them, a backslash escapes the next character; the last takes the rest. */
function fields(line: string): string[] {
  const found: string[] = []
  let current = ''
  for (let i = 0; i < line.length; i++) {
    const character = line[i]
    if (character === '\\' && i + 1 < line.length) current += line[++i]
    else if (character === ':' && found.length < 4) {
      found.push(current)
      current = ''
    } else current += character
  }
  found.push(current)
  return found
}

/** The password of the first line that matches host, port, database and user ("*" matches anything), as libpq chooses. */
export function passwordFileEntry(text: string, target: Pick<ConnectionTarget, 'host' | 'port' | 'database' | 'user'>): string | undefined {
  const socket = target.host.startsWith('/')
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const [host, port, database, user, password] = fields(line)
    if (password === undefined) continue
    const hostMatches =
      host === '*' ||
      host === target.host ||
      (host === 'localhost' && socket && DEFAULT_SOCKET_DIRECTORIES.has(target.host.replace(/\/+$/, '')))
    if (hostMatches && (port === '*' || port === String(target.port))) {
      if ((database === '*' || database === target.database) && (user === '*' || user === target.user)) return password
    }
  }
  return undefined
}

/**
 * The password the user's password file holds for the target, when its URL names none. As libpq:
 * a file others may read or write is ignored (warn says so), and a missing one is no error.
 */
export async function passwordFromUserFile(
  target: ConnectionTarget,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void
): Promise<string | undefined> {
  const home = env.HOME || os.homedir()
  const file = env.PGPASSFILE || (home ? path.join(home, '.pgpass') : '')
  if (!file) return undefined
  let mode: number
  try {
    const info = await stat(file)
    if (!info.isFile()) return undefined
    mode = info.mode
  } catch {
    return undefined
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warn(`The password file ${file} is ignored, as libpq ignores it: others may read it. Make it private: chmod 600 ${file}`)
    return undefined
  }
  return passwordFileEntry(await readFile(file, 'utf8'), target)
}
