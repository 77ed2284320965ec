// Lets a plain dump from a newer pg_dump restore into an older server: pg_dump writes settings at
// the top of the dump that an older server rejects (pg_dump 17+ sets transaction_timeout).

import { Transform, type TransformCallback } from 'node:stream'

/** Settings pg_dump writes, with the first server major that knows them. */
export const SETTINGS_SINCE: Record<string, number> = { transaction_timeout: 17 }

/** pg_dump writes its SET lines in the first lines of a plain dump; only that much is examined. */
const HEAD_BYTES = 64 * 1024

export function unknownSettings(serverMajor: number): string[] {
  return Object.entries(SETTINGS_SINCE)
    .filter(([, since]) => serverMajor < since)
    .map(([name]) => name)
}

/** Drops "SET <name> = ...;" lines for the given settings from the head of a plain dump; passes the rest untouched. */
export class SettingsFilter extends Transform {
  private head: Buffer[] = []
  private headLength = 0
  private passing = false
  readonly removed: string[] = []
  private readonly pattern: RegExp

  constructor(settings: string[]) {
    super()
    this.pattern = new RegExp(`^SET (${settings.map((s) => s.replace(/\W/g, '')).join('|')}) = [^\\n]*;\\r?\\n`, 'gm')
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.passing) return callback(null, chunk)
    this.head.push(chunk)
    this.headLength += chunk.length
    if (this.headLength < HEAD_BYTES) return callback()
    callback(null, this.releaseHead())
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.passing ? undefined : this.releaseHead())
  }

  private releaseHead(): Buffer {
    this.passing = true
    const whole = Buffer.concat(this.head)
    this.head = []
    // Cut at the last complete line of the head, so a SET line is never split between the parts.
    const cut = Math.min(whole.length, HEAD_BYTES)
    const lastNewline = whole.lastIndexOf(10, cut - 1)
    const end = lastNewline === -1 ? 0 : lastNewline + 1
    const text = whole.subarray(0, end).toString('latin1')
    const kept = text.replace(this.pattern, (line) => {
      this.removed.push(line.trim())
      return ''
    })
    return Buffer.concat([Buffer.from(kept, 'latin1'), whole.subarray(end)])
  }
}
