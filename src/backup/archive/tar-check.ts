// Checks the structure of a tar archive as it streams, in constant memory: every header's checksum,
// every member's size, and the two zero blocks that end an archive. pg_restore can spin forever on
// a truncated tar archive, so this runs before pg_restore ever sees it.

export interface TarReport {
  members: string[]
  /** Undefined when the archive is well formed. */
  problem?: string
}

const BLOCK = 512
const MAX_LISTED = 10_000

export class TarChecker {
  private pending = Buffer.alloc(0)
  private offset = 0
  /** Bytes of member data (with padding) still to skip. */
  private skip = 0
  private zeroBlocks = 0
  private ended = false
  private problem?: string
  private readonly members: string[] = []

  update(chunk: Buffer): void {
    if (this.problem || this.ended) {
      this.offset += chunk.length
      if (this.ended && !this.problem && chunk.some((b) => b !== 0)) this.problem = 'data after the end-of-archive blocks'
      return
    }
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    while (data.length > 0 && !this.problem && !this.ended) {
      if (this.skip > 0) {
        const taken = Math.min(this.skip, data.length)
        this.skip -= taken
        this.offset += taken
        data = data.subarray(taken)
        continue
      }
      if (data.length < BLOCK) {
        this.pending = Buffer.from(data)
        return
      }
      this.header(data.subarray(0, BLOCK))
      this.offset += BLOCK
      data = data.subarray(BLOCK)
    }
    if (this.ended && data.some((b) => b !== 0)) this.problem = 'data after the end-of-archive blocks'
    this.offset += this.ended ? data.length : 0
  }

  finish(): TarReport {
    if (!this.problem) {
      if (this.skip > 0) this.problem = `cut short inside member "${this.members[this.members.length - 1]}" (${this.skip} bytes missing)`
      else if (this.pending.length > 0) this.problem = `cut short: ${this.pending.length} stray bytes at offset ${this.offset}`
      else if (!this.ended)
        this.problem = this.members.length === 0 ? 'no tar members at all' : 'no end-of-archive blocks: the archive is truncated'
    }
    return { members: this.members, problem: this.problem }
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.zeroBlocks++
      if (this.zeroBlocks === 2) this.ended = true
      return
    }
    if (this.zeroBlocks > 0) {
      this.problem = `a lone zero block at offset ${this.offset - BLOCK}`
      return
    }
    const stored = parseOctal(block.subarray(148, 156))
    let sum = 0
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]
    const name = block.toString('utf8', 0, 100).replace(/\0.*$/s, '')
    if (stored === undefined || stored !== sum) {
      this.problem = `bad header checksum at offset ${this.offset}${name ? ` ("${name.slice(0, 60)}")` : ''}: the archive is corrupt`
      return
    }
    const size = parseOctal(block.subarray(124, 136))
    if (size === undefined) {
      this.problem = `unreadable member size at offset ${this.offset}`
      return
    }
    if (this.members.length < MAX_LISTED) this.members.push(name)
    this.skip = Math.ceil(size / BLOCK) * BLOCK
  }
}

function parseOctal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .trim()
  if (!/^[0-7]+$/.test(text)) return undefined
  return parseInt(text, 8)
}
