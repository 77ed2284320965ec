// The command line as a package people install: npm pack holds dist/cli alone, with no runtime
// dependency, under 2 MB; installed from that tarball (globally, into a folder of the test's own),
// `backup-verify` runs.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../support/runner.js'

const run = promisify(execFile)
let work: string

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-package-'))
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('the backup-verify package', () => {
  test('npm pack: dist/cli, the README and the licence, no dependency, under 2 MB; installed, its command runs', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>
    expect(packed.files.map((file) => file.path).sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist/cli/index.js',
      'dist/cli/licenses.txt',
      'dist/cli/package.json',
      'package.json'
    ])
    expect(packed.size).toBeLessThan(2 * 1024 * 1024)
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'))
    expect(manifest.dependencies ?? {}).toEqual({})
    expect(manifest.bin).toEqual({ 'backup-verify': 'dist/cli/index.js' })
    expect(manifest.private).toBeUndefined()
    // Installed as npm install -g installs it, with nothing fetched from a registry.
    const prefix = path.join(work, 'global')
    await run('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', path.join(work, packed.filename)])
    const help = await run(path.join(prefix, 'bin', 'backup-verify'), ['--help'])
    expect(help.stdout).toMatch(/^Usage: backup-verify \[options\]/)
    const bad = await run(path.join(prefix, 'bin', 'backup-verify'), ['--format', 'zip']).catch(
      (error: { code: number; stderr: string }) => error
    )
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('Input "format" has an invalid value "zip"') })
  })
})
