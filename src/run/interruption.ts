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
