// psql meta-commands in a dump: the few pg_dump writes (\connect to the database a --create dump
// makes, \restrict and \unrestrict around the dump, \encoding before a \connect to a name that needs
// it), and every other one, which would act on the runner that psql runs on.

export type MetaJudgement =
  { kind: 'restrict' | 'unrestrict' } | { kind: 'connect'; database: string } | { kind: 'encoding' } | { kind: 'refuse'; reason: string }

/** What each meta-command pg_dump never writes would do, in the user's words. */
const REASONS: Array<[RegExp, string]> = [
  [/^!$/, 'runs a shell command on the runner'],
  [/^(o|out|w|write)$/, 'writes to a file or a program on the runner'],
  [
    /^(g|gx|gexec|gset|gdesc|bind|bind_named|crosstabview|watch)$/,
    'runs a query in a way pg_dump never writes (its result run as statements, or kept)'
  ],
  [/^(copy)$/, 'reads or writes a file (or runs a program) on the runner'],
  [/^(i|ir|include|include_relative)$/, 'reads and runs another file of the runner'],
  [/^(lo_import|lo_export)$/, 'moves a large object from or to a file of the runner'],
  [/^(setenv|set|unset|cd|pset|getenv)$/, "changes psql's own state on the runner"],
  [/^(c)$/, 'connects elsewhere'],
  [/^\.$/, 'ends COPY data where no COPY is open']
]

/** Judges one meta-command line (as the dump holds it, without its line end). */
export function judgeMeta(line: string): MetaJudgement {
  const match = /^\s*\\(\S*?)(?:\s+(.*))?$/.exec(line)
  const command = match?.[1] ?? ''
  const args = match?.[2] ?? ''
  // pg_dump's own, exactly: psql would run another meta-command written after them on the line.
  if (command === 'restrict' || command === 'unrestrict') {
    if (/^[A-Za-z0-9]+$/.test(args.trim())) return { kind: command }
    return { kind: 'refuse', reason: `\\${command} with more than a key after it` }
  }
  if (command === 'encoding') {
    if (/^[A-Za-z0-9_]+$/.test(args.trim())) return { kind: 'encoding' }
    return { kind: 'refuse', reason: '\\encoding with more than an encoding after it' }
  }
  if (command === 'connect' || command === 'c') {
    const database = connectTarget(args)
    if (database !== undefined) return { kind: 'connect', database }
    return { kind: 'refuse', reason: 'connects to another server, or as another role' }
  }
  const reason = REASONS.find(([pattern]) => pattern.test(command))?.[1] ?? 'a psql meta-command pg_dump never writes'
  return { kind: 'refuse', reason }
}

/** The database a \connect names, when it names a database alone (no host, port or user); else undefined. */
export function connectTarget(args: string): string | undefined {
  const words = splitArguments(args)
  if (!words) return undefined
  let rest = words
  if (rest[0] && /^-reuse-previous=(on|off|true|false|yes|no|1|0)$/i.test(rest[0].text) && !rest[0].quoted) rest = rest.slice(1)
  if (rest.length !== 1) return undefined
  const [word] = rest
  if (!word.quoted && (word.text === '-' || /:/.test(word.text))) return undefined
  if (/^postgres(ql)?:\/\//i.test(word.text)) return undefined
  if (!word.text.includes('=')) return word.text
  // A connection string (pg_dump writes one for a name with characters a bare word cannot hold): dbname= only.
  const pairs = connectionPairs(word.text)
  if (!pairs || pairs.length !== 1 || pairs[0][0] !== 'dbname') return undefined
  return pairs[0][1]
}

/** psql's reading of a meta-command's arguments: blanks between, "double" quotes (doubled inside) and 'single' quotes. */
function splitArguments(args: string): Array<{ text: string; quoted: boolean }> | undefined {
  const words: Array<{ text: string; quoted: boolean }> = []
  let i = 0
  while (i < args.length) {
    while (i < args.length && /\s/.test(args[i])) i++
    if (i >= args.length) break
    let text = ''
    let quoted = false
    while (i < args.length && !/\s/.test(args[i])) {
      const c = args[i]
      if (c === '"' || c === "'") {
        quoted = true
        const close = c
        i++
        for (;;) {
          if (i >= args.length) return undefined
          if (args[i] === close) {
            if (args[i + 1] === close) {
              text += close
              i += 2
              continue
            }
            i++
            break
          }
          // psql reads backslash escapes inside single quotes: nothing pg_dump writes needs one.
          if (close === "'" && args[i] === '\\') return undefined
          text += args[i++]
        }
      } else {
        text += c
        i++
      }
    }
    words.push({ text, quoted })
  }
  return words
}

/** libpq's key=value pairs: values bare or in single quotes with \' and \\ escapes. */
function connectionPairs(text: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++
    if (i >= text.length) break
    const key = /^[a-z_]+/i.exec(text.slice(i))?.[0]
    if (!key) return undefined
    i += key.length
    while (text[i] === ' ') i++
    if (text[i] !== '=') return undefined
    i++
    while (text[i] === ' ') i++
    let value = ''
    if (text[i] === "'") {
      for (i++; ; i++) {
        if (i >= text.length) return undefined
        if (text[i] === '\\') value += text[++i] ?? ''
        else if (text[i] === "'") break
        else value += text[i]
      }
      i++
    } else {
      while (i < text.length && !/\s/.test(text[i])) {
        if (text[i] === '\\') i++
        if (i < text.length) value += text[i++]
      }
    }
    pairs.push([key.toLowerCase(), value])
  }
  return pairs
}
