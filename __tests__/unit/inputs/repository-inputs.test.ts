// The repository methods' inputs (pgbackrest, barman): refused where they mean nothing, checked before any tool runs.

import { describe, expect, test } from '@jest/globals'
import os from 'node:os'
import path from 'node:path'
import { loadSettings } from '../../../src/inputs/inputs.js'
import { InputError } from '../../../src/run/errors.js'

function settings(inputs: Record<string, string>, environment: Record<string, string> = {}) {
  return loadSettings({ get: (name) => inputs[name] ?? '', environment, workingDirectory: os.tmpdir() })
}

describe('method: pgbackrest', () => {
  test('needs no database-url, reads the stanza, the configuration and the backup set, and verifies by default', () => {
    const read = settings({
      method: 'pgbackrest',
      'pgbackrest-stanza': 'main',
      'pgbackrest-config': 'conf/pgbackrest.conf',
      'backup-set': '20261201-101500F'
    })
    expect(read.method).toBe('pgbackrest')
    expect(read.connection.kind).toBe('none')
    expect(read.repository).toEqual({
      tool: 'pgbackrest',
      stanza: 'main',
      config: { path: path.join(os.tmpdir(), 'conf/pgbackrest.conf'), given: 'conf/pgbackrest.conf' },
      set: '20261201-101500F',
      verify: true,
      toolPath: undefined
    })
    // Counted, as a base backup is: its rows are not in any dump to fingerprint.
    expect(read.verifyLevel).toBe('rows')
  })

  test('a DATABASE_URL in the environment is left alone; database-url given is refused', () => {
    expect(settings({ method: 'pgbackrest', 'pgbackrest-stanza': 'main' }, { DATABASE_URL: 'postgresql://u:p@h/d' }).connection.kind).toBe(
      'none'
    )
    expect(() => settings({ method: 'pgbackrest', 'pgbackrest-stanza': 'main', 'database-url': 'postgresql://u:secret@h/d' })).toThrow(
      /Input "database-url".*empty with method: pgbackrest/
    )
    try {
      settings({ method: 'pgbackrest', 'pgbackrest-stanza': 'main', 'database-url': 'postgresql://u:secret@h/d' })
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('secret')
    }
  })

  test.each([
    [{ 'pgbackrest-stanza': '' }, 'pgbackrest-stanza'],
    [{ 'pgbackrest-stanza': 'main; rm -rf /' }, 'pgbackrest-stanza'],
    [{ 'pgbackrest-stanza': 'main', 'pgbackrest-verify': 'maybe' }, 'pgbackrest-verify'],
    [{ 'pgbackrest-stanza': 'main', 'backup-set': '../x' }, 'backup-set'],
    [{ 'pgbackrest-stanza': 'main', 'backup-file': 'b.sql' }, 'backup-file'],
    [{ 'pgbackrest-stanza': 'main', 'wal-archive': 'wal' }, 'wal-archive'],
    [{ 'pgbackrest-stanza': 'main', 'barman-server': 'pg' }, 'barman-server']
  ])('%j is refused, naming %s', (inputs, name) => {
    expect(() => settings({ method: 'pgbackrest', ...inputs })).toThrow(InputError)
    expect(() => settings({ method: 'pgbackrest', ...inputs })).toThrow(new RegExp(`Input "${name}"`))
  })

  test('a recovery target needs no wal-archive: the repository keeps the archive', () => {
    const read = settings({ method: 'pgbackrest', 'pgbackrest-stanza': 'main', 'recovery-target-time': '2026-12-01 10:30:00+00' })
    expect(read.recoveryTarget).toEqual({ time: '2026-12-01 10:30:00+00' })
  })

  test('the repository secrets pgBackRest reads from the environment are masked', () => {
    const read = settings(
      { method: 'pgbackrest', 'pgbackrest-stanza': 'main' },
      { PGBACKREST_REPO1_CIPHER_PASS: 'open-sesame-42', PGBACKREST_REPO1_S3_KEY_SECRET: 'k3y/s3cret+x', PGBACKREST_REPO1_PATH: '/repo' }
    )
    expect(read.secrets).toEqual(expect.arrayContaining(['open-sesame-42', 'k3y/s3cret+x']))
    expect(read.secrets).not.toContain('/repo')
  })
})

describe('method: barman', () => {
  test('reads the server and the backup id', () => {
    const read = settings({ method: 'barman', 'barman-server': 'pg', 'backup-set': '20261201T101500' })
    expect(read.repository).toMatchObject({ tool: 'barman', server: 'pg', set: '20261201T101500' })
    expect(read.connection.kind).toBe('none')
  })

  test.each([
    [{ 'barman-server': '' }, 'barman-server'],
    [{ 'barman-server': 'pg', 'pgbackrest-stanza': 'main' }, 'pgbackrest-stanza']
  ])('%j is refused, naming %s', (inputs, name) => {
    expect(() => settings({ method: 'barman', ...inputs })).toThrow(new RegExp(`Input "${name}"`))
  })
})

describe('other methods', () => {
  test.each(['backup-set', 'pgbackrest-stanza', 'pgbackrest-config', 'barman-server', 'barman-path'])(
    '%s is refused with method logical',
    (name) => {
      expect(() => settings({ method: 'logical', 'database-url': 'postgresql://u@h/d', [name]: 'x' })).toThrow(
        new RegExp(`Input "${name}"`)
      )
    }
  )

  test('an unknown method names the four it accepts', () => {
    expect(() => settings({ method: 'wal-g', 'database-url': 'postgresql://u@h/d' })).toThrow(/logical.*physical.*pgbackrest or barman/)
  })
})
