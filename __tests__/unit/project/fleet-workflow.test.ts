// The fleet's workflow side: the reusable workflow (.github/workflows/verify-fleet.yml), the report
// action's action.yml, the plan script the workflow's first job runs, and the CI job that calls the
// workflow. Workflows cannot run here: they are parsed, every expression is read, and every name an
// expression uses is held to what declares it.

import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { Input, Output, ReportInput, ReportOutput } from '../../../src/run/names.js'
import { parseFileCommand, ROOT } from '../../support/runner.js'

interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  if?: string
  with?: Record<string, string | number | boolean>
  env?: Record<string, string>
}
interface Job {
  needs?: string | string[]
  if?: string
  uses?: string
  with?: Record<string, unknown>
  outputs?: Record<string, string>
  strategy?: { matrix?: Record<string, unknown>; 'max-parallel'?: unknown; 'fail-fast'?: boolean }
  services?: Record<string, { image: string; ports: string[]; options: string }>
  steps?: Step[]
}

const load = (file: string) => parse(readFileSync(path.join(ROOT, file), 'utf8'))
const fleet = load('.github/workflows/verify-fleet.yml')
const ci = load('.github/workflows/ci.yml')
const reportAction = load('report/action.yml')
const call = fleet.on.workflow_call as {
  inputs: Record<string, { description: string; type: string; required?: boolean; default?: unknown }>
  outputs: Record<string, { value: string }>
}
const jobs = fleet.jobs as Record<string, Job>
const ACTION = './.backup-verify-action'

/** Runs one of the workflow's scripts as its step does, with that step's environment; its outputs as the runner reads them. */
function script(
  step: 'plan' | 'url',
  env: Record<string, string>
): { code: number | null; stdout: string; outputs: Record<string, string> } {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'backup-verify-fleet-script-'))
  try {
    const output = path.join(folder, 'output')
    writeFileSync(output, '')
    const child = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'fleet-workflow', 'index.js'), step], {
      env: { PATH: process.env.PATH, ...env, GITHUB_OUTPUT: output },
      encoding: 'utf8'
    })
    return { code: child.status, stdout: child.stdout, outputs: parseFileCommand(readFileSync(output, 'utf8')) }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

/** The URL step of a database's job, its bundle run with the step's environment. */
function urlStep(env: Record<string, string>) {
  return script('url', env)
}

/** The masks a step registered, as the runner reads them: "%25", "%0D" and "%0A" unescaped. */
function masksOf(stdout: string): string[] {
  return [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((match) =>
    match[1].replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
  )
}

/** The plan script, as the workflow's first job runs it. */
function plan(databases: string, fleet = 'fleet', minutes = '', urls = '') {
  return script('plan', { DATABASES: databases, FLEET: fleet, TIMEOUT_MINUTES: minutes, DATABASE_URLS: urls })
}

/** Every expression of a value: the insides of ${{ }}, and a step's or job's if, which is one without them. */
function expressionsOf(value: unknown, key = ''): string[] {
  if (typeof value === 'string') {
    const inner = [...value.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((match) => match[1].trim())
    return key === 'if' && inner.length === 0 ? [value] : inner
  }
  if (Array.isArray(value)) return value.flatMap((item) => expressionsOf(item))
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([name, item]) => expressionsOf(item, name))
  return []
}

const CONTEXTS = ['github', 'inputs', 'matrix', 'needs', 'steps', 'secrets', 'runner', 'job', 'jobs', 'strategy', 'env', 'vars']
const FUNCTIONS = [
  'fromJSON',
  'toJSON',
  'format',
  'hashFiles',
  'join',
  'contains',
  'startsWith',
  'endsWith',
  'always',
  'cancelled',
  'success',
  'failure'
]

/** Why an expression would not parse as GitHub's expression language; undefined when it does. */
function expressionProblem(expression: string): string | undefined {
  const token = /\s+|'(?:[^']|'')*'|\d+(?:\.\d+)?|&&|\|\||==|!=|<=|>=|[<>!()[\],.*]|[A-Za-z_][A-Za-z0-9_-]*/y
  const tokens: string[] = []
  while (token.lastIndex < expression.length) {
    const at = token.lastIndex
    const match = token.exec(expression)
    if (!match) return `cannot read from "${expression.slice(at)}"`
    if (match[0].trim()) tokens.push(match[0])
  }
  let depth = 0
  for (const [index, current] of tokens.entries()) {
    if (current === '(' || current === '[') depth++
    if (current === ')' || current === ']') depth--
    if (depth < 0) return 'a closing bracket without its opening one'
    if (!/^[A-Za-z_]/.test(current) || tokens[index - 1] === '.') continue
    if (tokens[index + 1] === '(') {
      if (!FUNCTIONS.includes(current)) return `${current}() is not a function of the expression language`
    } else if (!CONTEXTS.includes(current) && !['true', 'false', 'null'].includes(current)) {
      return `${current} is not a context`
    }
  }
  return depth === 0 ? undefined : 'brackets do not close'
}

describe('report/action.yml', () => {
  test('runs the report bundle on node24 and declares exactly the inputs and outputs the code uses', () => {
    expect(reportAction.runs).toEqual({ using: 'node24', main: '../dist/report/index.js' })
    expect(existsSync(path.resolve(ROOT, 'report', reportAction.runs.main))).toBe(true)
    expect(Object.keys(reportAction.inputs).sort()).toEqual(Object.values(ReportInput).sort())
    expect(Object.keys(reportAction.outputs).sort()).toEqual(Object.values(ReportOutput).sort())
    expect(reportAction.inputs.receipts.required).toBe(true)
    expect(reportAction.inputs['fail-on'].default).toBe('any')
    for (const input of Object.values(reportAction.inputs) as Array<{ description: string }>)
      expect(input.description.length).toBeGreaterThan(20)
  })
})

describe('.github/workflows/verify-fleet.yml', () => {
  test('is a reusable workflow: every input described and typed, the databases required', () => {
    expect(Object.keys(fleet.on)).toEqual(['workflow_call'])
    for (const [name, input] of Object.entries(call.inputs)) {
      expect({ name, described: input.description.length > 10, type: ['string', 'number', 'boolean'].includes(input.type) }).toEqual({
        name,
        described: true,
        type: true
      })
    }
    expect(call.inputs.databases).toMatchObject({ type: 'string', required: true })
    expect(fleet.permissions).toEqual({ contents: 'read' })
  })

  test('every expression parses, and every name it uses is declared: inputs, needs, step outputs, matrix keys, job outputs', () => {
    const { stdout } = plan('[{"name": "x", "secret": "X", "colour": "blue"}]')
    const keys = /\(([^)]*)\)$/.exec(stdout.trim())![1].split(', ')
    const all = expressionsOf(fleet)
    expect(all.length).toBeGreaterThan(30)
    for (const expression of all) expect({ expression, problem: expressionProblem(expression) }).toEqual({ expression, problem: undefined })
    for (const expression of all) {
      for (const [, name] of expression.matchAll(/\binputs\.([\w-]+)/g)) expect(Object.keys(call.inputs)).toContain(name)
      for (const [, key] of expression.matchAll(/\bmatrix\.database\.([\w-]+)/g)) expect(keys).toContain(key)
    }
    for (const [name, output] of Object.entries(call.outputs)) {
      const [, job, value] = /^\$\{\{ jobs\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(output.value)!
      expect({ name, declared: Object.keys(jobs[job].outputs ?? {}) }).toEqual({ name, declared: expect.arrayContaining([value]) })
    }
    for (const [name, job] of Object.entries(jobs)) {
      const needs = [job.needs ?? []].flat()
      for (const expression of expressionsOf(job)) {
        for (const [, other, output] of expression.matchAll(/\bneeds\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          expect({ job: name, other, needed: needs.includes(other) }).toEqual({ job: name, other, needed: true })
          expect(Object.keys(jobs[other].outputs ?? {})).toContain(output)
        }
      }
      const steps = job.steps ?? []
      for (const [index, step] of steps.entries()) {
        for (const expression of expressionsOf({ ...step, id: undefined })) {
          for (const [, id, output] of expression.matchAll(/\bsteps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
            const source = steps.slice(0, index).find((earlier) => earlier.id === id)
            expect({ job: name, step: id, before: source !== undefined }).toEqual({ job: name, step: id, before: true })
            expect(Object.values(outputsOf(source!))).toContain(output)
          }
        }
      }
      for (const [, other, output] of expressionsOf(job.outputs ?? {}).flatMap((expression) => [
        ...expression.matchAll(/\bsteps\.([\w-]+)\.outputs\.([\w-]+)/g)
      ])) {
        expect(Object.values(outputsOf(steps.find((step) => step.id === other)!))).toContain(output)
      }
    }
  })

  test('the action and the report are given only inputs they declare, at the version the workflow is called with', () => {
    const steps = Object.values(jobs).flatMap((job) => job.steps ?? [])
    const verify = steps.find((step) => step.uses === ACTION) as Step
    const report = steps.find((step) => step.uses === `${ACTION}/report`) as Step
    for (const key of Object.keys(verify.with ?? {})) expect(Object.values(Input)).toContain(key)
    for (const key of Object.keys(report.with ?? {})) expect(Object.values(ReportInput)).toContain(key)
    expect(verify.with?.name).toBe('${{ matrix.database.name }}')
    expect(report.with?.expected).toBe('${{ needs.plan.outputs.names }}')
    // Each job that runs them checks them out first, from the repository and ref the caller chose.
    for (const [name, job] of Object.entries(jobs)) {
      const checkout = (job.steps ?? [])[0]
      expect({
        name,
        uses: checkout.uses,
        repository: checkout.with?.repository,
        ref: checkout.with?.ref,
        path: checkout.with?.path
      }).toEqual({
        name,
        uses: 'actions/checkout@v7',
        repository: '${{ inputs.action-repository }}',
        ref: '${{ inputs.action-ref }}',
        path: ACTION.slice(2)
      })
    }
  })

  test('one job per database on a matrix the plan made, limited by max-parallel; the report waits for all and runs after failures', () => {
    expect(jobs.verify.needs).toBe('plan')
    expect(jobs.verify.strategy).toEqual({
      'fail-fast': false,
      'max-parallel': '${{ inputs.max-parallel }}',
      matrix: { database: '${{ fromJSON(needs.plan.outputs.databases) }}' }
    })
    expect(jobs.plan.steps?.at(-1)?.run).toBe('node .backup-verify-action/dist/fleet-workflow/index.js plan')
    expect(jobs.plan.steps?.at(-1)?.env?.TIMEOUT_MINUTES).toBe('${{ inputs.timeout-minutes }}')
    const verify = jobs.verify.steps!.find((step) => step.uses === ACTION)!
    expect(verify.with?.timeout).toBe('${{ needs.plan.outputs.action-timeout }}')
    // Each attempt uploads a file of its own, so a re-run's artifact never keeps an earlier attempt's receipt.
    const gather = jobs.verify.steps!.find((step) => step.run?.includes('$OUT/receipts'))!
    expect(gather.run).toContain('echo "$GITHUB_RUN_ATTEMPT" > "$OUT/attempts/$DATABASE"')
    expect(jobs.verify.steps!.find((step) => step.uses?.startsWith('actions/upload-artifact@'))?.with).not.toHaveProperty(
      'if-no-files-found'
    )
    expect(jobs.report.needs).toEqual(['plan', 'verify'])
    expect(jobs.report.if).toBe("${{ !cancelled() && needs.plan.result == 'success' }}")
  })

  test("each database's receipt and history go up under its own name, and the report downloads every one of them and nothing else", () => {
    const upload = jobs.verify.steps!.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!
    const download = jobs.report.steps!.find((step) => step.uses?.startsWith('actions/download-artifact@'))!
    const named = (text: unknown, fleet: string, database = '') =>
      String(text).replace('${{ inputs.fleet }}', fleet).replace('${{ matrix.database.name }}', database)
    expect(String(upload.with?.name)).toBe('backup-verify-${{ inputs.fleet }}@${{ matrix.database.name }}')
    const ours = new RegExp(`^${named(download.with?.pattern, 'a').replace(/\*/g, '.*')}$`)
    expect(ours.test(named(upload.with?.name, 'a', 'orders'))).toBe(true)
    // Another fleet's artifacts in the same run, even one whose name begins with this one's, are not this report's.
    expect(ours.test(named(upload.with?.name, 'a-b', 'orders'))).toBe(false)
    expect(download.with?.['merge-multiple']).toBe(true)
    const reportUpload = jobs.report.steps!.filter((step) => step.uses?.startsWith('actions/upload-artifact@')).at(-1)!
    expect(ours.test(named(reportUpload.with?.name, 'a'))).toBe(false)
    const report = jobs.report.steps!.find((step) => step.uses === `${ACTION}/report`)!
    expect(report.with?.receipts).toBe(`${download.with?.path}/receipts`)
    expect(report.with?.history).toBe(`${download.with?.path}/history`)
  })

  test("each database's history has a cache key of its own: no name's restore key is the prefix of another's", () => {
    const restore = jobs.verify.steps!.find((step) => step.uses?.startsWith('actions/cache/restore@'))!
    const save = jobs.verify.steps!.find((step) => step.uses?.startsWith('actions/cache/save@'))!
    expect(save.with?.key).toBe(restore.with?.key)
    expect(save.with?.path).toBe(restore.with?.path)
    expect(String(restore.with?.key).startsWith(String(restore.with?.['restore-keys']))).toBe(true)
    // The key ends the fleet's name and the database's with "@", which no name may hold: "orders@" is
    // never a prefix of "orders-eu@", nor one fleet's key of another's.
    expect(String(restore.with?.['restore-keys'])).toMatch(/-\$\{\{ inputs\.fleet \}\}@\$\{\{ matrix\.database\.name \}\}@$/)
    expect(plan('[{"name": "orders@eu", "secret": "X"}]').code).toBe(1)
    expect(plan('[{"name": "orders", "secret": "X"}]', 'a@b').stdout).toContain('fleet "a@b" is not a name')
  })
})

describe("the fleet workflow's plan", () => {
  test('a list of databases becomes the matrix and the names the report expects', () => {
    const run = plan(
      JSON.stringify([
        { name: 'orders', secret: 'ORDERS_DATABASE_URL', 'min-size': '1MiB' },
        { name: 'billing', artifact: 'billing-backup', file: 'dumps/billing.dump', receipt: 'dumps/receipt.json' }
      ])
    )
    expect(run.code).toBe(0)
    expect(JSON.parse(run.outputs.databases)).toEqual([
      { name: 'orders', secret: 'ORDERS_DATABASE_URL', 'min-size': '1MiB' },
      { name: 'billing', artifact: 'billing-backup', file: 'dumps/billing.dump', receipt: 'dumps/receipt.json' }
    ])
    expect(JSON.parse(run.outputs.names)).toEqual(['orders', 'billing'])
    expect(run.stdout).toContain('2 databases to verify: orders, billing')
    // The action's own time limit, inside the job's (60 minutes unless told): it ends, cleans up and writes its receipt first.
    expect(run.outputs['action-timeout']).toBe('55')
    expect(plan('[{"name": "a", "secret": "X"}]', 'fleet', '8').outputs['action-timeout']).toBe('6')
  })

  test.each([
    ['not JSON', '[{name: orders}]', 'databases is not JSON'],
    ['an empty list', '[]', 'databases is an empty list'],
    [
      '257 databases',
      JSON.stringify(Array.from({ length: 257 }, (_, index) => ({ name: `db${index}`, secret: 'X' }))),
      'one matrix runs at most 256 jobs'
    ],
    ['a URL where the secret name goes', '[{"name": "orders", "secret": "postgresql://u:p@h/db"}]', 'secret is the name of a secret'],
    ['a name twice', '[{"name": "a", "secret": "X"}, {"name": "a", "secret": "Y"}]', 'two databases are named a'],
    [
      'a name twice but for its case',
      '[{"name": "Orders", "secret": "X"}, {"name": "orders", "secret": "Y"}]',
      'named orders (letter case aside)'
    ],
    ['an empty artifact', '[{"name": "a", "artifact": "", "file": "a.dump"}]', 'artifact is empty'],
    ['a database without its URL', '[{"name": "a"}]', 'its URL is nowhere: give it under its name in the database-urls secret'],
    ['an artifact without its file', '[{"name": "a", "artifact": "b"}]', '"artifact" needs "file"'],
    ['a file outside the artifact', '[{"name": "a", "artifact": "b", "file": "../../etc/passwd"}]', 'relative, without ".."'],
    ['a name with a slash', '[{"name": "a/b", "secret": "X"}]', 'name must be letters, digits']
  ])('%s is refused, naming the entry and the fix', (_, databases, message) => {
    const run = plan(databases)
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/^::error title=Input databases::/)
    expect(run.stdout).toContain(message)
    expect(run.outputs).toEqual({})
    // The entry is named by its place and name, never shown: a password never reaches the log.
    expect(run.stdout).not.toContain('u:p@h')
  })
})

describe('the URLs: one secret of URLs by name, or a secret an entry names', () => {
  const URL = 'postgresql://app:p%40ss w0rd@db.example.test:5432/orders'

  test('the plan reads database-urls for its names alone: a database without a URL is refused by name, no value is printed', () => {
    const urls = JSON.stringify({ orders: URL })
    expect(plan('[{"name": "orders"}]', 'fleet', '', urls).code).toBe(0)
    const missing = plan('[{"name": "orders"}, {"name": "billing"}]', 'fleet', '', urls)
    expect(missing.code).toBe(1)
    expect(missing.stdout).toContain('databases entry 2 (billing): its URL is nowhere')
    const broken = plan('[{"name": "orders"}]', 'fleet', '', `{"orders": "${URL}"`)
    expect(broken.stdout).toContain('the database-urls secret is not JSON')
    for (const run of [missing, broken]) expect(run.stdout).not.toContain('p%40ss')
  })

  test("a database's job takes its URL and masks it, and its password in every spelling, before the action gets it", () => {
    const run = urlStep({ DATABASE: 'orders', DATABASE_URLS: JSON.stringify({ billing: 'postgresql://b', orders: URL }) })
    expect(run.code).toBe(0)
    expect(run.outputs['database-url']).toBe(URL)
    expect(masksOf(run.stdout)).toEqual(expect.arrayContaining([URL, 'p%40ss w0rd', 'p@ss w0rd', 'p%40ss%20w0rd']))
    // Nothing else it prints holds the URL or the password.
    expect(run.stdout.replace(/^::add-mask::.*$/gm, '')).not.toMatch(/p%40ss|p@ss|db\.example/)
    const named = urlStep({ DATABASE: 'orders', SECRET: 'ORDERS_URL', FROM_SECRET: URL, DATABASE_URLS: '' })
    expect(named.outputs['database-url']).toBe(URL)
  })

  test('a mask is the text itself once the runner reads it: "%25", an unencoded "@", a password in the query or in key=value', () => {
    const cases: Array<[string, string[]]> = [
      ['postgresql://u:a%25b@h/db', ['postgresql://u:a%25b@h/db', 'a%25b', 'a%b']],
      ['postgresql://u:p@ss@h/db', ['p@ss']],
      ['postgresql://h/db?user=u&password=s3cr%21t', ['s3cr!t', 's3cr%21t']],
      ["host=h dbname=db password='it\\'s'", ["it's"]]
    ]
    for (const [url, forms] of cases) {
      const run = urlStep({ DATABASE: 'orders', DATABASE_URLS: JSON.stringify({ orders: url }) })
      expect({ url, masks: masksOf(run.stdout) }).toEqual({ url, masks: expect.arrayContaining([url, ...forms]) })
      // The password never masks less than itself: no mask is a part of it cut at an "@".
      expect(masksOf(run.stdout)).not.toContain('p')
    }
  })

  test('a URL that is not there fails the job naming the key or the secret, never a value', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ DATABASE_URLS: JSON.stringify({ billing: URL }) }, 'the database-urls secret has no URL under "orders"'],
      [{ DATABASE_URLS: '' }, 'its entry names no secret and no artifact, and the database-urls secret was not passed'],
      [{ DATABASE_URLS: URL }, 'the database-urls secret is not JSON'],
      [{ SECRET: 'ORDERS_URL', FROM_SECRET: '' }, 'the secret ORDERS_URL is empty or was not passed']
    ]
    for (const [env, message] of cases) {
      const run = urlStep({ DATABASE: 'orders', ...env })
      expect({ env, code: run.code, error: run.stdout.startsWith('::error title=Database URL of orders::') }).toEqual({
        env,
        code: 1,
        error: true
      })
      expect(run.stdout).toContain(message)
      expect(run.stdout).not.toContain('p%40ss')
      expect(run.outputs).toEqual({})
    }
  })

  test('the workflow hands the action its URL only through that masked step, and names no secret it does not declare', () => {
    const declared = Object.keys((fleet.on.workflow_call as { secrets: Record<string, unknown> }).secrets)
    for (const [, name] of expressionsOf(fleet)
      .join('\n')
      .matchAll(/\bsecrets\.([\w-]+)/g))
      expect(declared).toContain(name)
    const verify = jobs.verify.steps!.find((step) => step.uses === ACTION)!
    expect(verify.with?.['database-url']).toBe('${{ steps.url.outputs.database-url }}')
    const steps = Object.values(jobs).flatMap((job) => job.steps ?? [])
    for (const step of steps) {
      // A secret reaches a step through its environment alone, which the runner shows masked: never a with: or a script.
      expect({
        step: step.name ?? step.uses,
        with: JSON.stringify(step.with ?? {}).includes('secrets'),
        run: (step.run ?? '').includes('secrets')
      }).toEqual({
        step: step.name ?? step.uses,
        with: false,
        run: false
      })
    }
    const url = jobs.verify.steps!.find((step) => step.id === 'url')!
    expect(url.run).toBe('node .backup-verify-action/dist/fleet-workflow/index.js url')
    expect(url.if).toBe('${{ !matrix.database.artifact }}')
  })
})

describe('the fleet in CI', () => {
  const calling = ci.jobs.fleet as Job

  test('a job calls the workflow on this commit, over three service databases whose backups an earlier job made', () => {
    expect(calling.uses).toBe('./.github/workflows/verify-fleet.yml')
    for (const key of Object.keys(calling.with ?? {})) expect(Object.keys(call.inputs)).toContain(key)
    expect(calling.with).toMatchObject({ 'action-repository': '${{ github.repository }}', 'action-ref': '${{ github.sha }}' })
    expect(String(calling.with?.databases)).not.toContain('\n')
    const databases = JSON.parse(String(calling.with?.databases)) as Array<{ name: string; artifact: string; file: string }>
    const run = plan(String(calling.with?.databases))
    expect(run.code).toBe(0)
    expect(databases.map((database) => database.name)).toHaveLength(3)
    const backups = ci.jobs[String(calling.needs)] as Job
    const services = Object.entries(backups.services ?? {})
    expect(services.map(([name]) => name).sort()).toEqual(databases.map((database) => database.name).sort())
    const uploaded = backups.steps!.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!
    const script = backups.steps!.map((step) => step.run ?? '').join('\n')
    for (const [name, service] of services) {
      expect(service.image).toMatch(/^postgres:\d+$/)
      expect(service.options).toContain('--health-cmd pg_isready')
      const port = service.ports[0].split(':')[0]
      expect(script).toContain(`${name}:${port}`)
      const database = databases.find((entry) => entry.name === name)!
      expect(database.artifact).toBe(uploaded.with?.name)
      expect(script).toContain(`-f "${uploaded.with?.path}/$name.dump"`)
      expect(database.file).toBe(`${name}.dump`)
    }
  })

  test("a last job holds the report's counts: every database passed, none missing", () => {
    const check = ci.jobs['fleet-report'] as Job
    expect(check.needs).toBe('fleet')
    const step = check.steps![0]
    for (const expression of Object.values(step.env ?? {})) {
      const [, output] = /^\$\{\{ needs\.fleet\.outputs\.([\w-]+) \}\}$/.exec(expression)!
      expect(Object.keys(call.outputs)).toContain(output)
    }
    expect(step.run).toContain('test "$PASSED" = 3')
    expect(step.run).toContain('test "$MISSING" = 0')
  })
})

/** What a step writes to GITHUB_OUTPUT: the action's outputs, the report's, the plan script's. */
function outputsOf(step: Step): Record<string, string> {
  if (step.uses === ACTION) return Output
  if (step.uses === `${ACTION}/report`) return ReportOutput
  if (step.run?.endsWith('dist/fleet-workflow/index.js plan'))
    return { databases: 'databases', names: 'names', actionTimeout: 'action-timeout' }
  if (step.run?.endsWith('dist/fleet-workflow/index.js url')) return { databaseUrl: 'database-url' }
  throw new Error(`the outputs of step ${step.id} are not known here`)
}
