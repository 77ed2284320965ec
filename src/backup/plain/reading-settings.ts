// Session settings that change how psql reads the bytes after them: a client encoding whose
// multibyte characters can hold ASCII bytes (a backslash, a quote), and standard_conforming_strings.

/** Client encodings whose multibyte characters can hold ASCII bytes (a backslash, say). */
const UNSAFE_ENCODINGS: Record<string, string> = {
  sjis: 'sjis',
  shiftjis: 'sjis',
  mskanji: 'sjis',
  shiftjis2004: 'sjis',
  big5: 'big5',
  gbk: 'big5',
  uhc: 'big5',
  gb18030: 'gb18030',
  johab: 'johab',
  // PostgreSQL's other names for the same encodings.
  win932: 'sjis',
  windows932: 'sjis',
  win936: 'big5',
  windows936: 'big5',
  win949: 'big5',
  windows949: 'big5',
  win950: 'big5',
  windows950: 'big5'
}

/** How many bytes the character that starts with `lead` takes in an unsafe encoding. */
export function characterLength(encoding: string, lead: number, next: number): number {
  switch (encoding) {
    case 'sjis':
      return (lead >= 0x81 && lead <= 0x9f) || (lead >= 0xe0 && lead <= 0xfc) ? 2 : 1
    case 'gb18030':
      return lead >= 0x81 && lead <= 0xfe ? (next >= 0x30 && next <= 0x39 ? 4 : 2) : 1
    case 'johab':
      return (lead >= 0x84 && lead <= 0xd3) || (lead >= 0xd8 && lead <= 0xde) || (lead >= 0xe0 && lead <= 0xf9) ? 2 : 1
    default:
      return lead >= 0x81 && lead <= 0xfe ? 2 : 1
  }
}

/**
 * How a statement changes psql's reading of what follows, in the forms followed here: the client
 * encoding (its class: '' for one whose bytes of a character are never ASCII) or
 * standard_conforming_strings. Undefined for any other statement.
 */
export function readingSetting(text: string): { encoding?: string; standardStrings?: boolean } | undefined {
  if (text.length > 200 || !/^set\s/i.test(text)) return undefined
  const encoding = /^SET\s+client_encoding\s*(?:=|TO)\s*'([^']*)'\s*;$/i.exec(text)
  if (encoding) return { encoding: unsafeEncoding(encoding[1]) }
  const strings = /^SET\s+standard_conforming_strings\s*(?:=|TO)\s*'?(on|off|true|false)'?\s*;$/i.exec(text)
  if (strings) return { standardStrings: /^(on|true)$/i.test(strings[1]) }
  return undefined
}

/** The class of a client encoding whose multibyte characters can hold ASCII bytes, or '' for any other. */
export function unsafeEncoding(name: string): string {
  return UNSAFE_ENCODINGS[name.toLowerCase().replace(/[^a-z0-9]/g, '')] ?? ''
}
