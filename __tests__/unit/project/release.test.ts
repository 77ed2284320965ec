// scripts/release.mjs in a throwaway repository: a release is prepared only from a clean tree with
// something to say, bumps the version, dates the CHANGELOG section and tags; its notes read back.

import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from '../../support/runner.js'

const SCRIPT = path.join(ROOT, 'scripts', 'release.mjs')
let repo: string

const CHANGELOG = `# Changelog

## [Unreleased]

### Fixed

- A table with a tab in its name is compared by content.

## [1.0.0] - 2026-11-01

### Added

- The first release.

[Unreleased]: https://github.com/org/backup-verify/compare/v1.0.0...HEAD
[1.0.0]: https://github.com/org/backup-verify/releases/tag/v1.0.0
`

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim()
}

function release(...args: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: repo, encoding: 'utf8' })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

beforeEach(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-release-'))
  git('init', '-q', '-b', 'main')
  git('config', 'user.email', 'release@example.com')
  git('config', 'user.name', 'Release Test')
  await writeFile(path.join(repo, 'package.json'), `${JSON.stringify({ name: 'backup-verify', version: '1.0.0' }, null, 2)}\n`)
  await writeFile(
    path.join(repo, 'package-lock.json'),
    `${JSON.stringify({ name: 'backup-verify', version: '1.0.0', packages: { '': { version: '1.0.0' } } }, null, 2)}\n`
  )
  await writeFile(path.join(repo, 'CHANGELOG.md'), CHANGELOG)
  git('add', '.')
  git('commit', '-q', '-m', 'start')
})

afterEach(async () => {
  await rm(repo, { recursive: true, force: true })
})

describe('prepare', () => {
  test('bumps both version files, dates the section under a new Unreleased, commits and tags', async () => {
    const run = release('prepare', '1.1.0', '--date', '2026-12-02', '--skip-checks')
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('git push origin HEAD v1.1.0')
    expect(JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')).version).toBe('1.1.0')
    const lock = JSON.parse(await readFile(path.join(repo, 'package-lock.json'), 'utf8'))
    expect([lock.version, lock.packages[''].version]).toEqual(['1.1.0', '1.1.0'])
    const changelog = await readFile(path.join(repo, 'CHANGELOG.md'), 'utf8')
    expect(changelog).toContain('## [Unreleased]\n\n## [1.1.0] - 2026-12-02\n\n### Fixed\n\n- A table with a tab')
    expect(changelog).toContain('[Unreleased]: https://github.com/org/backup-verify/compare/v1.1.0...HEAD')
    expect(changelog).toContain('[1.1.0]: https://github.com/org/backup-verify/compare/v1.0.0...v1.1.0')
    expect(changelog).toContain('[1.0.0]: https://github.com/org/backup-verify/releases/tag/v1.0.0')
    expect(git('log', '-1', '--format=%s')).toBe('Release v1.1.0')
    expect(git('rev-list', '-n', '1', 'v1.1.0')).toBe(git('rev-parse', 'HEAD'))
    expect(git('status', '--porcelain')).toBe('')
    // The release workflow's notes: that section alone.
    const notes = release('notes', 'v1.1.0')
    expect(notes.stdout).toBe('### Fixed\n\n- A table with a tab in its name is compared by content.\n')
  })

  test.each([
    ['an old version', ['prepare', '1.0.0'], '1.0.0 is not newer than the current version 1.0.0'],
    ['a version that is not one', ['prepare', 'v1.2'], '"v1.2" is not a version of the form 1.2.3'],
    ['nothing to say', ['prepare', '1.1.0'], 'the Unreleased section of CHANGELOG.md lists no change'],
    ['a tree with changes', ['prepare', '1.1.0'], 'the working tree has changes: commit or stash them first']
  ])('refused: %s, nothing changed', async (what, args, message) => {
    if (what === 'nothing to say') {
      await writeFile(path.join(repo, 'CHANGELOG.md'), CHANGELOG.replace(/### Fixed\n\n- A table[^\n]*\n/, ''))
      git('commit', '-q', '-am', 'empty')
    }
    if (what === 'a tree with changes') await writeFile(path.join(repo, 'stray.txt'), 'x')
    const head = git('rev-parse', 'HEAD')
    const run = release(...args, '--skip-checks')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(git('rev-parse', 'HEAD')).toBe(head)
    expect(git('tag', '--list')).toBe('')
  })

  test('a tag not higher than every release of its major is refused: the major tag never moves backwards', () => {
    git('tag', 'v1.3.0')
    git('tag', 'v2.0.0')
    const late = release('newest', 'v1.2.9')
    expect(late.code).toBe(1)
    expect(late.stderr).toContain('v1.2.9 is not the newest release of v1: v1.3.0 exist already; v1 would move backwards')
    expect(release('newest', 'v1.3.0').code).toBe(0)
    expect(release('newest', 'v1.3.1').code).toBe(0)
    const prepared = release('prepare', '1.1.0', '--date', '2026-12-02', '--skip-checks')
    expect(prepared.code).toBe(1)
    expect(prepared.stderr).toContain('v1.1.0 is not the newest release of v1')
    expect(git('tag', '--list', 'v1.1.0')).toBe('')
  })

  test('notes of a version the CHANGELOG does not have: an error', () => {
    const run = release('notes', '9.9.9')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('CHANGELOG.md has no section for 9.9.9')
  })
})

test("the repository's own CHANGELOG: 1.0.0 says what the first release holds; what is Unreleased can be released", async () => {
  const changelog = await readFile(path.join(ROOT, 'CHANGELOG.md'), 'utf8')
  const version = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version as string
  await writeFile(path.join(repo, 'CHANGELOG.md'), changelog)
  git('commit', '-q', '-am', 'the real changelog')
  if (version !== '0.1.0') {
    // Released: the first release's notes are the whole of it, from Create, Validate and Restore on.
    expect(release('notes', '1.0.0').stdout).toMatch(/^### Added\n\n- Create, Validate and Restore/)
    expect(changelog).toMatch(new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d\\d-\\d\\d$`, 'm'))
  }
  const unreleased = /## \[Unreleased\]\n([\s\S]*?)\n## \[/.exec(changelog)?.[1] ?? ''
  if (!/^\s*- /m.test(unreleased)) return
  const run = release('prepare', '9.0.0', '--date', '2026-12-02', '--skip-checks')
  expect(run.stderr).toBe('')
  expect(release('notes', '9.0.0').stdout).toMatch(/^### \w+\n\n- /)
})
