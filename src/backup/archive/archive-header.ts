// Reads the "PGDMP" header that custom archives, and the toc.dat of directory and tar archives,
// begin with: archive version, integer and offset sizes, format, compression, and who wrote it.

export interface ArchiveHeader {
  /** e.g. "1.14.0" */
  archiveVersion: string
  intSize: number
  offSize: number
  format: 'custom' | 'tar' | 'directory' | 'unknown'
  compression: string
  created?: string
  database?: string
  serverVersion?: string
  dumpVersion?: string
}

const FORMAT_CODES: Record<number, ArchiveHeader['format']> = { 1: 'custom', 3: 'tar', 5: 'directory' }
const ALGORITHMS: Record<number, string> = { 0: 'none', 1: 'gzip', 2: 'lz4', 3: 'zstd' }

/** Explains why the bytes are not a readable archive header, or returns the header. */
export function parseArchiveHeader(bytes: Buffer): ArchiveHeader | { problem: string } {
  if (bytes.length < 5 || bytes.toString('latin1', 0, 5) !== 'PGDMP') {
    return { problem: bytes.length === 0 ? 'the file is empty' : 'no "PGDMP" signature at the start: not a pg_dump archive' }
  }
  let at = 5
  const byte = () => {
    if (at >= bytes.length) throw new RangeError('header cut short')
    return bytes[at++]
  }
  try {
    const [major, minor, revision] = [byte(), byte(), byte()]
    const versionNumber = major * 10000 + minor * 100 + revision
    const intSize = byte()
    const offSize = byte()
    if (major !== 1 || minor < 10 || minor > 30) return { problem: `unknown archive version ${major}.${minor}.${revision}` }
    if (![4, 8].includes(intSize) || ![4, 8].includes(offSize))
      return { problem: `implausible integer/offset sizes ${intSize}/${offSize}: the header is damaged` }
    const readInt = () => {
      const negative = byte() !== 0
      let value = 0
      for (let i = 0; i < intSize; i++) value += byte() * 2 ** (8 * i)
      return negative ? -value : value
    }
    const readString = () => {
      const length = readInt()
      if (length < 0) return undefined
      if (length > 1024 || at + length > bytes.length) throw new RangeError('string out of range')
      const text = bytes.toString('utf8', at, at + length)
      at += length
      return text
    }
    const formatCode = byte()
    let compression: string
    if (versionNumber >= 11500) compression = ALGORITHMS[byte()] ?? 'unknown'
    else {
      const level = readInt()
      compression = level === 0 ? 'none' : level === -1 ? 'gzip (default level)' : `gzip level ${level}`
    }
    const [second, minute, hour, day, month, year] = [readInt(), readInt(), readInt(), readInt(), readInt(), readInt()]
    readInt() // daylight saving flag
    const pad = (n: number) => String(n).padStart(2, '0')
    const created = `${year + 1900}-${pad(month + 1)}-${pad(day)} ${pad(hour)}:${pad(minute)}:${pad(second)}`
    const database = readString()
    const serverVersion = readString()
    const dumpVersion = readString()
    return {
      archiveVersion: `${major}.${minor}.${revision}`,
      intSize,
      offSize,
      format: FORMAT_CODES[formatCode] ?? 'unknown',
      compression,
      created,
      database,
      serverVersion,
      dumpVersion
    }
  } catch {
    return { problem: 'the header is cut short or damaged' }
  }
}
