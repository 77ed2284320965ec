// What a run reads off a repository, without the tool: pgBackRest's info, the backup chosen, the
// WAL archive's holes, and the options the environment gives pgBackRest.

import { describe, expect, test } from '@jest/globals'
import { parseStanzaInfo } from '../../../src/repository/pgbackrest-info.js'
import { chooseBackup, type RepositoryBackup } from '../../../src/repository/repository-backup.js'
import { walGaps } from '../../../src/repository/wal-continuity.js'
import { environmentOptions } from '../../../src/repository/pgbackrest.js'
import { type VerificationError } from '../../../src/run/errors.js'

// As pgBackRest 2.45 prints it (trimmed); the system id is a 64-bit number JSON.parse rounds, and is not read.
const INFO = `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000008","min":"000000010000000000000001"}],
 "backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},"database":{"id":1,"repo-key":1},"error":false,
   "info":{"delta":23016721,"repository":{"delta":3034112,"size":3034112},"size":23016721},"label":"20261203-215613F","lsn":{"start":"0/3000028","stop":"0/3000100"},
   "prior":null,"reference":null,"timestamp":{"start":1796334973,"stop":1796334975},"type":"full"},
  {"archive":{"start":"000000010000000000000005","stop":"000000010000000000000005"},"database":{"id":1,"repo-key":1},"error":true,
   "info":{"delta":778506,"repository":{"delta":103342,"size":4082664},"size":30553876},"label":"20261203-215613F_20261203-215616D","lsn":{"start":"0/5000028","stop":"0/5000100"},
   "prior":"20261203-215613F","timestamp":{"start":1796334976,"stop":1796334977},"type":"diff"}],
 "cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7715199947440278985,"version":"15"}],"name":"main",
 "status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]`

describe('pgbackrest info', () => {
  test('backups in the shape both repositories share: label, type, times, sizes, WAL, major, prior, its archive', () => {
    const info = parseStanzaInfo(INFO, 'main', 'the repository')
    expect(info.backups[0]).toEqual({
      label: '20261203-215613F',
      type: 'full',
      startedAt: new Date(1796334973000),
      stoppedAt: new Date(1796334975000),
      sizeBytes: 23016721,
      repositoryBytes: 3034112,
      wal: { start: '000000010000000000000003', stop: '000000010000000000000003' },
      lsn: { start: '0/3000028', stop: '0/3000100' },
      major: 15,
      prior: undefined,
      archiveId: '15-1',
      error: undefined
    })
    expect(info.backups[1]).toMatchObject({
      type: 'diff',
      prior: '20261203-215613F',
      error: expect.stringContaining('page checksum errors')
    })
    expect(info.archives).toEqual([{ id: '15-1', min: '000000010000000000000001', max: '000000010000000000000008' }])
  })

  test.each([
    [`[{"name":"main","status":{"code":1,"message":"missing stanza path"}}]`, /not in the repository/],
    [`[{"name":"main","status":{"code":99,"message":"other"}}]`, /wrong passphrase/],
    [`[{"name":"other","status":{"code":0}}]`, /does not list it/],
    ['ERROR: not json', /did not print JSON/]
  ])('%s cannot be verified, and says why', (text, reason) => {
    expect(() => parseStanzaInfo(text, 'main', 'here')).toThrow(reason)
  })
})

const backup = (label: string, stoppedAt: string): RepositoryBackup => ({
  label,
  type: 'full',
  startedAt: new Date(stoppedAt),
  stoppedAt: new Date(stoppedAt),
  wal: {},
  lsn: {},
  major: 15
})

describe('the backup a run verifies', () => {
  const backups = [backup('b', '2026-12-02T03:00:00Z'), backup('a', '2026-12-01T03:00:00Z'), backup('c', '2026-12-03T03:00:00Z')]
  test('the newest; the one named; with a target time, the newest that ended before it', () => {
    expect(chooseBackup(backups, undefined, 'here').label).toBe('c')
    expect(chooseBackup(backups, 'a', 'here').label).toBe('a')
    expect(chooseBackup(backups, undefined, 'here', new Date('2026-12-02T12:00:00Z')).label).toBe('b')
  })

  test('one the repository lacks, none before the target, or none at all: backup-missing, saying what there is', () => {
    expect(() => chooseBackup(backups, 'z', 'here')).toThrow(/here has no backup z; it has 3 backup\(s\): b, a, c/)
    expect(() => chooseBackup(backups, undefined, 'here', new Date('2026-11-01T00:00:00Z'))).toThrow(/no backup that ended before/)
    try {
      chooseBackup([], undefined, 'here')
    } catch (error) {
      expect((error as VerificationError).problem).toBe('backup-missing')
    }
  })
})

describe('holes in a WAL archive', () => {
  const names = (from: number, to: number, timeline = 1, log = 0) =>
    Array.from(
      { length: to - from + 1 },
      (_, i) =>
        `${timeline.toString(16).padStart(8, '0').toUpperCase()}${log.toString(16).padStart(8, '0').toUpperCase()}${(from + i).toString(16).padStart(8, '0').toUpperCase()}`
    )

  test('none: every segment from the backup start to the newest', () => {
    expect(walGaps(names(1, 9), '000000010000000000000003')).toEqual([])
  })

  test('one taken out after the start is named; one before the start does not matter', () => {
    const all = names(1, 9).filter((name) => !name.endsWith('06') && !name.endsWith('02'))
    expect(walGaps(all, '000000010000000000000003')).toEqual(['000000010000000000000006'])
  })

  test("the backup's own first segment missing is named", () => {
    expect(walGaps(names(4, 6), '000000010000000000000003')).toEqual(['000000010000000000000003'])
  })

  test('across a log boundary, its size learnt from a log the archive moved past', () => {
    const all = [...names(0xfd, 0xff, 1, 0), ...names(0, 2, 1, 1)]
    expect(walGaps(all, '0000000100000000000000FD')).toEqual([])
    expect(
      walGaps(
        all.filter((name) => name !== '000000010000000100000000'),
        '0000000100000000000000FD'
      )
    ).toEqual(['000000010000000100000000'])
  })

  test('a later timeline is checked from its own first segment', () => {
    const all = [...names(3, 6), ...names(6, 9, 2).filter((name) => !name.endsWith('08'))]
    expect(walGaps(all, '000000010000000000000003')).toEqual(['000000020000000000000008'])
  })
})

describe("pgBackRest's options from the environment", () => {
  test('become configuration lines; command-line-only options and values on several lines do not', () => {
    expect(
      environmentOptions({
        PGBACKREST_REPO1_CIPHER_PASS: 'p@ss',
        PGBACKREST_REPO1_S3_KEY_SECRET: 'k',
        PGBACKREST_CONFIG: '/etc/x.conf',
        PGBACKREST_STANZA: 'main',
        PGBACKREST_REPO1_PATH: 'a\nrepo1-path=/elsewhere',
        PATH: '/usr/bin'
      })
    ).toEqual(['repo1-cipher-pass=p@ss', 'repo1-s3-key-secret=k'])
  })
})
