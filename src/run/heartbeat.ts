// A line at a steady interval while a long phase runs, so that a long job shows it is alive.

import { humanBytes } from './bytes.js'

const HEARTBEAT_MS = 30_000

/** Starts the heartbeat; call the returned function to stop it. `bytes` says how far the phase is. */
export function startHeartbeat(what: string, log: (line: string) => void, bytes?: () => number, intervalMs = HEARTBEAT_MS): () => void {
  const started = Date.now()
  const timer = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000)
    const done = bytes ? `${humanBytes(bytes())} so far, ` : ''
    log(`${what}: still running, ${done}${seconds} s elapsed`)
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
