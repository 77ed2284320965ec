// One pass over the backup's bytes as they stream to disk: size, SHA-256 and the format scan together.

import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { PlainDumpScanner, type PlainScanReport } from './plain-scanner.js'

export interface Inspection {
  sizeBytes: number
  sha256: string
  scan: PlainScanReport
}

/** A pass-through stream that inspects every byte it forwards. */
export class InspectingStream extends Transform {
  private readonly hash: Hash = createHash('sha256')
  private readonly scanner = new PlainDumpScanner()
  private size = 0
  private inspection?: Inspection

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.scanner.update(chunk)
    this.size += chunk.length
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    this.inspection = { sizeBytes: this.size, sha256: this.hash.digest('hex'), scan: this.scanner.finish() }
    callback()
  }

  get bytesSoFar(): number {
    return this.size
  }

  /** Available once the stream has ended. */
  result(): Inspection {
    if (!this.inspection) throw new Error('the backup stream has not ended')
    return this.inspection
  }
}

/** A pass-through stream that only hashes: the restore proves it fed psql the validated bytes. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256')

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    callback(null, chunk)
  }

  /** The hex SHA-256 of everything that passed; call once, after the stream ended. */
  digest(): string {
    return this.hash.digest('hex')
  }
}
