// The engine's Reporter in a terminal: plain lines, sections as headings, secrets redacted. On a
// terminal (not a pipe or a file), a long phase's progress is one line redrawn in place, which the
// next line of the log replaces.

import type { Reporter } from '../run/context.js'
import type { Redactor } from '../run/secrets.js'

export function consoleReporter(
  redactor: Redactor,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr
): Reporter {
  const terminal = out as { isTTY?: boolean; columns?: number }
  let live = false
  /** The line of each phase running now, in the order they started. */
  const phases = new Map<string, string>()
  /** Clears the live line before anything else is written. */
  const clear = () => {
    if (!live) return
    out.write('\r\u001b[K')
    live = false
  }
  return {
    info: (message) => {
      clear()
      out.write(`${redactor.redact(message)}\n`)
    },
    warning: (message) => {
      clear()
      err.write(`warning: ${redactor.redact(message)}\n`)
    },
    notice: (message) => {
      clear()
      out.write(`${redactor.redact(message)}\n`)
    },
    async group(name, fn) {
      clear()
      out.write(`\n== ${name}\n`)
      return fn()
    },
    mask: (secret) => redactor.add(secret),
    ...(terminal.isTTY
      ? {
          // A dump restored while pg_dump writes it has two phases at once: both on the one line.
          progress: (what: string, line: string) => {
            if (line === '') phases.delete(what)
            else phases.set(what, redactor.redact(line))
            clear()
            if (phases.size === 0) return
            out.write([...phases.values()].join('  |  ').slice(0, Math.max(20, (terminal.columns ?? 80) - 1)))
            live = true
          }
        }
      : {})
  }
}
