// Every text that leaves the engine (errors, tool output, log lines) passes through one Redactor.

const MASK = '***'

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
    const written = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^@/?#]*)@/i.exec(rawUrl)?.[1]
    if (written) forms.add(written)
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
    return result
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s]*@/gi, `$1${MASK}@`)
      .replace(/\b(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, `$1${MASK}`)
  }

  redactError(error: unknown): string {
    return this.redact(error instanceof Error ? error.message : String(error))
  }
}
