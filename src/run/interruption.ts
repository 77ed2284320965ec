// Turns SIGINT, SIGTERM and SIGHUP into an AbortSignal for the engine. A cancelled job gets SIGINT,
// then SIGTERM, then is killed: the first signal starts the cleanup, later ones must not cut it short.

export function interruptionSignal(): AbortSignal {
  const controller = new AbortController()
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(name, () => {
      if (!controller.signal.aborted) controller.abort(name)
    })
  }
  return controller.signal
}

/**
 * The caller's signal or the deadline, whichever comes first; with neither, a signal that never
 * aborts. Not AbortSignal.any over AbortSignal.timeout: Node holds a timeout signal inside a
 * composite only weakly, and after a garbage collection its timer is cleared and it never fires.
 */
export function runSignal(signal: AbortSignal | undefined, timeoutMs: number | undefined): AbortSignal {
  const controller = new AbortController()
  if (signal?.aborted) controller.abort(signal.reason)
  else signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true })
  if (timeoutMs) {
    const timer = setTimeout(
      () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      timeoutMs
    )
    // The deadline alone does not keep the process alive once the run is over.
    timer.unref()
    controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true })
  }
  return controller.signal
}
