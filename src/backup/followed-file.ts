// Reads a backup file from the start while it may still be written (a streamed restore follows
// pg_dump at its own pace instead of holding it back), and positional reads of what is written.

import { open, type FileHandle } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Writable } from 'node:stream'

/** A file and its final size, known once it is completely written (rejected if writing failed). */
export interface GrowingFile {
  path: string
  size: Promise<number>
}

const CHUNK_BYTES = 1024 * 1024
/** How long a reader that caught up with the writer waits before it looks again. */
const POLL_MS = 5

export async function openGrowingFile(file: GrowingFile, signal?: AbortSignal): Promise<FileHandle> {
  let settled: { size?: number; error?: unknown } | undefined
  file.size.then(
    (size) => (settled = { size }),
    (error: unknown) => (settled = { error })
  )
  for (;;) {
    try {
      return await open(file.path, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      if (settled?.error) throw settled.error
      if (settled) throw error
      signal?.throwIfAborted()
      await sleep(POLL_MS)
    }
  }
}

/** Free buffers a pool keeps: a buffer given back is soon taken again, so a few are enough. */
const POOL_BUFFERS = 4

/**
 * Buffers for followFile, given back by the last reader of each chunk (the relay, once its reader
 * has asked for the next chunk), so that reading the file allocates nothing per chunk. A buffer
 * not given back (a reader that stopped) is simply collected.
 */
export class ChunkPool {
  private readonly free = new Set<ArrayBufferLike>()
  private readonly issued = new WeakSet<ArrayBufferLike>()
  private closed = false

  take(): Buffer {
    const free = this.free.values().next()
    if (free.done) {
      const buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES)
      this.issued.add(buffer.buffer)
      return buffer
    }
    this.free.delete(free.value)
    return Buffer.from(free.value)
  }

  /** A chunk of a buffer this pool made; nothing may read it afterwards. */
  give(chunk: Buffer): void {
    if (!this.closed && this.issued.has(chunk.buffer) && this.free.size < POOL_BUFFERS) this.free.add(chunk.buffer)
  }

  /** The file has been read: the free buffers go (the rest of the run needs no memory of it). */
  close(): void {
    this.closed = true
    this.free.clear()
  }
}

/**
 * The file's bytes in order, as they are written, until its final size is reached. With a pool,
 * the chunks are its buffers: a chunk's last reader gives it back, and no reader may keep any
 * part of it after that (copies are theirs to make).
 */
export async function* followFile(file: GrowingFile, signal?: AbortSignal, pool?: ChunkPool): AsyncGenerator<Buffer> {
  let final: number | undefined
  let failure: { error: unknown } | undefined
  file.size.then(
    (size) => (final = size),
    (error: unknown) => (failure = { error })
  )
  const handle = await openGrowingFile(file, signal)
  try {
    let position = 0
    for (;;) {
      signal?.throwIfAborted()
      if (failure) throw failure.error
      // A new buffer each time (or one its readers gave back): a reader may keep a chunk a while.
      const buffer = pool?.take() ?? Buffer.allocUnsafe(CHUNK_BYTES)
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position)
      if (bytesRead === 0) pool?.give(buffer)
      if (bytesRead > 0) {
        position += bytesRead
        yield buffer.subarray(0, bytesRead)
        // Caught up with the writer: let it write a good chunk before reading again.
        if (bytesRead < CHUNK_BYTES && final === undefined) await sleep(POLL_MS)
        continue
      }
      if (final !== undefined && position >= final) return
      await sleep(POLL_MS)
    }
  } finally {
    await handle.close()
  }
}

/** Two buffers for readRange, each the size of a chunk. */
export function rangeBuffers(): [Buffer, Buffer] {
  return [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]
}

/**
 * Reads one range of a file that is already written, into two buffers in turn: a chunk is read
 * while the one before is handed on, and a buffer is filled again only once onChunk's promise for
 * its last chunk has resolved (onChunk must be done with a chunk by then). No memory is allocated
 * per chunk, so reading the file again costs no garbage collection.
 */
export async function readRange(
  handle: FileHandle,
  start: number,
  end: number,
  buffers: readonly [Buffer, Buffer],
  onChunk: (chunk: Buffer) => Promise<void>
): Promise<void> {
  let handing: Promise<void> = Promise.resolve()
  let turn = 0
  try {
    for (let position = start; position < end;) {
      const buffer = buffers[turn++ & 1]
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position)
      if (bytesRead === 0) throw new Error(`the file ends at byte ${position}, before ${end}`)
      position += bytesRead
      await handing
      handing = onChunk(buffer.subarray(0, bytesRead))
      // Observed here too: a read that fails first must not leave its rejection unhandled.
      handing.catch(() => {})
    }
  } catch (error) {
    // The caller may use the buffers again once this returns: the chunk being handed on goes first.
    await handing.catch(() => {})
    throw error
  }
  await handing
}

/** Queued chunks beyond this make the writer wait: the reader is a planner that keeps up. */
const RELAY_BYTES = 16 * 1024 * 1024

/**
 * Hands the chunks one reader of a file reads to a second reader, in order, so that the file is
 * read once: the Create phase hashes and scans a streamed dump, and the restore plans from the same
 * chunks. A second reader that gives up stops receiving (the first never waits for it again).
 * Each chunk goes back to the pool when the second reader asks for the next one: it must not keep
 * any part of a chunk beyond that.
 */
export class ChunkRelay implements AsyncIterable<Buffer> {
  /** The buffers the first reader reads into. */
  readonly pool = new ChunkPool()
  private queue: Buffer[] = []
  private queued = 0
  private ended = false
  private failure: { error: unknown } | undefined
  private abandoned = false
  private wakeReader: () => void = () => {}
  private wakeWriter: () => void = () => {}

  /** The end of the first reader's pipeline: each chunk is queued for the second. */
  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.abandoned) return callback()
        this.queue.push(chunk)
        this.queued += chunk.length
        this.wakeReader()
        if (this.queued <= RELAY_BYTES) return callback()
        this.wakeWriter = () => {
          this.wakeWriter = () => {}
          callback()
        }
      },
      final: (callback) => {
        this.ended = true
        this.wakeReader()
        callback()
      }
    })
  }

  fail(error: unknown): void {
    this.failure ??= { error }
    this.wakeReader()
  }

  abandon(): void {
    this.abandoned = true
    this.pool.close()
    this.queue = []
    this.queued = 0
    this.wakeWriter()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.queue.shift()
      if (chunk) {
        this.queued -= chunk.length
        if (this.queued <= RELAY_BYTES) this.wakeWriter()
        yield chunk
        this.pool.give(chunk)
        continue
      }
      if (this.failure) throw this.failure.error
      if (this.ended) return this.pool.close()
      await new Promise<void>((resolve) => (this.wakeReader = resolve))
    }
  }
}
