// A plain dump's scan, turned into the checks the Validate phase reports, each passed or failed with its reason.

import { MIN_PRINTABLE_RATIO, type PlainScanReport } from '../backup/plain-scanner.js'
import type { GateReport } from '../backup/gate/dump-gate.js'
import { describeRefusal } from '../backup/gate/refusal.js'

export interface ValidationCheck {
  name: string
  passed: boolean
  detail: string
}

/** The check's name: the Validate phase's verdict on what the backup would do once restored. */
export const GATE_CHECK = 'Nothing beyond its database'

/**
 * The gate's verdict as a check: every statement one pg_dump writes for one database, or the first
 * refused, named by its line or archive entry, and why.
 */
export function gateCheck(gate: GateReport): ValidationCheck {
  if (gate.refusedTotal > 0) {
    const more =
      gate.refusedTotal > 1
        ? `; and ${gate.refusedTotal - 1} more: ${gate.refused
            .slice(1, 4)
            .map((refusal) => describeRefusal(refusal))
            .join('; ')}`
        : ''
    return { name: GATE_CHECK, passed: false, detail: `refused ${describeRefusal(gate.refused[0])}${more}` }
  }
  const standIn = gate.standIn
    ? `; its --create preamble is understood, not run: the temporary database stands in for database ${gate.standIn} (${gate.leftOutTotal} statement(s) left out${gate.rewritten > 0 ? `, ${gate.rewritten} applied to it` : ''})`
    : ''
  return { name: GATE_CHECK, passed: true, detail: `every statement one pg_dump writes for one database${standIn}` }
}

/** Turns a scan into the checks the Validate phase reports, each passed or failed with its reason. */
export function plainDumpChecks(report: PlainScanReport): ValidationCheck[] {
  const checks: ValidationCheck[] = []
  const empty = report.bytes === 0
  checks.push({
    name: 'Format signature',
    passed: report.hasHeader,
    detail: report.hasHeader
      ? 'plain SQL dump ("-- PostgreSQL database dump")'
      : empty
        ? 'the file is empty'
        : 'no "-- PostgreSQL database dump" header in the first lines: not a plain pg_dump file'
  })
  checks.push({
    name: 'Completion trailer',
    passed: report.hasTrailer,
    detail: report.hasTrailer
      ? '"-- PostgreSQL database dump complete" at the end'
      : report.contentAfterTrailer !== undefined
        ? `unexpected content after the completion trailer: ${JSON.stringify(report.contentAfterTrailer)}`
        : `no completion trailer: the dump is truncated (it ends at byte ${report.bytes})`
  })
  const ratio = empty ? 0 : report.printableBytes / report.bytes
  checks.push({
    name: 'Readable text',
    passed: !empty && ratio > MIN_PRINTABLE_RATIO,
    detail: `${(ratio * 100).toFixed(2)}% printable (more than ${MIN_PRINTABLE_RATIO * 100}% required)`
  })
  checks.push({
    name: 'No NUL bytes',
    passed: report.nulBytes === 0,
    detail: report.nulBytes === 0 ? 'none' : `${report.nulBytes} NUL byte(s), the first at offset ${report.firstNulOffset}`
  })
  checks.push({
    name: 'No tool errors inside',
    passed: report.toolErrors.length === 0,
    detail: report.toolErrors.length === 0 ? 'none' : `the file contains error output: ${report.toolErrors.join(' | ')}`
  })
  checks.push({
    name: 'COPY blocks terminated',
    passed: report.unterminatedCopy === undefined,
    detail:
      report.unterminatedCopy === undefined
        ? `${report.copyBlocks} data block(s), all terminated`
        : `data for "${report.unterminatedCopy}" never ends: the dump is cut in the middle of a table`
  })
  checks.push({
    name: 'Statements complete',
    passed: report.unfinishedStatement === undefined,
    detail:
      report.unfinishedStatement === undefined
        ? 'the dump ends between statements'
        : `the dump ends ${report.unfinishedStatement}: it is cut, or a quote or comment in it was damaged`
  })
  checks.push(gateCheck(report.gate))
  const restrictProblem = describeRestrictPairs(report.restrictKeys, report.unrestrictKeys)
  checks.push({
    name: '\\restrict pairs',
    passed: restrictProblem === undefined,
    detail:
      restrictProblem ??
      (report.restrictKeys.length === 0
        ? 'none (dump from a client before the \\restrict fix)'
        : `${report.restrictKeys.length} \\restrict, matched by \\unrestrict`)
  })
  return checks
}

/** What is wrong with the dump's \restrict and \unrestrict lines; undefined when each key is closed by the same key. */
function describeRestrictPairs(restrictKeys: string[], unrestrictKeys: string[]): string | undefined {
  const unmatched = restrictKeys.filter((key) => !unrestrictKeys.includes(key))
  const stray = unrestrictKeys.filter((key) => !restrictKeys.includes(key))
  if (unmatched.length === 0 && stray.length === 0 && restrictKeys.length === unrestrictKeys.length) return undefined
  const short = (key: string) => (key === '' ? '(no key)' : key.length > 12 ? `${key.slice(0, 12)}…` : key)
  if (unmatched.length > 0 && stray.length > 0 && stray[0] !== '' && unmatched[0].startsWith(stray[0])) {
    return (
      `the \\unrestrict line is cut: its key ends after ${stray[0].length} of the ${unmatched[0].length} ` +
      `characters of \\restrict ${short(unmatched[0])}`
    )
  }
  if (unmatched.length > 0 && stray.length > 0) {
    return (
      `\\restrict ${short(unmatched[0])} is closed by \\unrestrict ${short(stray[0])}, another key: the ` +
      `\\unrestrict line was cut or changed`
    )
  }
  if (unmatched.length > 0) return `\\restrict ${short(unmatched[0])} has no \\unrestrict line: the end of the dump is missing`
  if (stray.length > 0)
    return `\\unrestrict ${short(stray[0])} has no \\restrict line before it: the start of the dump is missing or changed`
  return `${restrictKeys.length} \\restrict line(s) but ${unrestrictKeys.length} \\unrestrict line(s)`
}
