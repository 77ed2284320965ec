// Lets a plain dump from a newer pg_dump restore into an older server: pg_dump writes settings at
// the top of the dump that an older server rejects (pg_dump 17+ sets transaction_timeout).

import { Transform, type TransformCallback } from 'node:stream'

/** Settings pg_dump writes, with the first server major that knows them. */
const SETTINGS_SINCE: Record<string, number> = { transaction_timeout: 17 }

const PREAMBLE = /^(--[^\n]*|\s*|SET [^\n]*;\s*|SELECT pg_catalog\.set_config\([^\n]*;\s*|\\restrict [^\n]*)\n$/

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

  constructor(private readonly settings: string[]) {
    super()
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
    // Only the preamble is edited: comments, \restrict, SET and set_config lines before the first
    // statement. Table data further down may hold the same text and is never touched.
    const kept: Buffer[] = []
    let position = 0
    while (position < whole.length) {
      const newline = whole.indexOf(10, position)
      if (newline === -1) break
      const line = whole.subarray(position, newline + 1).toString('latin1')
      if (!PREAMBLE.test(line)) break
      const setting = /^SET (\w+) = /.exec(line)?.[1]
      if (setting && this.settings.includes(setting)) this.removed.push(line.trim())
      else kept.push(whole.subarray(position, newline + 1))
      position = newline + 1
    }
    kept.push(whole.subarray(position))
    return Buffer.concat(kept)
  }
}
