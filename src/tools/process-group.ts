// A client tool in a process group of its own, so that a later cleanup can end it and whatever it
// started (pg_dump's workers), should the process that ran it be killed outright. A group is named
// "pid:start": its leader's pid, and when that process started, so that a pid used again by
// another process is never mistaken for it.

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Process groups exist (and a child can lead one) where this runs. */
export const processGroups = process.platform !== 'win32'

/** When a process started, as the system says it (Linux: clock ticks after boot); undefined when there is none. */
function processStart(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // After the command's name in parentheses (which may hold anything): state, ppid, pgrp, ... starttime (field 22).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Only while it leads its own group: a leader that gave it up is not the group recorded.
    return fields[2] === String(pid) ? fields[19] : undefined
  } catch {
    if (process.platform === 'linux') return undefined
  }
  try {
    const [group, ...start] = execFileSync('ps', ['-o', 'pgid=', '-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
    return group === String(pid) && start.length > 0 ? start.join(' ') : undefined
  } catch {
    return undefined
  }
}

/** The name a group is recorded by, for a child that leads one. */
export function groupName(pid: number): string | undefined {
  const start = processStart(pid)
  return start === undefined ? undefined : `${pid}:${start}`
}

/**
 * Ends a recorded group with SIGKILL, only when its leader is still the process recorded. Returns
 * the pid when it did, undefined when the group is gone (or the pid is another process's now).
 */
export function endProcessGroup(recorded: string): number | undefined {
  const at = recorded.indexOf(':')
  const pid = Number(recorded.slice(0, at))
  if (at < 1 || !Number.isInteger(pid) || pid <= 1 || processStart(pid) !== recorded.slice(at + 1)) return undefined
  try {
    process.kill(-pid, 'SIGKILL')
    return pid
  } catch {
    return undefined
  }
}
