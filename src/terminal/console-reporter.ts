// The engine's Reporter in a terminal: plain lines, sections as headings, secrets redacted.

import type { Reporter } from '../run/context.js'
import type { Redactor } from '../run/secrets.js'

export function consoleReporter(redactor: Redactor, out = process.stdout, err = process.stderr): Reporter {
  return {
    info: (message) => void out.write(`${redactor.redact(message)}\n`),
    warning: (message) => void err.write(`warning: ${redactor.redact(message)}\n`),
    notice: (message) => void out.write(`${redactor.redact(message)}\n`),
    async group(name, fn) {
      out.write(`\n== ${name}\n`)
      return fn()
    },
    mask: (secret) => redactor.add(secret)
  }
}
