// What the main step records in the step's state for the post step: the temporary databases,
// folders, throwaway servers and client tools' process groups it started and has not removed yet.

import { State } from '../run/names.js'
import type { ResourceKind } from '../run/context.js'
import { getState } from './commands.js'

export const STATE_KEY: Record<ResourceKind, string> = {
  database: State.TemporaryDatabases,
  folder: State.TemporaryFolders,
  server: State.ThrowawayServers,
  process: State.ChildProcesses
}

export function recordedResources(kind: ResourceKind): string[] {
  const saved = getState(STATE_KEY[kind])
  if (!saved) return []
  try {
    const parsed: unknown = JSON.parse(saved)
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : []
  } catch {
    return []
  }
}
