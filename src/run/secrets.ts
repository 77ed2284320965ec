// Every text that leaves the engine (errors, tool output, log lines) passes through one Redactor.

const MASK = '***'

/**
 * The pairs of a libpq key=value connection string ("host=db password='it\\'s'"), values unquoted;
 * undefined when the text is not one.
 */
export function parseKeywordValue(text: string): Array<{ key: string; value: string; raw: string }> | undefined {
  const pairs: Array<{ key: string; value: string; raw: string }> = []
  const pattern = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)*)/y
  let at = 0
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break
    pattern.lastIndex = at
    const match = pattern.exec(text)
    if (!match) return undefined
    const raw = match[2]
    const quoted = raw.startsWith("'")
    const body = quoted ? raw.slice(1, raw.endsWith("'") && raw.length > 1 ? -1 : undefined) : raw
    pairs.push({ key: match[1].toLowerCase(), value: body.replace(/\\(.)/g, '$1'), raw })
    at = pattern.lastIndex
  }
  return pairs.length > 0 ? pairs : undefined
}

/** The password as written in a URL: everything between the user's ":" and the last "@" (an unencoded "@" included). */
export function writtenUrlPassword(rawUrl: string): string | undefined {
  const start = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:/i.exec(rawUrl)
  const at = rawUrl.lastIndexOf('@')
  if (!start || at < start[0].length) return undefined
  return rawUrl.slice(start[0].length, at)
}

/** The spellings under which a password may show up: raw, URL-encoded, and as written in the given URL. */
export function secretForms(password: string | undefined, rawUrl?: string): string[] {
  const forms = new Set<string>()
  if (password) {
    forms.add(password)
    forms.add(encodeURIComponent(password))
    forms.add(encodeURI(password))
    forms.add(encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()))
    forms.add(JSON.stringify(password).slice(1, -1))
  }
  if (rawUrl) {
    forms.add(rawUrl)
    const written = writtenUrlPassword(rawUrl)
    if (written) {
      forms.add(written)
      try {
        forms.add(decodeURIComponent(written))
      } catch {
        // Not percent-encoded as a whole: the written form is the one to hide.
      }
    }
    // A password in the query (?password=...), as written and decoded.
    const queried = /[?&]password=([^&#]*)/i.exec(rawUrl)?.[1]
    if (queried) {
      forms.add(queried)
      try {
        forms.add(decodeURIComponent(queried))
      } catch {
        // Not percent-encoded as a whole: the written form is the one to hide.
      }
    }
    // A key=value string: its password value, as written and unquoted.
    for (const pair of parseKeywordValue(rawUrl) ?? []) {
      if (pair.key === 'password') {
        forms.add(pair.value)
        forms.add(pair.raw)
      }
    }
  }
  forms.delete('')
  return [...forms]
}

export class Redactor {
  private secrets: string[] = []

  constructor(secrets: Iterable<string> = []) {
    this.add(...secrets)
  }

  add(...secrets: string[]): void {
    for (const secret of secrets) {
      if (secret && !this.secrets.includes(secret)) this.secrets.push(secret)
    }
    // Longest first, so a secret that contains another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length)
  }

  get known(): readonly string[] {
    return this.secrets
  }

  redact(text: string): string {
    let result = text
    for (const secret of this.secrets) result = result.split(secret).join(MASK)
    // Passwords we were never told about still hide in connection strings that tools echo back.
    return (
      result
        // (The placeholder of an example, user:password@, is no password: a real one is masked above.)
        .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)(\S*)@/gi, (match, start: string, secret: string) =>
          secret === 'password' ? match : `${start}${MASK}@`
        )
        .replace(/\b(password\s*=\s*)('(?:[^'\\]|\\.)*'?|"[^"]*"|(?:[^\s\\]|\\.)+)/gi, `$1${MASK}`)
    )
  }

  redactError(error: unknown): string {
    return this.redact(error instanceof Error ? error.message : String(error))
  }
}
