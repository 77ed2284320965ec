// Watches the restore's own sessions on the server. When nothing has moved for a while (no bytes
// sent to them, no rows copied, no index build progressing, no statement begun) and every session
// waits on the restore itself (for input, or for a lock another of its sessions holds), nothing
// ever will: the run fails at once, naming each session, its statement and its wait, instead of
// sitting until the job's time limit.

import type pg from 'pg'
import { VerificationError } from '../run/errors.js'

export interface SessionActivity {
  pid: number
  application: string
  backendType: string
  state: string
  waitEventType: string | null
  waitEvent: string | null
  query: string
  blockedBy: number[]
  /** What moves while the session works: when its statement began, copy and index-build progress (where the server reports them). */
  progress: string
}

export interface WatchdogOptions {
  /** A session of its own on the restore server (the watchdog ends it). */
  session: pg.Client
  /** The temporary database whose sessions are watched. */
  database: string
  serverMajor: number
  /** Bytes the restore has read and sent so far, when the engine feeds the sessions itself. */
  progress?: () => number
  /** What each of the restore's own sessions is doing, in the engine's words. */
  describe?: () => string[]
  /** Only once this has settled is a stall a stall (before, the restore waits for pg_dump). */
  armed?: Promise<unknown>
  stallMs: number
  intervalMs?: number
}

/** How long nothing may move before a restore whose sessions all wait on one another is stopped. */
export const DEFAULT_STALL_MS = 120_000

/** Whether a session waits on the restore itself: for input from it, or for a lock one of its sessions holds. */
function waitsOnRestore(activity: SessionActivity, ours: Set<number>, inputVisible: boolean): boolean {
  if (activity.backendType !== 'client backend') return false
  if (activity.state.startsWith('idle')) return true
  if (activity.state !== 'active') return false
  // Waiting for input: certain only when the input's progress can be seen.
  if (activity.waitEventType === 'Client') return inputVisible
  if (activity.waitEventType === 'Lock') return activity.blockedBy.length > 0 && activity.blockedBy.every((pid) => ours.has(pid))
  return false
}

/** One line per session, in the user's terms: which session, what it runs, what it waits for. */
function describeActivity(activity: SessionActivity): string {
  const what = activity.application ? `${activity.application} (pid ${activity.pid})` : `pid ${activity.pid}`
  const wait =
    activity.state === 'active' && activity.waitEventType
      ? `, waiting for ${activity.waitEventType}:${activity.waitEvent}${activity.blockedBy.length > 0 ? ` held by pid ${activity.blockedBy.join(', ')}` : ''}`
      : ''
  const statement = activity.query.replace(/\s+/g, ' ').trim()
  return `${what}: ${activity.state}${wait}${statement ? `; ${activity.state === 'active' ? 'running' : 'last ran'} "${statement.length > 120 ? `${statement.slice(0, 120)}…` : statement}"` : ''}`
}

export class RestoreWatchdog {
  /** Rejects with the stall, once there is one; never resolves. */
  readonly stalled: Promise<never>
  private fail: (error: VerificationError) => void = () => {}
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private armed: boolean
  private lastSignature = ''
  private lastChange = Date.now()

  constructor(private readonly options: WatchdogOptions) {
    this.stalled = new Promise<never>((_, reject) => (this.fail = reject))
    this.stalled.catch(() => {})
    this.armed = options.armed === undefined
    options.armed?.then(
      () => this.arm(),
      () => this.arm()
    )
    this.schedule()
  }

  /** Stops watching and ends the watchdog's session. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.options.session.end().catch(() => {})
  }

  private arm(): void {
    this.armed = true
    this.lastChange = Date.now()
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(
      () => void this.check().finally(() => this.schedule()),
      this.options.intervalMs ?? Math.min(5_000, this.options.stallMs / 4)
    )
    this.timer.unref()
  }

  private async check(): Promise<void> {
    const sessions = await this.sample().catch(() => undefined)
    if (this.stopped || sessions === undefined) return
    const engine = this.options.progress?.() ?? 0
    const signature = JSON.stringify([engine, sessions.map((s) => [s.pid, s.state, s.waitEvent, s.query, s.progress])])
    const now = Date.now()
    if (signature !== this.lastSignature || !this.armed) {
      this.lastSignature = signature
      this.lastChange = now
      return
    }
    const ours = new Set(sessions.filter((s) => s.backendType === 'client backend').map((s) => s.pid))
    const inputVisible = this.options.progress !== undefined || this.options.serverMajor >= 14
    const stuck = sessions.length > 0 && sessions.every((s) => waitsOnRestore(s, ours, inputVisible))
    if (!stuck || now - this.lastChange < this.options.stallMs) return
    const seconds = Math.round((now - this.lastChange) / 1000)
    const engineView = this.options.describe?.() ?? []
    this.fail(
      new VerificationError(
        'restore-stalled',
        `The restore stopped making progress: for ${seconds} s nothing was sent to its sessions and none of them ran anything; ` +
          `each waits for another or for the restore itself, which never ends. Sessions: ${sessions.map(describeActivity).join(' | ')}` +
          (engineView.length > 0 ? `. The restore was at: ${engineView.join('; ')}` : ''),
        "This is a deadlock between the restore's own sessions, not a slow server: a longer timeout would not help. " +
          'Run with jobs: 1 to restore in one session, and report it with the statements named above.'
      )
    )
    this.stopped = true
  }

  private async sample(): Promise<SessionActivity[]> {
    const copy = this.options.serverMajor >= 14
    const query = this.options.session.query<{
      pid: number
      application: string
      backend_type: string | null
      state: string | null
      wait_event_type: string | null
      wait_event: string | null
      query: string | null
      started: string | null
      blocked_by: number[]
      progress: string | null
    }>({
      text: `SELECT a.pid, a.application_name AS application, a.backend_type, a.state, a.wait_event_type, a.wait_event,
                    left(a.query, 400) AS query, a.query_start::text AS started, pg_catalog.pg_blocking_pids(a.pid) AS blocked_by,
                    concat_ws(' ', ${copy ? 'c.bytes_processed, c.tuples_processed,' : ''} i.phase, i.blocks_done, i.tuples_done,
                      i.lockers_done, i.partitions_done) AS progress
               FROM pg_catalog.pg_stat_activity a
               ${copy ? 'LEFT JOIN pg_catalog.pg_stat_progress_copy c ON c.pid = a.pid' : ''}
               LEFT JOIN pg_catalog.pg_stat_progress_create_index i ON i.pid = a.pid
              WHERE a.datname = $1 AND a.pid <> pg_catalog.pg_backend_pid()
              ORDER BY a.pid`,
      values: [this.options.database]
    })
    // A server too busy to answer in time gives no sample: nothing is concluded from it.
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer in time')), 10_000)))
    const { rows } = await Promise.race([query, late]).finally(() => clearTimeout(timer))
    return rows.map((row) => ({
      pid: row.pid,
      application: row.application,
      backendType: row.backend_type ?? 'client backend',
      // Another role's session shows no state to a user who may not see it: it counts as working.
      state: row.state ?? 'unknown',
      waitEventType: row.wait_event_type,
      waitEvent: row.wait_event,
      query: row.query ?? '',
      blockedBy: row.blocked_by ?? [],
      progress: `${row.started ?? ''} ${row.progress ?? ''}`
    }))
  }
}
