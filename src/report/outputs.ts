// The action's outputs, as the strings GITHUB_OUTPUT receives, from one VerificationResult.

import { Output } from '../run/names.js'
import type { VerificationResult } from './result.js'

/** A physical backup without a receipt: what every database of the started copy holds, summed. */
function physicalSum(result: VerificationResult, key: 'tables' | 'rows'): string {
  const databases = result.physical?.databases
  if (!databases || databases.some((entry) => entry[key] === undefined)) return ''
  return String(databases.reduce((sum, entry) => sum + (entry[key] ?? 0), 0))
}

/** Percent since the last passing run, to three decimals: "12.5", "-3.25", "0.013"; empty without one. */
function sizeChange(result: VerificationResult): string {
  const percent = result.history?.trend.sinceLastPass?.size?.percent
  return percent === undefined ? '' : String(Math.round(percent * 1000) / 1000)
}

/** Every output, as the strings GITHUB_OUTPUT receives; empty where the run did not get that far. */
export function outputsOf(result: VerificationResult): Record<string, string> {
  return {
    [Output.Result]: result.status,
    [Output.Skipped]: String(result.status === 'skipped'),
    [Output.Checksum]: result.backup?.sha256 ?? '',
    [Output.Size]: result.backup ? String(result.backup.sizeBytes) : '',
    [Output.BackupPath]: result.backup?.kept ? result.backup.path : '',
    [Output.Tables]: result.tables ? String(result.tables.source.length) : physicalSum(result, 'tables'),
    [Output.RestoredTables]: result.tables ? String(result.tables.restored.length) : '',
    [Output.Rows]:
      result.tables && result.tables.level !== 'schema'
        ? String(result.tables.rows.reduce((total, entry) => total + (entry.source ?? 0), 0))
        : physicalSum(result, 'rows'),
    [Output.VerifyLevel]: result.tables?.level ?? result.physical?.level ?? '',
    [Output.ReportPath]: result.receiptPath ?? '',
    [Output.ServerVersion]: result.serverVersion ?? '',
    [Output.ClientVersion]: result.client?.version ?? '',
    [Output.ClientSource]: result.client?.origin ?? '',
    [Output.Format]: result.backup?.format ?? '',
    [Output.DurationMs]: String(result.durationMs),
    [Output.Duration]: String(Math.round(result.durationMs) / 1000),
    [Output.ConsecutiveFailures]: String(result.history?.trend.consecutiveFailures ?? (result.status === 'failed' ? 1 : 0)),
    [Output.SizeChange]: sizeChange(result),
    [Output.HistoryPath]: result.history?.path ?? '',
    [Output.BackupSet]: result.physical?.repository?.label ?? '',
    [Output.BackupAge]: result.evidence?.ageSeconds === undefined ? '' : String(result.evidence.ageSeconds),
    [Output.RestoreDuration]: result.evidence?.restoreMs === undefined ? '' : String(Math.round(result.evidence.restoreMs) / 1000)
  }
}
