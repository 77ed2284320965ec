// One pass over a backup's bytes: size, SHA-256 and a format-specific observer (the plain-dump scan,
// the tar structure check, the archive header), while they stream to disk or from it.

import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { parseArchiveHeader, type ArchiveHeader } from './archive/archive-header.js'
import { READ_BYTES } from './file-hash.js'
import { PlainDumpScanner, type PlainScanReport, type ScanOptions } from './plain-scanner.js'
import { TarChecker, type TarReport } from './archive/tar-check.js'

/** Watches bytes go by and reports on them once they have all passed. */
export interface ByteObserver<R> {
  /** May return a promise to slow the stream down until the observer has caught up. */
  update(chunk: Buffer): void | Promise<void>
  finish(): Promise<R> | R
}

export interface Hashed<R> {
  sizeBytes: number
  sha256: string
  observed: R
}

/** A pass-through stream that hashes and observes every byte it forwards. */
export class InspectingStream<R> extends Transform {
  private readonly hash: Hash = createHash('sha256')
  private size = 0
  private outcome?: Hashed<R>

  constructor(private readonly observer: ByteObserver<R>) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    const waiting = this.observer.update(chunk)
    if (waiting) waiting.then(() => callback(null, chunk), callback)
    else callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    Promise.resolve(this.observer.finish()).then(
      (observed) => {
        this.outcome = { sizeBytes: this.size, sha256: this.hash.digest('hex'), observed }
        callback()
      },
      (error: Error) => callback(error)
    )
  }

  get bytesSoFar(): number {
    return this.size
  }

  /** Available once the stream has ended. */
  result(): Hashed<R> {
    if (!this.outcome) throw new Error('the backup stream has not ended')
    return this.outcome
  }
}

/** The end of a pipeline whose bytes are only inspected (they are on disk already). */
export function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() })
}

/** Reads a file once, hashing and observing it; the signal stops the read (the run's time limit). */
export async function inspectFile<R>(file: string, observer: ByteObserver<R>, signal?: AbortSignal): Promise<Hashed<R>> {
  const inspector = new InspectingStream(observer)
  await pipeline(createReadStream(file, { highWaterMark: READ_BYTES }), inspector, discard(), { signal })
  return inspector.result()
}

export type PlainObservation = PlainScanReport & { decompressError?: string }

/** The plain-dump scan; for a gzip-compressed plain dump, of the decompressed text, still as a stream. */
export function plainObserver(gzipped: boolean, options?: ScanOptions): ByteObserver<PlainObservation> {
  const scanner = new PlainDumpScanner(options)
  if (!gzipped) return { update: (chunk) => scanner.update(chunk), finish: () => scanner.finish() }
  const gunzip = createGunzip()
  let decompressError: string | undefined
  gunzip.on('data', (chunk: Buffer) => scanner.update(chunk))
  const ended = new Promise<void>((resolve) => {
    gunzip.on('end', resolve)
    gunzip.on('error', (error) => {
      decompressError = error.message
      resolve()
    })
  })
  return {
    update: (chunk) => {
      // Waiting for "drain" keeps memory flat when the file is read faster than it decompresses.
      if (decompressError === undefined && !gunzip.write(chunk)) {
        return new Promise<void>((resolve) => {
          gunzip.once('drain', resolve)
          gunzip.once('error', () => resolve())
        })
      }
    },
    finish: async () => {
      gunzip.end()
      await ended
      return { ...scanner.finish(), decompressError }
    }
  }
}

export function tarObserver(): ByteObserver<TarReport> {
  const checker = new TarChecker()
  return { update: (chunk) => checker.update(chunk), finish: () => checker.finish() }
}

const HEADER_BYTES = 8192

/** Keeps the first bytes, enough for the PGDMP header of a custom archive or a toc.dat. */
export function headerObserver(): ByteObserver<ArchiveHeader | { problem: string }> {
  const head: Buffer[] = []
  let kept = 0
  return {
    update: (chunk) => {
      if (kept >= HEADER_BYTES) return
      head.push(chunk.subarray(0, HEADER_BYTES - kept))
      kept += Math.min(chunk.length, HEADER_BYTES - kept)
    },
    finish: () => parseArchiveHeader(Buffer.concat(head))
  }
}

/** A pass-through stream that only hashes: the restore proves it fed psql the validated bytes. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256')
  bytes = 0

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    callback(null, chunk)
  }

  /** The hex SHA-256 of everything that passed; call once, after the stream ended. */
  digest(): string {
    return this.hash.digest('hex')
  }
}
