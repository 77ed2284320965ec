// What the runner's annotations carry besides their text: a title, and the file of the repository a
// failure is about (the backup, the history, the checks) when the input naming it lies in the
// workspace, so that the annotation sits on that file in the pull request's view.

import path from 'node:path'
import type { AnnotationProperties } from '@actions/core'
import type { VerificationResult } from '../report/result.js'
import { Input } from '../run/names.js'

/** The inputs that name a file of the repository, and the failures each is the place of. */
const FILE_INPUTS: Array<{ input: string; problems: string[] }> = [
  {
    input: Input.BackupFile,
    problems: ['backup-invalid', 'backup-refused', 'backup-too-small', 'restore-failed', 'restore-mismatch', 'extensions-missing']
  },
  { input: Input.History, problems: ['history-unwritable'] },
  { input: Input.Checks, problems: ['check-failed'] },
  { input: Input.Receipt, problems: ['receipt-mismatch'] }
]

/**
 * The file an input names, as a path from the workspace's root; none when the input names no file
 * (checks written inline) or one outside the workspace, which no annotation can point at.
 */
function workspaceFile(input: string, given: string, workspace: string | undefined): string | undefined {
  const text = given.trim()
  if (text === '' || /[\r\n]/.test(text)) return undefined
  if (input === Input.Checks && !/\.sql$/i.test(text)) return undefined
  const root = workspace || process.cwd()
  const relative = path.relative(root, path.resolve(root, text))
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined
  return relative.split(path.sep).join('/')
}

/** What the inputs that name files say, read at the start: the run drops every INPUT_* variable once it has its settings. */
export function fileInputs(get: (name: string) => string): (name: string) => string {
  const given = new Map(FILE_INPUTS.map(({ input }) => [input, get(input)]))
  return (name) => given.get(name) ?? ''
}

/**
 * A failed run's annotation: titled by its problem (or the input at fault), on the file it concerns.
 * failedChecks: the checks that did not pass; freshness-query's alone (expect: time) are not the checks file's.
 */
export function failureAnnotation(
  error: Pick<NonNullable<VerificationResult['error']>, 'problem' | 'input'> | undefined,
  inputOf: (name: string) => string,
  workspace = process.env.GITHUB_WORKSPACE,
  failedChecks: Array<{ expect: string }> = []
): AnnotationProperties {
  const title = error?.input ? `backup-verify: input ${error.input}` : `backup-verify: ${error?.problem ?? 'failed'}`
  const at = FILE_INPUTS.find(({ input, problems }) => input === error?.input || problems.includes(error?.problem ?? ''))
  const freshnessAlone = at?.input === Input.Checks && failedChecks.length > 0 && failedChecks.every((check) => check.expect === 'time')
  const file = at && !freshnessAlone && workspaceFile(at.input, inputOf(at.input), workspace)
  return file ? { title, file } : { title }
}

/** A warning's title: the threshold of an alert, else the action's name. */
export function warningTitle(message: string): string {
  const alert = /^Alert \(([a-z-]+)\):/.exec(message)
  return alert ? `backup-verify: alert ${alert[1]}` : 'backup-verify'
}
