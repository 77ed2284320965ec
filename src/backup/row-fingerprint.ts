// The content of a table as a fingerprint of its COPY text lines: the count of lines and the sum,
// modulo 2^64, of a 64-bit hash of each line. Sums ignore order and count duplicates; the same
// fingerprint is taken of the rows pg_dump wrote and of the rows read back out of the restore.
//
// The line hash is MurmurHash3_x86_128 (seed 0), its first 64 bits: a published, well-tested hash,
// fast in JavaScript's 32-bit arithmetic (1.5 to 2.5 GB/s here). A changed row goes unnoticed only
// when two 64-bit hashes meet by chance (2^-64); making rows that collide takes deliberate work
// against a known, unkeyed function, which is not what a backup suffers.

const C1 = 0x239b961b
const C2 = 0xab0e9789
const C3 = 0x38b34ae5
const C4 = 0xa1e38b93

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** MurmurHash3_x86_128 of bytes[start, end) into out as four 32-bit words (h1..h4, unsigned). */
export function murmur3x86_128(bytes: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): void {
  hashRange(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, start, end, seed, out)
}

/**
 * MurmurHash3_x86_128 of bytes[start, end), where view covers the same memory as bytes: its
 * little-endian words are read through the view (about twice as fast as assembling them from bytes).
 */
function hashRange(view: DataView, bytes: Uint8Array, start: number, end: number, seed: number, out: Uint32Array): void {
  let h1 = seed | 0
  let h2 = seed | 0
  let h3 = seed | 0
  let h4 = seed | 0
  const length = end - start
  const blocksEnd = start + (length & ~15)
  let i = start
  for (; i < blocksEnd; i += 16) {
    let k1 = view.getInt32(i, true)
    let k2 = view.getInt32(i + 4, true)
    let k3 = view.getInt32(i + 8, true)
    let k4 = view.getInt32(i + 12, true)
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2)
    h1 ^= k1
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3)
    h2 ^= k2
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4)
    h3 ^= k3
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1)
    h4 ^= k4
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0
  }
  const tail = end - i
  if (tail > 0) {
    // The last 1 to 15 bytes, little-endian into up to four words.
    let k1 = 0
    let k2 = 0
    let k3 = 0
    let k4 = 0
    for (let t = tail - 1; t >= 0; t--) {
      const b = bytes[i + t]
      if (t >= 12) k4 = (k4 << 8) | b
      else if (t >= 8) k3 = (k3 << 8) | b
      else if (t >= 4) k2 = (k2 << 8) | b
      else k1 = (k1 << 8) | b
    }
    if (tail > 12) h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1)
    if (tail > 8) h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4)
    if (tail > 4) h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3)
    h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2)
  }
  h1 ^= length
  h2 ^= length
  h3 ^= length
  h4 ^= length
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  h1 = fmix(h1)
  h2 = fmix(h2)
  h3 = fmix(h3)
  h4 = fmix(h4)
  h1 = (h1 + h2 + h3 + h4) | 0
  h2 = (h2 + h1) | 0
  h3 = (h3 + h1) | 0
  h4 = (h4 + h1) | 0
  out[0] = h1
  out[1] = h2
  out[2] = h3
  out[3] = h4
}

const TWO_32 = 4294967296
/** One line's hash, read as soon as it is made: one for every fingerprint (a dump may have tens of thousands of tables). */
const LINE_HASH = new Uint32Array(4)
const NL = 10
const CR = 13

/** The fingerprint of a multiset of rows, added a line at a time or a buffer of whole lines at a time. */
export class RowFingerprint {
  rows = 0
  private low = 0
  private high = 0

  /**
   * Whole lines, each ending in a line feed (a carriage return before it is not part of the row:
   * COPY text never ends a row with one, and psql on Windows may add it).
   */
  addLines(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let from = start
    while (from < end) {
      let newline = bytes.indexOf(NL, from)
      if (newline === -1 || newline >= end) newline = end
      this.add(view, bytes, from, newline > from && bytes[newline - 1] === CR ? newline - 1 : newline)
      from = newline + 1
    }
  }

  /**
   * One line as a COPY message of the protocol carries a row: its bytes and its line end. A line
   * feed can only end a row (COPY text escapes it inside values), so a message that is not one
   * line is read as lines.
   */
  addLine(bytes: Uint8Array): void {
    this.addLineAt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, 0, bytes.length)
  }

  /** The line bytes[start, end), its line end included, as addLine reads it; view covers the same memory as bytes. */
  addLineAt(view: DataView, bytes: Uint8Array, start: number, end: number): void {
    let last = end - 1
    if (last < start || bytes[last] !== NL || bytes.indexOf(NL, start) !== last) return this.addLines(bytes, start, end)
    if (last > start && bytes[last - 1] === CR) last--
    this.add(view, bytes, start, last)
  }

  private add(view: DataView, bytes: Uint8Array, start: number, end: number): void {
    hashRange(view, bytes, start, end, 0, LINE_HASH)
    this.low += LINE_HASH[0]
    if (this.low >= TWO_32) {
      this.low -= TWO_32
      this.high++
    }
    this.high = (this.high + LINE_HASH[1]) >>> 0
    this.rows++
  }

  /** Another fingerprint's rows added to these (the parts of one table, dumped in several blocks). */
  merge(other: RowFingerprint): void {
    this.rows += other.rows
    this.low += other.low
    if (this.low >= TWO_32) {
      this.low -= TWO_32
      this.high++
    }
    this.high = (this.high + other.high) >>> 0
  }

  /** "copy:" and the 64-bit sum in hex: the rows count separately. */
  toString(): string {
    return `copy:${this.high.toString(16).padStart(8, '0')}${this.low.toString(16).padStart(8, '0')}`
  }
}

/** The fingerprint of the rows of several parts of one table ("copy:" fingerprints): the 64-bit sum of theirs. */
export function sumFingerprints(fingerprints: string[]): string {
  let sum = 0n
  for (const fingerprint of fingerprints) sum = (sum + BigInt(`0x${fingerprint.slice('copy:'.length)}`)) & 0xffffffffffffffffn
  return `copy:${sum.toString(16).padStart(16, '0')}`
}
