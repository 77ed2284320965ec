// A plain restore that follows pg_dump as it writes, started with the Create phase. Over several
// sessions it plans from the very chunks that phase reads (one read of the file); it tells Validate
// when it has read the whole file (Validate then reads it again); it stops when the dump or its
// validation fails; and whatever happens, it ends, its database dropped, before the run does.

import { ChunkRelay } from '../backup/followed-file.js'
import type { Restored } from '../restore/restore.js'

/** What a streamed restore is given to follow the dump. */
export interface StreamControls {
  /** The backup's final size, once pg_dump has written it (rejected if it failed). */
  written: Promise<number>
  relay?: ChunkRelay
  /** Stops the restore (the dump failed, or the backup is not valid). */
  signal: AbortSignal
  /** The restore has read the whole file (or stopped). */
  onBackupRead: () => void
}

export class StreamedRestore<T> {
  readonly relay: ChunkRelay | undefined
  /** Resolves once the restore has read the whole file, or has stopped reading it. */
  readonly read: Promise<void>
  readonly restoring: Promise<Restored<T>>
  private readonly stop = new AbortController()
  private written: { resolve: (size: number) => void; reject: (error: unknown) => void } = { resolve: () => {}, reject: () => {} }
  private markRead: () => void = () => {}

  /** parallel: the restore runs over several sessions and plans from the Create phase's chunks. */
  constructor(parallel: boolean, start: (controls: StreamControls) => Promise<Restored<T>>) {
    this.relay = parallel ? new ChunkRelay() : undefined
    this.read = new Promise<void>((resolve) => (this.markRead = resolve))
    const written = new Promise<number>((resolve, reject) => (this.written = { resolve, reject }))
    written.catch(() => {})
    this.restoring = start({ written, relay: this.relay, signal: this.stop.signal, onBackupRead: () => this.markRead() })
    // A restore that ends early (no permission to create its database) has read all it will.
    const ended = () => {
      this.relay?.abandon()
      this.markRead()
    }
    this.restoring.then(ended, ended)
  }

  /** pg_dump has finished writing the file. */
  dumped(size: number): void {
    this.written.resolve(size)
  }

  /** The dump failed, or the backup is not valid: the restore stops, and its database is dropped. */
  async abandon(error: unknown = new Error('the backup is not valid')): Promise<void> {
    this.written.reject(error)
    this.relay?.fail(error)
    this.stop.abort()
    await this.settled()
  }

  /** Resolves once the restore has ended, however it ended. */
  async settled(): Promise<void> {
    await this.restoring.catch(() => {})
  }
}
