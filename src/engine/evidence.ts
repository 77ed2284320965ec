// The recovery point and the recovery time of a run, whatever its method: when the newest data in
// the copy was written (and how that is known), how old it was once the copy was ready, and how
// long the restore took from its start to a usable copy.

import type { Verification } from './verification.js'

/** When each run's copy was first ready: every age is measured then, not when the checks or the comparison end. */
const readyAt = new WeakMap<Verification, number>()

/** A time as PostgreSQL or a backup prints it ("2026-12-04 05:00:00.12+00", "... UTC"), or ISO 8601. */
function parseTime(at: string | Date | undefined): Date | undefined {
  const time = at instanceof Date ? at : at ? new Date(at.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T')) : undefined
  return time && !Number.isNaN(time.getTime()) ? time : undefined
}

/** Seconds from `at` to the moment the copy was ready (now, when it is not ready yet); never negative; undefined for no time. */
export function ageAtReady(v: Verification, at: string): number | undefined {
  const time = parseTime(at)
  return time && Math.max(0, Math.round(((readyAt.get(v) ?? Date.now()) - time.getTime()) / 1000))
}

/**
 * When the copy's newest data was written: a time as PostgreSQL or a backup prints it, or undefined
 * when it cannot be read. The application's own answer (freshness-query) is never replaced by one.
 */
export function noteNewestData(v: Verification, at: string | Date | undefined, from: string): void {
  const time = parseTime(at)
  if (!time) return
  if (v.result.evidence?.newestData?.from === FRESHNESS) return
  v.result.evidence = { ...v.result.evidence, newestData: { at: time.toISOString(), from } }
}

/** The copy is ready (the first call says when): the restore took this long, and its newest data was this old then. */
export function noteCopyReady(v: Verification, restoreMs: number): void {
  if (!readyAt.has(v)) readyAt.set(v, Date.now())
  const evidence = { ...v.result.evidence, restoreMs: Math.round(restoreMs) }
  if (evidence.newestData) evidence.ageSeconds = ageAtReady(v, evidence.newestData.at)
  v.result.evidence = evidence
}

const FRESHNESS = 'freshness-query'

/** freshness-query answered: the application's own time of the copy's newest data, and its age when the copy was ready. */
export function noteFreshness(v: Verification, at: string): void {
  const time = parseTime(at)
  if (!time) return
  v.result.evidence = {
    ...v.result.evidence,
    newestData: { at: time.toISOString(), from: FRESHNESS },
    ageSeconds: ageAtReady(v, time.toISOString())
  }
}
