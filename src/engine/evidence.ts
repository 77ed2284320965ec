// The recovery point and the recovery time of a run, whatever its method: when the newest data in
// the copy was written (and how that is known), how old it was once the copy was ready, and how
// long the restore took from its start to a usable copy.

import type { Verification } from './verification.js'

/** When the copy's newest data was written: a time as PostgreSQL or a backup prints it, or undefined when it cannot be read. */
export function noteNewestData(v: Verification, at: string | Date | undefined, from: string): void {
  const time = at instanceof Date ? at : at ? new Date(at.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T')) : undefined
  if (!time || Number.isNaN(time.getTime())) return
  v.result.evidence = { ...v.result.evidence, newestData: { at: time.toISOString(), from } }
}

/** The copy is ready: the restore took this long, and its newest data is this old now. */
export function noteCopyReady(v: Verification, restoreMs: number): void {
  const evidence = { ...v.result.evidence, restoreMs: Math.round(restoreMs) }
  if (evidence.newestData) evidence.ageSeconds = Math.max(0, Math.round((Date.now() - Date.parse(evidence.newestData.at)) / 1000))
  v.result.evidence = evidence
}

/** freshness-query answered: the application's own time of the copy's newest data, and its age now. */
export function noteFreshness(v: Verification, at: string): void {
  const time = new Date(at)
  v.result.evidence = {
    ...v.result.evidence,
    newestData: { at: time.toISOString(), from: 'freshness-query' },
    ageSeconds: Math.max(0, Math.round((Date.now() - time.getTime()) / 1000))
  }
}
