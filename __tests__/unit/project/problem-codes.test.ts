// The problem codes are published once: src/run/errors.ts lists them, docs/troubleshooting.md says
// what each means and receipt.schema.json allows exactly them. No server: files and values only.

import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describeFailure } from '../../../src/engine/failure.js'
import { PROBLEM_CODES } from '../../../src/run/errors.js'
import { Redactor } from '../../../src/run/secrets.js'
import { ROOT } from '../../support/runner.js'

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')

/** A failure that is no VerificationError: the one code beyond the list. */
const unexpected = describeFailure(new Error('something else'), 'Create', new Redactor()).problem
const published = [...PROBLEM_CODES, unexpected].sort()

/** The rows of the table under "## Problem codes": the code (first cell) and what is said of it. */
function documentedCodes(): Array<{ code: string; said: string }> {
  const page = read('docs/troubleshooting.md')
  const start = page.indexOf('\n## Problem codes\n')
  expect(start).toBeGreaterThan(-1)
  const section = page.slice(start + 1).split(/\n## /)[0]
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => /^\| `([a-z-]+)` \| (.+) \|$/.exec(line))
  expect(rows).not.toContain(null)
  return rows.map((match) => ({ code: match![1], said: match![2] }))
}

describe('problem codes', () => {
  test('the list has no code twice, and a failure it does not name is unexpected', () => {
    expect(new Set(PROBLEM_CODES).size).toBe(PROBLEM_CODES.length)
    expect(unexpected).toBe('unexpected')
    expect(PROBLEM_CODES).not.toContain(unexpected)
  })

  test('docs/troubleshooting.md names every code once, each with what it means and what to check', () => {
    const rows = documentedCodes()
    expect(rows.map(({ code }) => code).sort()).toEqual(published)
    for (const { code, said } of rows) expect({ code, said: said.length > 40 }).toEqual({ code, said: true })
  })

  test("receipt.schema.json allows exactly these in the receipt's error.problem", () => {
    const schema = JSON.parse(read('receipt.schema.json')) as {
      properties: { error: { properties: { problem: { enum: string[] } } } }
    }
    const allowed = schema.properties.error.properties.problem.enum
    expect(new Set(allowed).size).toBe(allowed.length)
    expect([...allowed].sort()).toEqual(published)
  })
})
