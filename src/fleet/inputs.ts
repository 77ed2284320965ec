// The report action's inputs to typed settings, each refused with the input, the value and what is
// accepted before any file is read. Pure: the caller hands the inputs and the working folder.

import path from 'node:path'
import { InputError } from '../run/errors.js'
import { durationForms, parseDuration } from '../run/duration.js'
import { ReportInput } from '../run/names.js'
import { isLabel } from '../inputs/inputs.js'

export interface ReportSettings {
  /** A folder (every *.json below it), a receipt file, or a glob of receipt files. */
  receipts: { pattern: string; given: string }
  /** A folder of per-database history files (*.jsonl), for the trend arrows. */
  history?: { folder: string; given: string }
  /** any: a failed or missing verification fails the step; none: the report only reports. */
  failOn: 'any' | 'none'
  /** A receipt older than this counts as a missing verification. */
  maxAgeMs?: number
  /** The databases that should have a receipt, by the name their verification was given. */
  expected: string[]
}

export function loadReportSettings(get: (name: string) => string, workingDirectory: string): ReportSettings {
  const receipts = get(ReportInput.Receipts).trim()
  if (receipts === '' || /[\0\r\n]/.test(receipts)) {
    throw new InputError(
      ReportInput.Receipts,
      receipts,
      'a folder of receipts (every *.json below it is read), a receipt file, or a glob such as receipts/**/*.json, on one line'
    )
  }
  const history = get(ReportInput.History).trim()
  if (/[\0\r\n]/.test(history)) throw new InputError(ReportInput.History, history, 'a folder of history files (*.jsonl), on one line')
  const failOn = get(ReportInput.FailOn).trim().toLowerCase() || 'any'
  if (failOn !== 'any' && failOn !== 'none') {
    throw new InputError(
      ReportInput.FailOn,
      failOn,
      'any (a failed or missing verification fails the step) or none (the step only reports)'
    )
  }
  const maxAgeText = get(ReportInput.MaxAge).trim()
  const maxAgeMs = maxAgeText === '' ? undefined : parseDuration(maxAgeText)
  if (maxAgeText !== '' && !(maxAgeMs !== undefined && maxAgeMs > 0)) throw new InputError(ReportInput.MaxAge, maxAgeText, durationForms())
  return {
    receipts: { pattern: path.resolve(workingDirectory, receipts), given: receipts },
    history: history === '' ? undefined : { folder: path.resolve(workingDirectory, history), given: history },
    failOn,
    maxAgeMs,
    expected: parseExpected(get(ReportInput.Expected))
  }
}

/**
 * Names, one a line (blank lines and surrounding spaces ignored), or a JSON list of names: what
 * toJSON(fromJSON(list).*.name) gives in a workflow, where an expression cannot write a newline.
 */
function parseExpected(text: string): string[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  let names: unknown[]
  if (trimmed.startsWith('[')) {
    try {
      names = JSON.parse(trimmed) as unknown[]
    } catch {
      throw new InputError(
        ReportInput.Expected,
        clip(trimmed),
        'names, one a line, or a JSON list of names ("[\\"orders\\", \\"billing\\"]")'
      )
    }
    if (!Array.isArray(names)) throw new InputError(ReportInput.Expected, clip(trimmed), 'a JSON list of names')
  } else {
    names = trimmed
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
  }
  const unique = new Set<string>()
  for (const name of names) {
    if (typeof name !== 'string' || name.trim() === '' || !isLabel(name)) {
      throw new InputError(
        ReportInput.Expected,
        clip(typeof name === 'string' ? name : JSON.stringify(name)),
        "names of at most 100 characters without control characters, as each verification's name input gave them"
      )
    }
    unique.add(name.trim())
  }
  return [...unique]
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
