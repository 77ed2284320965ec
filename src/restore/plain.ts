// A plain dump replayed by psql: through a hash (what was restored is proven to be the file that was
// validated), following the file while pg_dump still writes it. An uncompressed dump is shared out
// among `jobs` sessions (see parallel/replay.ts); a gzip-compressed one is decompressed on the way
// into one session. Settings an older server does not know are left out of the preamble.

import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { followFile, type GrowingFile } from '../backup/followed-file.js'
import { plainIsGzipped, restoreJobs } from '../backup/formats.js'
import { HashingStream } from '../backup/inspect.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { SettingsFilter } from './compat.js'
import { restoreGate, type RestoreContext } from './context.js'
import { GatedScript } from './gated-script.js'
import { replayInSessions } from './parallel/replay.js'
import { copyGuards, reportFiltered, runPsql } from './psql.js'

export async function replayPlain(replay: RestoreContext): Promise<string | undefined> {
  const { request, run } = replay
  const file: GrowingFile = { path: request.backup.path, size: request.written ?? stat(request.backup.path).then((info) => info.size) }
  if (restoreJobs('plain', request.backup.compression, request.jobs) > 1) return replayInSessions(replay, file)
  const fed = new HashingStream()
  replay.progress.bytes = () => fed.bytes
  fed.once('end', () => request.onBackupRead?.())
  // Errors reading the file reach runTool through the stream it reads; these promises only must not go unhandled.
  pipeline(Readable.from(followFile(file, replay.signal)), fed).catch(() => {})
  let feed: Readable = fed
  if (plainIsGzipped(request.backup.compression)) {
    const gunzip = createGunzip()
    pipeline(feed, gunzip).catch(() => {})
    feed = gunzip
  }
  const filter = replay.unknownSettings.length > 0 ? new SettingsFilter(replay.unknownSettings) : undefined
  if (filter) {
    pipeline(feed, filter).catch(() => {})
    feed = filter
  }
  // The file's bytes read, against its size (a growing dump's once pg_dump is done).
  let size: number | undefined
  void Promise.resolve(file.size).then(
    (known) => (size = known),
    () => {}
  )
  const stopHeartbeat = startHeartbeat(run, 'psql restoring', { done: () => fed.bytes, total: () => size })
  await runGated(replay, feed, 'psql').finally(stopHeartbeat)
  reportFiltered(replay, filter?.removed ?? [])
  return fed.digest()
}

/**
 * psql fed through the gate. A refusal stops psql (a signal) before its input ends: psql would run
 * an unfinished statement it holds as its input ended.
 */
export async function runGated(replay: RestoreContext, script: Readable, what: string): Promise<void> {
  const stop = new AbortController()
  const guards = replay.request.strict ? undefined : copyGuards(replay.restrictLine)
  const gated = new GatedScript(restoreGate(replay), replay.restrictLine, (error) => stop.abort(error), guards, {
    noAtomicBodies: replay.request.tools.version.major < 14
  })
  replay.sorter.readsLines(gated.lines)
  pipeline(script, gated).catch(() => {})
  const stopped: RestoreContext = { ...replay, signal: AbortSignal.any([replay.signal, stop.signal]) }
  try {
    await runPsql(stopped, gated, what)
  } catch (error) {
    if (stop.signal.aborted) throw stop.signal.reason
    throw error
  }
  if (stop.signal.aborted) throw stop.signal.reason
}
