// The team's own checks (input checks) as the engine runs them: on the restored copy while it is
// there, recorded in the result; judged once the comparison has passed, so that a restore that
// does not match its reference is named first. freshness-query is asked with them: its answer
// becomes the recovery point.

import type pg from 'pg'
import { runChecks } from '../compare/checks.js'
import { VerificationError } from '../run/errors.js'
import { Input } from '../run/names.js'
import { noteFreshness } from './evidence.js'
import type { Verification } from './verification.js'

/** Runs every check on the copy's database, in sessions of its own; nothing to do without checks. */
export async function runTeamChecks(v: Verification, database: string, connect: () => Promise<pg.Client>): Promise<void> {
  const checks = v.references.checks
  if (checks.length === 0) return
  const client = await connect()
  try {
    const outcomes = await runChecks(client, checks, v.settings.checksTimeoutMs, (text) => v.run.redactor.redact(text))
    v.result.teamChecks = { database, outcomes }
    for (const outcome of outcomes) v.run.log(`Check "${outcome.name}": ${outcome.status}, ${outcome.detail}`)
    const freshness = outcomes.find((outcome) => outcome.expect === 'time' && outcome.status === 'passed')
    if (freshness) noteFreshness(v, freshness.detail)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A check that failed or could not run fails the run; with alert-mode: warn it only warns. */
export function judgeTeamChecks(v: Verification): void {
  const outcomes = v.result.teamChecks?.outcomes ?? []
  const failed = outcomes.filter((outcome) => outcome.status !== 'passed')
  if (failed.length === 0) return
  const said = failed
    .map(
      (outcome) =>
        `"${outcome.name}" ${outcome.status === 'error' ? 'could not run' : 'failed'}: ${outcome.detail}` +
        `${outcome.rows?.length ? ` (first rows: ${outcome.rows.slice(0, 3).join('; ')})` : ''}`
    )
    .join('; ')
  const message = `${failed.length} of ${outcomes.length} check(s) on the restored copy did not pass: ${said}`
  if (v.settings.alerts.mode === 'warn') {
    v.run.warn(`${message} (alert-mode: warn)`)
    return
  }
  const inputs = [...new Set(failed.map((outcome) => (outcome.expect === 'time' ? Input.FreshnessQuery : Input.Checks)))].join(', ')
  throw new VerificationError(
    'check-failed',
    message,
    `Each check is the team's own assertion about the data (freshness-query, its own time of the newest data): ` +
      `find out why the backup's data breaks it, or correct the query (${inputs}).`
  )
}
