// The workflows cannot run here (no Docker); they are parsed and checked against what the action declares.

import { describe, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { Input, Output } from '../../../src/run/names.js'
import { ROOT } from '../../support/runner.js'

const load = (file: string) => parse(readFileSync(path.join(ROOT, file), 'utf8'))
const action = load('action.yml')
const ci = load('.github/workflows/ci.yml')
const release = load('.github/workflows/release.yml')
const fleet = load('.github/workflows/verify-fleet.yml')

interface Step {
  name?: string
  id?: string
  uses?: string
  run?: string
  with?: Record<string, string>
  env?: Record<string, string>
}

describe('action.yml', () => {
  test('runs dist/ on node24 with a post step that always runs', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post/index.js', 'post-if': 'always()' })
    expect(action.name).toBeTruthy()
    expect(action.description).toBeTruthy()
    expect(action.branding).toMatchObject({ icon: expect.any(String), color: expect.any(String) })
  })

  test('declares exactly the inputs and outputs the code uses', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Input).sort())
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Output).sort())
    for (const input of Object.values(action.inputs) as Array<{ description: string }>) expect(input.description.length).toBeGreaterThan(10)
  })
})

describe('.github/workflows/ci.yml', () => {
  test('the test job runs .ci/run', () => {
    const steps: Array<{ run?: string }> = ci.jobs.test.steps
    expect(steps.some((step) => step.run === 'bash .ci/run')).toBe(true)
  })

  test('the action verifies itself beside a healthy postgres service container', () => {
    const job = ci.jobs['verify-backup']
    const service = job.services.postgres
    expect(service.image).toBe('postgres:${{ matrix.postgres }}')
    expect(service.ports).toEqual(['5432:5432'])
    expect(service.options).toContain('--health-cmd pg_isready')
    const uses = job.steps.filter((step: { uses?: string }) => step.uses === './')
    expect(uses.length).toBeGreaterThanOrEqual(1)
    const url = uses[0].with['database-url'] as string
    expect(url).toBe(`postgresql://postgres:${service.env.POSTGRES_PASSWORD}@localhost:5432/${service.env.POSTGRES_DB}`)
    for (const key of Object.keys(uses[0].with)) expect(Object.values(Input)).toContain(key)
  })

  test('later steps read only outputs the action declares', () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/ci.yml'), 'utf8')
    // The steps that run this action, by id (another action's outputs are its own business).
    const ours = new Set(
      Object.values(ci.jobs as Record<string, { steps?: Step[] }>).flatMap((job) =>
        (job.steps ?? []).filter((step) => step.uses === './' && step.id).map((step) => step.id)
      )
    )
    const read = [...text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].filter((match) => ours.has(match[1])).map((match) => match[2])
    expect(read.length).toBeGreaterThan(0)
    for (const name of read) expect(Object.values(Output)).toContain(name)
  })
})

describe('physical backups in CI', () => {
  test('a base backup taken by the action, then the kept one verified again against its receipt', () => {
    const job = ci.jobs.physical
    expect(job.services.postgres.image).toMatch(/^postgres:\d+$/)
    const steps = job.steps as Array<{ id?: string; uses?: string; run?: string; with?: Record<string, unknown> }>
    expect(
      steps.some((step) => step.run?.includes('host replication all all scram-sha-256') && step.run.includes('pg_reload_conf()'))
    ).toBe(true)
    const created = steps.find((step) => step.id === 'created')
    const existing = steps.find((step) => step.id === 'existing')
    expect(created?.uses).toBe('./')
    expect(created?.with).toEqual(expect.objectContaining({ method: 'physical', 'keep-backup': true }))
    expect(existing?.with).toEqual({
      method: 'physical',
      'backup-file': '${{ steps.created.outputs.backup-path }}',
      receipt: '${{ steps.created.outputs.report-path }}'
    })
  })
})

describe('the README quick start is what CI runs', () => {
  test("same runner, same service, same steps; only the data file and the action address are this repository's", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const block = /## Quick start\n\n```yaml\n([\s\S]*?)```/.exec(readme)
    expect(block).not.toBeNull()
    const quick = parse(block![1]).jobs['verify-backup']
    const job = ci.jobs['quick-start']
    expect(job['runs-on']).toBe(quick['runs-on'])
    expect(job.services).toEqual(quick.services)
    const ours = (steps: Step[]) =>
      steps.map((step) => ({
        ...step,
        ...(step.run ? { run: step.run.replace('__tests__/fixtures/sample-database.sql', 'db/schema.sql') } : {}),
        ...(step.uses === './' ? { uses: 'org/backup-verify@v1' } : {})
      }))
    expect(ours(job.steps)).toEqual(quick.steps)
  })
})

describe('every runner OS', () => {
  const job = ci.jobs['runner-os']

  test('Linux x64 and arm64, macOS and Windows, each with the client it finds and with one it downloads', () => {
    expect(job['runs-on']).toBe('${{ matrix.os }}')
    expect(job.strategy.matrix.os).toEqual(['ubuntu-latest', 'ubuntu-24.04-arm', 'macos-latest', 'windows-latest'])
    expect(job.strategy.matrix.tools).toEqual(['found', 'downloaded'])
    expect(job.strategy['fail-fast']).toBe(false)
    expect(job.defaults.run.shell).toBe('bash')
  })

  test('a server started on the runner itself (no service containers off Linux), then the action on it', () => {
    const steps: Step[] = job.steps
    const setup = steps.find((step) => step.uses?.startsWith('ikalnytskyi/action-setup-postgres@'))
    expect(setup?.id).toBe('postgres')
    const action = steps.find((step) => step.uses === './') as Step
    expect(action.with?.['database-url']).toBe('${{ steps.postgres.outputs.connection-uri }}')
    // tool-cache ignores the installed client: that leg downloads one for its system.
    expect(action.with?.['tools-source']).toBe("${{ matrix.tools == 'downloaded' && 'tool-cache' || 'any' }}")
    for (const key of Object.keys(action.with ?? {})) expect(Object.values(Input)).toContain(key)
    const check = steps[steps.length - 1]
    expect(check.env?.CLIENT_SOURCE).toBe('${{ steps.verify.outputs.client-source }}')
    expect(check.run).toContain('test "$CLIENT_SOURCE" = "$EXPECTED_SOURCE"')
  })
})

describe('.github/workflows/release.yml', () => {
  test('runs on a pushed vX.Y.Z tag only, one release at a time, none cancelled', () => {
    expect(release.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } })
    expect(release.permissions).toEqual({ contents: 'read' })
    expect(release.concurrency).toEqual({ group: 'release', 'cancel-in-progress': false })
  })

  test('checks the tagged commit (.ci/run: dist/ against a fresh build) and that the tag, version and CHANGELOG agree', () => {
    const runs = (release.jobs.check.steps as Step[]).map((step) => step.run ?? '')
    expect(runs).toContain('bash .ci/run')
    expect(runs.join('\n')).toContain('test "v$(node -p "require(\'./package.json\').version")" = "$GITHUB_REF_NAME"')
    expect(runs.join('\n')).toContain('node scripts/release.mjs notes "$GITHUB_REF_NAME"')
  })

  test('then releases with the CHANGELOG section and moves the major tag, with write access there alone', () => {
    const job = release.jobs.release
    expect(job.needs).toBe('check')
    expect(job.permissions).toEqual({ contents: 'write' })
    const runs = (job.steps as Step[]).map((step) => step.run ?? '').join('\n')
    expect(runs).toContain('node scripts/release.mjs notes "$GITHUB_REF_NAME" > "$RUNNER_TEMP/notes.md"')
    expect(runs).toContain('gh release create "$GITHUB_REF_NAME" --verify-tag')
    expect(runs).toContain('major="${GITHUB_REF_NAME%%.*}"')
    expect(runs).toContain('git push --force origin "refs/tags/$major"')
    // The tag is held to every release of its major before the major tag moves to it.
    expect(runs.indexOf('node scripts/release.mjs newest "$GITHUB_REF_NAME"')).toBeGreaterThan(-1)
    expect(runs.indexOf('node scripts/release.mjs newest')).toBeLessThan(runs.indexOf('git tag --force'))
  })
})

/**
 * The majors of GitHub's own actions, and the runtime each one's action.yml names (runs.using), read
 * from the actions' repositories on 2026-12-04. Node 20 left GitHub's runners in September 2026: an
 * example or a workflow on a major that runs on it does not run. A major not listed fails until it is
 * looked up and added here.
 */
const ACTION_MAJORS: Record<string, Record<number, 'node24' | 'node20' | 'node16' | 'node12'>> = {
  'actions/checkout': { 2: 'node12', 3: 'node16', 4: 'node20', 5: 'node24', 6: 'node24', 7: 'node24' },
  'actions/setup-node': { 2: 'node12', 3: 'node16', 4: 'node20', 5: 'node24', 6: 'node24', 7: 'node24' },
  'actions/cache': { 2: 'node12', 3: 'node16', 4: 'node20', 5: 'node24' },
  'actions/cache/restore': { 3: 'node16', 4: 'node20', 5: 'node24' },
  'actions/cache/save': { 3: 'node16', 4: 'node20', 5: 'node24' },
  'actions/upload-artifact': { 2: 'node12', 3: 'node16', 4: 'node20', 5: 'node20', 6: 'node24', 7: 'node24' },
  'actions/download-artifact': { 2: 'node12', 3: 'node16', 4: 'node20', 5: 'node20', 6: 'node20', 7: 'node24', 8: 'node24' },
  'actions/github-script': { 6: 'node16', 7: 'node20', 8: 'node24' },
  'actions/setup-python': { 4: 'node16', 5: 'node20', 6: 'node24', 7: 'node24' }
}

describe("every uses: of GitHub's own actions", () => {
  const files = [
    ...readdirSync(path.join(ROOT, '.github', 'workflows')).map((name) => `.github/workflows/${name}`),
    'README.md',
    'CONTRIBUTING.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`)
  ]
  const uses = files.flatMap((file) =>
    [...readFileSync(path.join(ROOT, file), 'utf8').matchAll(/uses:\s*['"]?(actions\/[\w./-]+?)@([^\s'"]+)/g)].map((match) => ({
      file,
      action: match[1],
      ref: match[2]
    }))
  )

  test('is on a major whose action.yml runs on node24', () => {
    expect(uses.length).toBeGreaterThan(10)
    for (const { file, action: name, ref } of uses) {
      const major = /^v(\d+)$/.exec(ref)?.[1]
      const runtime = major === undefined ? undefined : ACTION_MAJORS[name]?.[Number(major)]
      expect({ file, uses: `${name}@${ref}`, runtime }).toEqual({ file, uses: `${name}@${ref}`, runtime: 'node24' })
    }
  })

  test('every job of every workflow has a time limit (a job that calls a workflow takes the limits of its jobs)', () => {
    for (const workflow of [ci, release, fleet])
      for (const [name, job] of Object.entries(workflow.jobs as Record<string, { 'timeout-minutes'?: number | string; uses?: string }>)) {
        if (job.uses) continue
        expect({ name, limit: job['timeout-minutes'] }).toEqual({
          name,
          limit: typeof job['timeout-minutes'] === 'string' ? expect.stringMatching(/^\$\{\{ inputs\.[\w-]+ \}\}$/) : expect.any(Number)
        })
      }
  })
})
