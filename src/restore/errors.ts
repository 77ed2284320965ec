// Sorts the errors a restore reports: some are expected when a backup is restored elsewhere or by
// another user (a role that does not exist there, an object the template already has), and are
// counted and shown; any other error fails the restore. With strict, every error does.

export interface RestoreErrors {
  harmless: Map<string, number>
  fatal: string[]
  total: number
}

/** Patterns of errors that leave the restored data and schema whole. */
const HARMLESS: Array<[RegExp, string]> = [
  [/role "[^"]+" does not exist/, 'a role the dump names does not exist (ownership or privileges not restored)'],
  [/schema "public" already exists/, 'schema "public" already exists'],
  [/must be owner of extension/, 'comment on an extension owned by another role'],
  [/must be owner of schema public/, 'ownership of schema public'],
  [/extension "plpgsql" already exists/, 'extension plpgsql already exists']
]

const MAX_KEPT = 50

export class RestoreErrorSorter {
  private readonly errors: RestoreErrors = { harmless: new Map(), fatal: [], total: 0 }

  /** Feed every line of psql's or pg_restore's stderr. */
  line(text: string): void {
    const at = text.indexOf('ERROR:')
    if (at === -1) return
    const message = text.slice(at + 'ERROR:'.length).trim()
    this.errors.total++
    const known = HARMLESS.find(([pattern]) => pattern.test(message))
    if (known) this.errors.harmless.set(known[1], (this.errors.harmless.get(known[1]) ?? 0) + 1)
    else if (this.errors.fatal.length < MAX_KEPT) this.errors.fatal.push(message)
  }

  result(): RestoreErrors {
    return this.errors
  }
}

export function describeHarmless(errors: RestoreErrors): string {
  return [...errors.harmless].map(([what, count]) => `${what} (${count}x)`).join('; ')
}
