// How far a long phase is, while it runs: in a log (the runner's, or a terminal that is not one) a
// line at each tenth of the way or every 30 s, whichever comes first; in a terminal, one live line
// redrawn every second. With a total (the backup's size, the rows counted), a percentage and an
// estimate of the time left; without one, how much so far.

import { humanBytes } from './bytes.js'
import type { RunContext } from './context.js'

const HEARTBEAT_MS = 30_000
/** How often the phase is looked at: a live line redraws this often, a log line waits for a tenth or the interval. */
const LOOK_MS = 1000
const BAR_WIDTH = 24

export interface ProgressMeasure {
  /** How far: bytes (or rows) so far. */
  done: () => number
  /** The whole, once it is known: the backup's bytes (a growing backup's, when pg_dump is done), the rows counted. */
  total?: () => number | undefined
  unit?: 'bytes' | 'rows'
}

/** "45% (205 MB of 455 MB), about 12 s left, 10 s elapsed"; without a total, "205 MB so far, 10 s elapsed". */
export function describeProgress(done: number, total: number | undefined, elapsedMs: number, unit: 'bytes' | 'rows' = 'bytes'): string {
  const amount = (value: number) => (unit === 'bytes' ? humanBytes(value) : `${Math.round(value).toLocaleString('en-US')} rows`)
  const elapsed = `${Math.round(elapsedMs / 1000)} s elapsed`
  if (!total || total <= 0) return `${amount(done)} so far, ${elapsed}`
  // An estimate (a database's table data against its dump) may be passed: then no percentage and no time left.
  if (done > total) return `${amount(done)} so far, past the estimate of ${amount(total)}, ${elapsed}`
  const percent = Math.min(99, Math.floor((done / total) * 100))
  const left = done > 0 && percent >= 1 ? `, about ${Math.max(1, Math.round((((total - done) / done) * elapsedMs) / 1000))} s left` : ''
  return `${percent}% (${amount(Math.min(done, total))} of ${amount(total)})${left}, ${elapsed}`
}

/** The live line: a bar, then the same words. */
function bar(done: number, total: number | undefined): string {
  if (!total || done > total) return ''
  const filled = Math.min(BAR_WIDTH, Math.floor((Math.min(done, total) / total) * BAR_WIDTH))
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] `
}

/** Starts telling how far `what` is; call the returned function when the phase ends. */
export function startHeartbeat(
  run: Pick<RunContext, 'log' | 'reporter' | 'heartbeatMs'>,
  what: string,
  measure?: ProgressMeasure
): () => void {
  const started = Date.now()
  const intervalMs = run.heartbeatMs ?? HEARTBEAT_MS
  const live = run.reporter.progress
  let lastLine = started
  let lastTenth = 0
  const timer = setInterval(
    () => {
      const now = Date.now()
      const done = measure?.done() ?? 0
      const total = measure?.total?.()
      const words = measure ? describeProgress(done, total, now - started, measure.unit) : `${Math.round((now - started) / 1000)} s elapsed`
      if (live) {
        live(what, `${bar(done, total)}${what}: ${words}`)
        return
      }
      const tenth = total ? Math.min(9, Math.floor((done / total) * 10)) : 0
      if (tenth > lastTenth || now - lastLine >= intervalMs) {
        run.log(`${what}: ${total ? '' : 'still running, '}${words}`)
        lastLine = now
        lastTenth = Math.max(lastTenth, tenth)
      }
    },
    Math.min(LOOK_MS, intervalMs)
  )
  timer.unref()
  return () => {
    clearInterval(timer)
    live?.(what, '')
  }
}
