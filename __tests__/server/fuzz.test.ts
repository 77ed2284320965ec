// Hostile and random input values: every one gives a clean error naming the input (or is accepted),
// never a crash; and hostile database names reach the server only as names.

import { describe, expect, test } from '@jest/globals'
import { readdir } from 'node:fs/promises'
import os from 'node:os'
import { loadSettings } from '../../src/inputs/inputs.js'
import { readReferences } from '../../src/engine/references.js'
import { Input } from '../../src/run/names.js'
import { VerificationError } from '../../src/run/errors.js'
import { runBundle } from '../support/runner.js'
import { temporaryDatabases, useServer } from '../support/server.js'

/** A small seeded generator, so that a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const HOSTILE = [
  '',
  ' ',
  '-1',
  '1e9999',
  'NaN',
  'true; rm -rf ~',
  '$(touch /tmp/pwned)',
  '`id`',
  "'; DROP DATABASE postgres; --",
  '"; DROP TABLE x; --',
  '../../etc/passwd',
  '\u0000',
  '\r\n::error::injected',
  '%00%0a',
  '{version}{target}',
  'postgresql://u:p@h/d',
  'x'.repeat(100_000),
  '🙂'.repeat(1000),
  '\\\\server\\share',
  '0x10',
  '10 KiBB'
]

function generated(count: number, seed: number): string[] {
  const next = random(seed)
  const alphabet = [
    'a',
    'Z',
    '9',
    '.',
    ':',
    '/',
    '@',
    '%',
    '?',
    '#',
    '&',
    '=',
    '+',
    "'",
    '"',
    '\\',
    ' ',
    '\n',
    '\t',
    '\u0001',
    '\u007f',
    'é',
    '中',
    '$',
    '`',
    ';',
    '|',
    '(',
    ')',
    '{',
    '}',
    '-',
    '0'
  ]
  return Array.from({ length: count }, () => {
    const length = Math.floor(next() ** 3 * 300)
    return Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('')
  })
}

describe('every input, given hostile and random values', () => {
  const values = [...HOSTILE, ...generated(300, 20261124)]
  test.each(Object.values(Input))('%s: accepted, or refused with an error that names it', async (input) => {
    let refused = 0
    for (const value of values) {
      const inputs: Record<string, string> = { 'database-url': 'postgresql://app@db.example.test/shop', [input]: value }
      try {
        // Parsed, then the files inputs name read, as the engine reads them before it connects.
        await readReferences(loadSettings({ get: (name) => inputs[name] ?? '', environment: {}, workingDirectory: os.tmpdir() }))
      } catch (error) {
        refused++
        expect(error).toBeInstanceOf(VerificationError)
        const message = (error as Error).message
        expect(message.startsWith(`Input "${input}" has an invalid value `)).toBe(true)
        expect(message.length).toBeLessThan(100_000 + 2_000)
      }
    }
    expect(refused).toBeGreaterThan(0)
  })
})

describe('hostile database names against a real server', () => {
  const { server, work: temp } = useServer('fuzz')

  test.each(["x'; DROP DATABASE postgres; --", '$(touch pwned)', '../../tmp/escape', 'a"b'])(
    '%j is only a name: "does not exist", nothing created or run',
    async (name) => {
      const url = `postgresql://postgres:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${encodeURIComponent(name)}`
      const run = await runBundle('dist/cli/index.js', { env: { DATABASE_URL: url, RUNNER_TEMP: temp }, cwd: temp })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('FAILED: Database "')
      expect(run.stderr).toMatch(/does not exist at 127\.0\.0\.1:\d+\./)
      expect(run.stderr).not.toMatch(/\n\s+at /)
      expect((await server.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname = 'postgres'")).length).toBe(1)
      expect(await temporaryDatabases(server)).toEqual([])
      expect((await readdir(temp)).filter((entry) => entry !== 'tool-cache' && !entry.startsWith('backup-verify-receipt-'))).toEqual([])
    }
  )
})
