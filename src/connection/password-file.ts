// The user's own password file (PGPASSFILE, else ~/.pgpass), read as libpq reads it, for a server
// whose URL names no password: the driver finds it there by itself, and the tools, which never see
// the user's PGPASSFILE (environment.ts), must get the same password through the run's own file.

import { readFile, stat } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ConnectionTarget } from './target.js'

/** Socket folders libpq's builds use by default: a connection there matches a "localhost" line. */
const DEFAULT_SOCKET_DIRECTORIES = new Set(['/tmp', '/var/run/postgresql', '/run/postgresql'])

/** A field of a line: its text with escapes taken out, and whether it is the wildcard (a bare "*"; an escaped one is a star). */
interface Field {
  text: string
  any: boolean
}

/**
 * A line's fields as libpq reads them: ":" separates them and a backslash escapes the next character;
 * the password is the fifth, up to its first unescaped ":".
 */
function fields(line: string): Field[] {
  const found: Field[] = []
  let text = ''
  let raw = ''
  for (let i = 0; i < line.length; i++) {
    const character = line[i]
    if (character === '\\' && i + 1 < line.length) {
      text += line[++i]
      raw += `\\${line[i]}`
    } else if (character === ':') {
      found.push({ text, any: raw === '*' })
      if (found.length === 5) return found
      text = ''
      raw = ''
    } else {
      text += character
      raw += character
    }
  }
  found.push({ text, any: raw === '*' })
  return found
}

/** The password of the first line that matches host, port, database and user ("*" matches anything), as libpq chooses. */
export function passwordFileEntry(text: string, target: Pick<ConnectionTarget, 'host' | 'port' | 'database' | 'user'>): string | undefined {
  const socket = target.host.startsWith('/')
  const matches = (field: Field, value: string) => field.any || field.text === value
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const [host, port, database, user, password] = fields(line)
    if (password === undefined) continue
    const hostMatches =
      matches(host, target.host) || (host.text === 'localhost' && socket && DEFAULT_SOCKET_DIRECTORIES.has(target.host.replace(/\/+$/, '')))
    if (hostMatches && matches(port, String(target.port)) && matches(database, target.database) && matches(user, target.user))
      return password.text
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
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    // libpq goes on without a file it cannot read: so does the run, saying why.
    warn(`The password file ${file} cannot be read, and is ignored: ${(error as Error).message}`)
    return undefined
  }
  return passwordFileEntry(text, target)
}
