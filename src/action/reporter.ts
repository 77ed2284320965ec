// The engine's Reporter and ResourceLedger on a GitHub runner: log commands, masks and saved state.

import * as core from '@actions/core'
import { State } from '../run/names.js'
import type { Reporter, ResourceKind, ResourceLedger } from '../run/context.js'

export const actionReporter: Reporter = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  group: (name, fn) => core.group(name, fn),
  mask: (secret) => core.setSecret(secret)
}

const STATE_KEY: Record<ResourceKind, string> = { database: State.TemporaryDatabases, folder: State.TemporaryFolders }

/** Saves the live set of temporary resources after every change, for the post step. */
export class StateLedger implements ResourceLedger {
  private readonly live: Record<ResourceKind, Set<string>> = { database: new Set(), folder: new Set() }

  created(kind: ResourceKind, id: string): void {
    this.live[kind].add(id)
    core.saveState(STATE_KEY[kind], JSON.stringify([...this.live[kind]]))
  }

  removed(kind: ResourceKind, id: string): void {
    this.live[kind].delete(id)
    core.saveState(STATE_KEY[kind], JSON.stringify([...this.live[kind]]))
  }
}

export function recordedResources(kind: ResourceKind): string[] {
  const saved = core.getState(STATE_KEY[kind])
  if (!saved) return []
  try {
    const parsed: unknown = JSON.parse(saved)
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : []
  } catch {
    return []
  }
}
