// What a run adds to the runs before it: the alerts it raises (on its own figures and against the
// history), its record appended to the history, and the trend that the summary and outputs show.

import { evaluateAlerts } from '../records/alerts.js'
import { appendHistory, historyRecord, type HistoryRecord } from '../records/history.js'
import type { VerificationResult } from '../report/result.js'
import { trendOf } from '../records/trend.js'
import type { Settings } from '../inputs/inputs.js'
import type { RunContext } from '../run/context.js'

/**
 * Alerts first (they may fail the run, so the record holds the verdict the user sees), then the record.
 * `previous` is the history as read before connecting; undefined when there is none to append to.
 */
export async function concludeAcrossRuns(
  run: RunContext,
  settings: Settings,
  result: VerificationResult,
  previous: HistoryRecord[] | undefined
): Promise<void> {
  const { mode } = settings.alerts
  const alerts = evaluateAlerts(settings.alerts, result, previous)
  if (alerts.length > 0) {
    result.alerts = alerts.map((alert) => ({ ...alert, failed: mode === 'fail' }))
    raise(run, result, alerts, mode)
  }
  if (!settings.history || !previous) return
  const record = historyRecord(
    result,
    alerts.map((alert) => alert.input),
    settings.name
  )
  try {
    const records = await appendHistory(settings.history, record, settings.historyLimit)
    result.history = { path: settings.history.path, trend: trendOf(records) }
    run.log(`History: ${records.length} record(s) in ${settings.history.path}`)
  } catch (error) {
    const message = `Could not add this run to the history ${settings.history.given}: ${run.redactor.redactError(error)}`
    if (result.status === 'failed') {
      run.warn(message)
      return
    }
    result.status = 'failed'
    result.error = {
      problem: 'history-unwritable',
      message,
      hint: 'The history file was left as it was. Check that its folder is writable, or name another file in history.'
    }
  }
}

function raise(
  run: RunContext,
  result: VerificationResult,
  alerts: Array<{ input: string; message: string }>,
  mode: 'fail' | 'warn'
): void {
  if (mode === 'warn') {
    for (const alert of alerts) run.warn(`Alert (${alert.input}): ${alert.message}`)
    return
  }
  const told = alerts.map((alert) => `Alert (${alert.input}): ${alert.message}`).join(' ')
  if (result.status === 'failed' && result.error) {
    result.error = { ...result.error, message: `${told} This run failed: ${result.error.message}` }
    return
  }
  result.status = 'failed'
  result.error = {
    problem: 'alert',
    message: told,
    hint: 'Each threshold is an input: raise it if this is expected, or set alert-mode: warn to be warned without failing.'
  }
}
