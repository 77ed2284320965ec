// The SHA-256 of a backup file as it is on disk, read again in large reads through one buffer.

import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'

/** Large reads: a backup is read whole, and each read costs a round trip to the thread pool. */
export const READ_BYTES = 1024 * 1024

/**
 * The SHA-256 of a file, read once through one buffer: nothing keeps its chunks, so none is
 * allocated per read (a backup's worth of buffers would keep the garbage collector busy).
 */
export async function hashFile(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(READ_BYTES)
  const handle = await open(file, 'r')
  try {
    for (;;) {
      signal?.throwIfAborted()
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null)
      if (bytesRead === 0) return hash.digest('hex')
      hash.update(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
}
