// The engine's Reporter and ResourceLedger on a GitHub runner: log commands, masks and saved state.

import * as core from '@actions/core'
import { STATE_KEY } from './state.js'
import { warningTitle } from './annotations.js'
import type { Reporter, ResourceKind, ResourceLedger } from '../run/context.js'

export const actionReporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message, { title: warningTitle(message) }),
  notice: (message) => core.notice(message, { title: 'backup-verify: skipped' }),
  group: (name, fn) => core.group(name, fn),
  mask: (secret) => core.setSecret(secret)
}

/** Saves the live set of temporary resources after every change, for the post step. */
export class StateLedger implements ResourceLedger {
  private readonly live: Record<ResourceKind, Set<string>> = {
    database: new Set(),
    folder: new Set(),
    server: new Set(),
    process: new Set()
  }

  created(kind: ResourceKind, id: string): void {
    this.live[kind].add(id)
    core.saveState(STATE_KEY[kind], JSON.stringify([...this.live[kind]]))
  }

  removed(kind: ResourceKind, id: string): void {
    this.live[kind].delete(id)
    core.saveState(STATE_KEY[kind], JSON.stringify([...this.live[kind]]))
  }
}
