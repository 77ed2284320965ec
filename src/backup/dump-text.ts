// A dump's text as the lexer keeps it (one char a byte) turned into what a person reads: decoded
// from the dump's client encoding.

/** WHATWG names of the client encodings a dump's names are decoded from (any other: UTF-8). */
const DECODERS: Record<string, string> = {
  latin1: 'iso-8859-1',
  latin2: 'iso-8859-2',
  latin3: 'iso-8859-3',
  latin4: 'iso-8859-4',
  latin5: 'iso-8859-9',
  latin6: 'iso-8859-10',
  latin7: 'iso-8859-13',
  latin8: 'iso-8859-14',
  latin9: 'iso-8859-15',
  latin10: 'iso-8859-16',
  iso88595: 'iso-8859-5',
  iso88596: 'iso-8859-6',
  iso88597: 'iso-8859-7',
  iso88598: 'iso-8859-8',
  win1250: 'windows-1250',
  win1251: 'windows-1251',
  win1252: 'windows-1252',
  win1253: 'windows-1253',
  win1254: 'windows-1254',
  win1255: 'windows-1255',
  win1256: 'windows-1256',
  win1257: 'windows-1257',
  win1258: 'windows-1258',
  win866: 'ibm866',
  koi8r: 'koi8-r',
  koi8u: 'koi8-u',
  eucjp: 'euc-jp',
  euckr: 'euc-kr',
  euccn: 'gbk',
  sjis: 'shift_jis',
  big5: 'big5',
  gbk: 'gbk',
  gb18030: 'gb18030'
}

/** Text the lexer kept (a char a byte), decoded from the dump's client encoding. */
export function decodeDumpText(text: string, clientEncoding: string): string {
  const label = DECODERS[clientEncoding.toLowerCase().replace(/[^a-z0-9]/g, '')]
  const bytes = Buffer.from(text, 'latin1')
  if (!label) return bytes.toString('utf8')
  try {
    return new TextDecoder(label).decode(bytes)
  } catch {
    return bytes.toString('utf8')
  }
}
