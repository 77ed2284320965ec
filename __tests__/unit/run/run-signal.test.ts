// The run's signal: a signal from outside or the timeout, whichever comes first, through garbage
// collections (a timeout that a collection can cancel is a run that never stops).

import { describe, expect, test } from '@jest/globals'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setTimeout as sleep } from 'node:timers/promises'
import { runSignal } from '../../../src/run/interruption.js'

setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

describe('runSignal', () => {
  test('the timeout fires after a garbage collection, as a time-out', async () => {
    const signal = runSignal(new AbortController().signal, 0.3 / 60)
    for (let i = 0; i < 3; i++) {
      collectGarbage()
      await sleep(20)
    }
    await sleep(600)
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).name).toBe('TimeoutError')
  })

  test('a signal from outside passes its reason on, before or after; without either nothing aborts', async () => {
    const outside = new AbortController()
    const signal = runSignal(outside.signal, 10)
    collectGarbage()
    outside.abort('SIGTERM')
    expect(signal.reason).toBe('SIGTERM')
    const already = new AbortController()
    already.abort('SIGINT')
    expect(runSignal(already.signal, undefined).reason).toBe('SIGINT')
    const neither = runSignal(undefined, undefined)
    await sleep(50)
    expect(neither.aborted).toBe(false)
  })
})
