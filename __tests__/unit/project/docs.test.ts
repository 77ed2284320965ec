// The user's pages: the README stays one screen of what matters, its tables say what action.yml
// declares, every link lands, and the files a published action carries are there.

import { describe, expect, test } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { parseChecks } from '../../../src/compare/checks.js'
import { ENTRY_KEYS } from '../../../src/fleet/workflow.js'
import { ROOT } from '../../support/runner.js'

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')
const readme = read('README.md')
const action = parse(read('action.yml')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}

describe('README.md', () => {
  test('is a page a user reads: at most 15 KB, no table cell over 200 characters', () => {
    expect(statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(15 * 1024)
    for (const line of readme.split('\n').filter((line) => line.startsWith('|'))) {
      for (const cell of line.split('|')) expect(cell.trim().length).toBeLessThanOrEqual(200)
    }
  })

  test('the inputs table names every input of action.yml, with the same defaults', () => {
    const rows = tableUnder(readme, 'Inputs')
    expect([...rows.keys()].sort()).toEqual(Object.keys(action.inputs).sort())
    for (const [name, declared] of Object.entries(action.inputs)) {
      const shown = rows.get(name)![0]
      // A declared default is shown as it is; an empty one says in words what happens instead.
      if (declared.default) expect({ name, shown }).toEqual({ name, shown: `\`${declared.default}\`` })
      else expect({ name, shown }).toEqual({ name, shown: expect.stringMatching(/^\*\(.+\)\*$/) })
      expect(rows.get(name)![1].length).toBeGreaterThan(10)
    }
  })

  test('the outputs table names every output of action.yml', () => {
    expect([...tableUnder(readme, 'Outputs').keys()].sort()).toEqual(Object.keys(action.outputs).sort())
  })

  test('every workflow snippet is YAML; the history is kept by run, found by prefix, saved when the run failed too', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1])
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    for (const block of blocks) expect(() => parse(block)).not.toThrow()
    const scheduled = blocks
      .map((block) => parse(block))
      .find((doc) => doc?.on?.schedule && JSON.stringify(doc).includes('actions/cache/restore@'))
    const steps = scheduled.jobs['verify-backup'].steps as Array<{ uses?: string; if?: string; with?: Record<string, string> }>
    const restore = steps.find((step) => step.uses?.startsWith('actions/cache/restore@'))
    const verify = steps.find((step) => step.uses?.startsWith('org/backup-verify@'))
    const save = steps.find((step) => step.uses?.startsWith('actions/cache/save@'))
    expect(restore?.with?.key).toContain('${{ github.run_id }}')
    expect(restore?.with?.key.startsWith(restore?.with?.['restore-keys'] ?? '-')).toBe(true)
    expect(save?.if).toBe('always()')
    expect(save?.with?.key).toBe(restore?.with?.key)
    expect([restore?.with?.path, save?.with?.path]).toEqual([verify?.with?.history, verify?.with?.history])
    for (const input of Object.keys(verify?.with ?? {})) expect(Object.keys(action.inputs)).toContain(input)
    // The DR-evidence example: the team's checks, both objectives, the history.
    expect(Object.keys(verify?.with ?? {})).toEqual(expect.arrayContaining(['checks', 'max-age', 'max-restore-time', 'freshness-query']))
    expect(parseChecks(verify!.with!.checks, true).map((check) => check.expect)).toEqual(['true', 'empty'])
    const history = read('docs/history.md')
    const artifact = [...history.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1])
      .find((block) => block.includes('actions/download-artifact@'))
    expect(() => parse(artifact ?? '')).not.toThrow()
    expect(artifact).toMatch(/if: always\(\)\n\s+with: \{ name: backup-verify-history, path: \.backup-verify\/history\.jsonl/)
  })

  test('the nightly backup is fetched from another run: its run-id, a token, and actions: read', () => {
    const blocks = [...read('docs/existing-backups.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => parse(match[1]))
    const job = blocks.map((doc) => doc?.jobs?.['verify-nightly-backup']).find(Boolean)
    expect(job.permissions).toEqual({ actions: 'read', contents: 'read' })
    const download = (job.steps as Array<{ uses?: string; with?: Record<string, string> }>).find((step) =>
      step.uses?.startsWith('actions/download-artifact@')
    )
    expect(download?.with).toMatchObject({ 'run-id': expect.stringContaining('steps.'), 'github-token': '${{ github.token }}' })
  })

  test('shows the job summary picture', () => {
    const picture = /!\[[^\]]+\]\((docs\/images\/[\w-]+\.png)\)/.exec(readme)
    expect(picture).not.toBeNull()
    expect(existsSync(path.join(ROOT, picture![1]))).toBe(true)
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The rows of the n-th table after a heading of any level: first cell (a `name`), the cells after it. */
function tableUnder(markdown: string, heading: string, index = 0): Map<string, string[]> {
  const start = markdown.search(new RegExp(`\\n#{2,4} ${heading}\\n`))
  expect({ heading, found: start > -1 }).toEqual({ heading, found: true })
  const tables = markdown
    .slice(start + 1)
    .split(/\n(?=#{2,4} )/)[0]
    .split(/\n\n/)
    .filter((block) => block.startsWith('|'))
  const rows = new Map<string, string[]>()
  for (const line of tables[index].split('\n').slice(2)) {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim())
    rows.set(cells[0].replace(/^`|`$/g, ''), cells.slice(1))
  }
  return rows
}

describe('a fleet of databases', () => {
  const fleetPage = read('docs/fleet.md')
  const call = parse(read('.github/workflows/verify-fleet.yml')).on.workflow_call
  const workflow = call.inputs as Record<string, { default?: unknown }>
  const declaredSecrets = call.secrets as Record<string, unknown>
  const report = parse(read('report/action.yml')) as typeof action

  test("the README's fleet section: a workflow of ten-odd lines that calls the reusable workflow, the same as docs/fleet.md's", () => {
    const section = readme.slice(readme.indexOf('## A fleet of databases'), readme.indexOf('## More'))
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]
    expect(block.trim().split('\n').length).toBeLessThanOrEqual(12)
    const job = parse(block).jobs.fleet
    expect(job.uses).toBe('org/backup-verify/.github/workflows/verify-fleet.yml@v1')
    for (const key of Object.keys(job.with)) expect(Object.keys(workflow)).toContain(key)
    expect(Object.keys(job.secrets)).toEqual(Object.keys(declaredSecrets))
    // Folded into one line: a line of its own ("{", "}") would be masked everywhere the runner prints.
    expect(job.secrets['database-urls']).not.toContain('\n')
    // One URL a database, each from a secret of its own, by the names the list gives: one JSON object once the expressions are filled.
    const names = JSON.parse(job.with.databases).map((entry: { name: string }) => entry.name)
    const urls = JSON.parse(job.secrets['database-urls'].replace(/\$\{\{ secrets\.(\w+) \}\}/g, 'postgresql://$1'))
    expect(Object.keys(urls)).toEqual(names)
    expect(Object.values(urls)).toEqual(['postgresql://ORDERS_DATABASE_URL', 'postgresql://BILLING_DATABASE_URL'])
    expect(fleetPage).toContain(block.trim().split('\n').slice(2).join('\n'))
    for (const words of ['256 jobs', 'database-urls', 'history']) expect(section).toContain(words)
  })

  test("docs/fleet.md's tables name every input of the workflow and of the report action, with their defaults, and every output", () => {
    const inputs = tableUnder(fleetPage, 'Its inputs')
    expect([...inputs.keys()].sort()).toEqual(Object.keys(workflow).sort())
    for (const [name, declared] of Object.entries(workflow)) {
      const shown = inputs.get(name)![0]
      if (declared.default !== undefined && declared.default !== '')
        expect({ name, shown }).toEqual({ name, shown: `\`${declared.default}\`` })
      else expect({ name, shown }).toEqual({ name, shown: expect.stringMatching(/^\*\(.+\)\*$/) })
    }
    const reportInputs = tableUnder(fleetPage, 'The report action', 0)
    expect([...reportInputs.keys()].sort()).toEqual(Object.keys(report.inputs).sort())
    for (const [name, declared] of Object.entries(report.inputs)) {
      const shown = reportInputs.get(name)![0]
      if (declared.default) expect({ name, shown }).toEqual({ name, shown: `\`${declared.default}\`` })
      else expect({ name, shown }).toEqual({ name, shown: expect.stringMatching(/^\*\(.+\)\*$/) })
    }
    expect([...tableUnder(fleetPage, 'The report action', 1).keys()].sort()).toEqual(Object.keys(report.outputs).sort())
  })

  test('the keys an entry of the list may have are the ones the plan takes', () => {
    expect([...tableUnder(fleetPage, 'An entry of the list').keys()].sort()).toEqual([...ENTRY_KEYS].sort())
  })
})

describe('links', () => {
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    'SECURITY.md',
    'CHANGELOG.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`)
  ]

  test.each(pages)('every relative link in %s lands on a file, and on a heading where it names one', (page) => {
    const text = read(page)
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((link) => !/^[a-z]+:/.test(link))
    for (const link of links) {
      const [file, fragment] = link.split('#')
      const target = file ? path.join(path.dirname(page), file) : page
      expect({ page, link, exists: existsSync(path.join(ROOT, target)) }).toEqual({ page, link, exists: true })
      if (fragment && target.endsWith('.md')) {
        const headings = read(target)
          .split('\n')
          .filter((line) => /^#{1,6} /.test(line))
          .map((line) => anchor(line.replace(/^#+ /, '')))
        expect({ page, link, found: headings.includes(fragment) }).toEqual({ page, link, found: true })
      }
    }
  })
})

describe('what a published action carries', () => {
  test('LICENSE is the MIT license package.json declares', () => {
    expect(JSON.parse(read('package.json')).license).toBe('MIT')
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /)
  })

  test('CHANGELOG.md keeps a changelog, SECURITY.md says how to report and what happens to credentials', () => {
    expect(read('CHANGELOG.md')).toMatch(/Keep a Changelog[\s\S]*## \[Unreleased\]/)
    const security = read('SECURITY.md')
    expect(security).toContain('## Reporting a vulnerability')
    expect(security).toContain('## What the action does with your credentials')
  })

  test('docs/ holds the depth the README links to, CONTRIBUTING.md the development', () => {
    for (const page of [
      'verification',
      'inputs',
      'existing-backups',
      'formats',
      'client-tools',
      'performance',
      'safety',
      'troubleshooting'
    ])
      expect(existsSync(path.join(ROOT, 'docs', `${page}.md`))).toBe(true)
    const contributing = read('CONTRIBUTING.md')
    for (const heading of ['## Layout', '## Style and dependencies', '## Releases', '## The job summary picture'])
      expect(contributing).toContain(heading)
  })
})
