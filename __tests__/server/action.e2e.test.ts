// The bundle in dist/ run as the runner runs it, against a real PostgreSQL: outputs, summary, exit code.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createSampleDatabase, freePort, temporaryDatabases, useServer } from '../support/server.js'
import { annotations, parseFileCommand, ROOT, runBundle, withoutProperties } from '../support/runner.js'
import { htmlProblems } from '../support/html.js'
import { findClientTools } from '../../src/tools/locate.js'
import { detectLibc, targetTriple } from '../../src/tools/target.js'
import { archiveFiles, buildClientArchive, startArchiveServer } from '../support/archive-server.js'
import { existsSync } from 'node:fs'

const { server, work: keepRoot } = useServer('kept')

beforeAll(async () => {
  await createSampleDatabase(server, 'shop')
  // Large enough that a restore takes a moment: the interruption tests stop runs in the middle of it.
  await server.query('CREATE DATABASE large')
  await server.query('CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 4) AS padding FROM generate_series(1, 800000) g', 'large')
})

describe('dist/index.js as the runner runs it', () => {
  test('passes all three phases; checksum and size describe the backup it made; the summary has the tables', async () => {
    const run = await runBundle('dist/index.js', {
      inputs: { 'database-url': server.url('shop'), 'keep-backup': 'true', verbose: 'false', 'min-size': '10 KiB' },
      env: { RUNNER_TEMP: keepRoot }
    })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const { outputs } = run
    expect(outputs.result).toBe('passed')
    expect(outputs.skipped).toBe('false')
    expect(outputs.tables).toBe('4')
    expect(outputs['restored-tables']).toBe('4')
    expect(outputs.rows).toBe('10365')
    expect(outputs.format).toBe('plain')
    expect(outputs['server-version']).toMatch(/^15\./)
    expect(outputs['client-version']).toMatch(/^\d+\.\d+/)
    expect(Number(outputs['duration-ms'])).toBeGreaterThan(0)
    const backup = await readFile(outputs['backup-path'])
    expect(outputs.size).toBe(String(backup.length))
    expect(outputs.checksum).toBe(createHash('sha256').update(backup).digest('hex'))
    // Log sections, one per phase; not verbose, so the tools' own chatter stays out.
    expect(run.stdout.match(/^::group::/gm)).toHaveLength(3)
    expect(run.stdout).not.toContain('pg_dump: dumping contents')
    // The summary: verdict, phases table, facts table with size and checksum, checks table.
    expect(run.summary).toContain('✅ The backup restores: 4 of 4 tables and all 10365 rows, with the same content, came back')
    expect(run.summary).toMatch(/<th>Phase<\/th><th>Status<\/th><th>Duration<\/th><th>Detail<\/th>/)
    for (const phase of ['Create', 'Validate', 'Restore']) expect(run.summary).toMatch(new RegExp(`<td>${phase}</td><td>✅ passed</td>`))
    expect(run.summary).toContain(`<td>Backup size</td><td>${backup.length} bytes (`)
    expect(run.summary).toContain(outputs.checksum)
    expect(run.summary).toContain('<td>Tables (source / restored)</td><td>4 / 4</td>')
    expect(run.summary).toContain('<td>Completion trailer</td><td>✅</td>')
    expect(htmlProblems(run.summary)).toEqual([])
    // Restored on a throwaway server of its own (the default), stopped at the end: the state holds
    // no server and no temporary database, the post step has nothing to do, and the source's server
    // never had a temporary database.
    expect(run.summary).toMatch(/<td>Restore server<\/td><td>a throwaway PostgreSQL 15\.\d+ of the run&#39;s own /)
    expect(JSON.parse(run.state['throwaway-servers'])).toEqual([])
    expect(run.state['temporary-databases']).toBeUndefined()
    expect(await temporaryDatabases(server)).toEqual([])
    expect(run.everything).not.toContain(server.password)
    expect(run.everything).not.toContain(encodeURIComponent(server.password))
  })

  test('a wrong password fails, and the password appears in no output or file', async () => {
    const wrong = 'Wr0ng:p@ss/word?#%'
    const url = `postgresql://postgres:${encodeURIComponent(wrong)}@127.0.0.1:${server.port}/shop`
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': url } })
    expect(run.code).toBe(1)
    expect(withoutProperties(run.stdout)).toContain('::error::Authentication failed for user "postgres" at 127.0.0.1:')
    expect(run.outputs.result).toBe('failed')
    expect(run.summary).toContain('❌ Verification failed in Create: Authentication failed')
    expect(htmlProblems(run.summary)).toEqual([])
    for (const form of [wrong, encodeURIComponent(wrong), url]) expect(run.everything).not.toContain(form)
    // The runner is told to mask it before anything else is printed.
    expect(run.stdout.split('\n')[0]).toMatch(/^::add-mask::/)
    expect(run.masks).toContain(wrong)
  })

  test('a closed port fails with "connection refused" within 15 s', async () => {
    const port = await freePort()
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': `postgresql://postgres:x@127.0.0.1:${port}/shop` } })
    expect(run.code).toBe(1)
    expect(run.elapsedMs).toBeLessThan(15_000)
    expect(withoutProperties(run.stdout)).toContain(`::error::Connection refused: nothing accepts connections at 127.0.0.1:${port}.`)
    expect(run.stdout).toContain('Hint: Is PostgreSQL running?')
  })

  test('a server that accepts the connection and never answers fails within connect-timeout', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as net.AddressInfo
    try {
      const run = await runBundle('dist/index.js', {
        inputs: { 'database-url': `postgresql://postgres:x@127.0.0.1:${port}/shop`, 'connect-timeout': '2' }
      })
      expect(run.code).toBe(1)
      expect(run.elapsedMs).toBeLessThan(6_000)
      expect(withoutProperties(run.stdout)).toContain(`::error::Timed out connecting to 127.0.0.1:${port}.`)
    } finally {
      silent.close()
    }
  })

  test('min-size above the size of the dump fails the Create phase', async () => {
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': server.url('shop'), 'min-size': '5MB' } })
    expect(run.code).toBe(1)
    expect(withoutProperties(run.stdout)).toMatch(
      /::error::Backup file is suspiciously small: [\d,]+ bytes \([\d.]+ KiB\), under min-size \(5,000,000 bytes \(4\.77 MiB\)\) by [\d,]+ bytes/
    )
    expect(run.outputs.checksum).toBe('')
    expect(run.summary).toMatch(/<td>Validate<\/td><td>⏭️ not run<\/td>/)
    expect(htmlProblems(run.summary)).toEqual([])
  })

  test('a bad input fails before any connection, naming the input and the value', async () => {
    const run = await runBundle('dist/index.js', { inputs: { 'database-url': server.url('shop'), 'min-size': 'abc' } })
    expect(run.code).toBe(1)
    expect(withoutProperties(run.stdout)).toContain(
      '::error::Input "min-size" has an invalid value "abc": expected a whole number of bytes'
    )
    expect(run.stdout).not.toContain('::group::')
    expect(annotations(run.stdout).map((annotation) => annotation.properties)).toEqual([{ title: 'backup-verify: input min-size' }])
  })

  test('a failure about a file of the workspace is annotated on that file, with a title; a file outside it is not', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-workspace-'))
    try {
      await mkdir(path.join(workspace, 'backups'))
      await writeFile(path.join(workspace, 'backups', 'nightly.sql'), 'this is not a dump\n'.repeat(100))
      const inside = await runBundle('dist/index.js', {
        cwd: workspace,
        env: { GITHUB_WORKSPACE: workspace },
        inputs: { 'backup-file': 'backups/nightly.sql', 'database-url': server.url('postgres'), 'min-size': '0' }
      })
      expect(inside.code).toBe(1)
      expect(annotations(inside.stdout)).toEqual([
        expect.objectContaining({ properties: { title: 'backup-verify: backup-invalid', file: 'backups/nightly.sql' } })
      ])
      const missing = await runBundle('dist/index.js', {
        cwd: workspace,
        env: { GITHUB_WORKSPACE: workspace },
        inputs: { checks: 'checks/none.sql', 'database-url': server.url('shop') }
      })
      expect(annotations(missing.stdout).map((annotation) => annotation.properties)).toEqual([
        { title: 'backup-verify: input checks', file: 'checks/none.sql' }
      ])
      const outside = await runBundle('dist/index.js', {
        cwd: workspace,
        env: { GITHUB_WORKSPACE: workspace },
        inputs: { checks: '/nowhere/checks.sql', 'database-url': server.url('shop') }
      })
      expect(annotations(outside.stdout).map((annotation) => annotation.properties)).toEqual([{ title: 'backup-verify: input checks' }])
    } finally {
      await rm(workspace, { recursive: true, force: true })
    }
  })

  test('a run re-run with debug logging (ACTIONS_STEP_DEBUG) shows what verbose shows', async () => {
    const quiet = await runBundle('dist/index.js', { inputs: { 'database-url': server.url('shop'), verify: 'schema' } })
    const debug = await runBundle('dist/index.js', {
      env: { RUNNER_DEBUG: '1' },
      inputs: { 'database-url': server.url('shop'), verify: 'schema' }
    })
    expect([quiet.code, debug.code]).toEqual([0, 0])
    // pg_dump's own lines, which only verbose passes on.
    expect(quiet.stdout).not.toMatch(/pg_dump: (dumping contents|reading)/)
    expect(debug.stdout).toMatch(/pg_dump: (dumping contents|reading)/)
  })

  test('SQLite is skipped with a notice: output skipped=true, exit code 0', async () => {
    const run = await runBundle('dist/index.js', { env: { DB_ENGINE: 'django.db.backends.sqlite3', DB_NAME: 'db.sqlite3' } })
    expect(run.code).toBe(0)
    expect(annotations(run.stdout, 'notice')).toEqual([
      {
        kind: 'notice',
        properties: { title: 'backup-verify: skipped' },
        message: expect.stringContaining('Backup tests require PostgreSQL, found: django.db.backends.sqlite3')
      }
    ])
    expect(run.outputs.skipped).toBe('true')
    expect(run.outputs.result).toBe('skipped')
    expect(run.summary).toContain('Skipped: Backup tests require PostgreSQL, found: django.db.backends.sqlite3')
    expect(htmlProblems(run.summary)).toEqual([])
  })

  test('DB_* variables from a .env file in the working directory are used', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-dotenv-'))
    try {
      const lines = [
        'DB_ENGINE=django.db.backends.postgresql',
        'DB_NAME=shop',
        'DB_USER=postgres',
        `DB_PASSWORD=\`${server.password}\``, // backticks: the password holds both kinds of quote
        'DB_HOST=127.0.0.1',
        `DB_PORT=${server.port}`
      ]
      await writeFile(path.join(cwd, '.env'), `${lines.join('\n')}\n`)
      const run = await runBundle('dist/index.js', { cwd })
      expect(run.stderr).toBe('')
      expect(run.stdout).toContain('(from .env file (DB_* variables))')
      expect(run.code).toBe(0)
      expect(run.everything).not.toContain(server.password)
    } finally {
      await rm(cwd, { recursive: true, force: true })
    }
  })
})

describe('dist/index.js with client tools from a download', () => {
  test("downloads into the runner's tool cache (tc.cacheDir), says so, and a second run in the job downloads nothing", async () => {
    const local = (await findClientTools())[0]
    const archive = await buildClientArchive(local, targetTriple(process.platform, process.arch, detectLibc()))
    const downloads = await startArchiveServer(archiveFiles(archive))
    const toolCache = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-toolcache-'))
    try {
      const inputs = {
        'database-url': server.url('shop'),
        'postgres-version': `${local.version.major}.${local.version.minor}`,
        'tools-url': downloads.template,
        'tools-source': 'tool-cache'
      }
      const first = await runBundle('dist/index.js', { inputs, env: { RUNNER_TOOL_CACHE: toolCache } })
      expect(first.stderr).toBe('')
      expect(first.code).toBe(0)
      expect(first.outputs['client-source']).toBe('downloaded')
      expect(first.outputs['client-version']).toBe(local.version.text)
      expect(first.stdout).toContain(
        `Downloading ${downloads.template.replace(/\{version\}/g, archive.version).replace('{target}', archive.name.split('-').slice(2).join('-'))}`
      )
      expect(first.summary).toContain(
        `${local.version.text}, downloaded (no client of major ${local.version.major} was installed; server major 15)`
      )
      // The layout of @actions/tool-cache: <tool>/<version>/<arch> and a marker beside it.
      expect(existsSync(path.join(toolCache, 'postgresql-client', archive.version, `${process.arch}.complete`))).toBe(true)
      const requestsAfterFirst = downloads.requests.length
      expect(requestsAfterFirst).toBe(2)

      const second = await runBundle('dist/index.js', { inputs, env: { RUNNER_TOOL_CACHE: toolCache } })
      expect(second.code).toBe(0)
      expect(second.outputs['client-source']).toBe('cache')
      expect(downloads.requests).toHaveLength(requestsAfterFirst)
    } finally {
      await downloads.close()
      await rm(toolCache, { recursive: true, force: true })
    }
  })
})

describe('interrupted runs clean up after themselves', () => {
  test.each([
    ['dist/cli/index.js', 'SIGTERM'],
    ['dist/index.js', 'SIGINT']
  ] as const)("%s stopped by %s during the restore: exits 1 within the runner's grace period, nothing left", async (entry, signal) => {
    const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-interrupted-'))
    const files = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-interrupted-files-'))
    await Promise.all(['output', 'summary', 'state'].map((name) => writeFile(path.join(files, name), '')))
    const child = spawn(process.execPath, [path.join(ROOT, entry)], {
      env: {
        PATH: process.env.PATH,
        RUNNER_TEMP: temp,
        DATABASE_URL: server.url('large'),
        GITHUB_OUTPUT: path.join(files, 'output'),
        GITHUB_STEP_SUMMARY: path.join(files, 'summary'),
        GITHUB_STATE: path.join(files, 'state')
      }
    })
    let stdout = ''
    let stderr = ''
    let signalledAt = 0
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      if (!signalledAt && /Streaming: psql restores into/.test(stdout)) {
        signalledAt = Date.now()
        setTimeout(() => child.kill(signal), 300)
      }
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      expect(signalledAt).toBeGreaterThan(0)
      expect(code).toBe(1)
      expect(Date.now() - signalledAt).toBeLessThan(7_500)
      expect(`${stdout}${stderr}`).toContain(`Interrupted by ${signal}: the verification was stopped before it finished.`)
      expect(await temporaryDatabases(server)).toEqual([])
      // The action writes its summary; the terminal prints it instead.
      const summary = await readFile(path.join(files, 'summary'), 'utf8')
      expect(summary.includes(`Interrupted by ${signal}`)).toBe(entry === 'dist/index.js')
      expect(htmlProblems(summary)).toEqual([])
      expect((await readdir(temp)).filter((name) => !name.startsWith('backup-verify-receipt-'))).toEqual([])
    } finally {
      await rm(temp, { recursive: true, force: true })
      await rm(files, { recursive: true, force: true })
    }
  })
})

describe('secret hygiene', () => {
  const PASSWORD = `m@t:r/x?#%&=+'" \\ ünï`

  beforeAll(async () => {
    await server.query(`CREATE ROLE matrix LOGIN SUPERUSER PASSWORD '${PASSWORD.replace(/'/g, "''")}'`)
  })

  test.each(['url', 'DB_PASSWORD', '.env', 'PGPASSWORD'])(
    'a password given by %s is in no output, state, summary, file left or child argv, passing or failing',
    async (way) => {
      const pgbin = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-argv-'))
      const cwd = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-secret-cwd-'))
      const keep = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-secret-keep-'))
      const argvLog = path.join(pgbin, 'argv.log')
      const real = (await findClientTools())[0].directory
      for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
        await writeFile(
          path.join(pgbin, tool),
          `#!/bin/sh\nprintf '%s ' "${tool}" "$@" >> "${argvLog}"; echo >> "${argvLog}"\nexec "${real}/${tool}" "$@"\n`,
          { mode: 0o755 }
        )
      }
      const host = {
        DB_ENGINE: 'django.db.backends.postgresql',
        DB_NAME: 'shop',
        DB_USER: 'matrix',
        DB_HOST: '127.0.0.1',
        DB_PORT: String(server.port)
      }
      const env: Record<string, string> = { PGBIN: pgbin, RUNNER_TEMP: keep }
      if (way === 'url') env.DATABASE_URL = `postgresql://matrix:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/shop`
      if (way === 'DB_PASSWORD') Object.assign(env, host, { DB_PASSWORD: PASSWORD })
      if (way === '.env')
        await writeFile(
          path.join(cwd, '.env'),
          `${Object.entries(host)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n')}\nDB_PASSWORD=\`${PASSWORD}\`\n`
        )
      if (way === 'PGPASSWORD')
        Object.assign(env, { DATABASE_URL: `postgresql://matrix@127.0.0.1:${server.port}/shop`, PGPASSWORD: PASSWORD })
      try {
        const passing = await runBundle('dist/index.js', { env, cwd, inputs: { 'keep-backup': 'true', format: 'custom' } })
        expect(passing.stderr).toBe('')
        expect(passing.code).toBe(0)
        const failing = await runBundle('dist/index.js', { env, cwd, inputs: { 'min-size': '1GB' } })
        expect(failing.code).toBe(1)
        const leftFiles = await readdir(keep, { recursive: true })
        const leftText = (
          await Promise.all(
            leftFiles.map((name) =>
              readFile(path.join(keep, String(name))).then(
                (b) => b.toString('latin1'),
                () => ''
              )
            )
          )
        ).join('\n')
        const everything = [passing.everything, failing.everything, await readFile(argvLog, 'utf8'), leftText].join('\n')
        for (const form of [PASSWORD, encodeURIComponent(PASSWORD), encodeURI(PASSWORD), 'm@t:r/x']) expect(everything).not.toContain(form)
      } finally {
        await Promise.all([pgbin, cwd, keep].map((folder) => rm(folder, { recursive: true, force: true })))
      }
    }
  )
})

describe('time limits and a killed main step', () => {
  test('the timeout input stops a run that takes too long, and it cleans up', async () => {
    const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-timeout-'))
    try {
      const run = await runBundle('dist/cli/index.js', {
        args: ['--timeout', '600ms'],
        env: { DATABASE_URL: server.url('large'), RUNNER_TEMP: temp }
      })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(
        /FAILED: Timed out: the verification did not finish within timeout \(600 ms\) and was stopped during (Create|Validate|Restore)\./
      )
      expect(await temporaryDatabases(server)).toEqual([])
      expect((await readdir(temp)).filter((name) => !name.startsWith('backup-verify-receipt-'))).toEqual([])
    } finally {
      await rm(temp, { recursive: true, force: true })
    }
  })

  test('SIGKILL in the middle of the restore: the post step removes the temporary database and folder it recorded', async () => {
    const temp = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-killed-'))
    const stateFile = path.join(temp, 'state')
    await writeFile(stateFile, '')
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/index.js')], {
      env: {
        PATH: process.env.PATH,
        RUNNER_TEMP: temp,
        'INPUT_DATABASE-URL': server.url('large'),
        // A temporary database on the source's server, for the post step to drop (the throwaway server's case: throwaway-restore.test.ts).
        'INPUT_RESTORE-SERVER': 'source',
        GITHUB_STATE: stateFile
      }
    })
    let stdout = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      // Once the temporary database exists (and is recorded in the state), and psql restores into it.
      if (/Created temporary database/.test(stdout)) child.kill('SIGKILL')
    })
    await new Promise((resolve) => child.on('close', resolve))
    try {
      const state = parseFileCommand(await readFile(stateFile, 'utf8'))
      const left = JSON.parse(state['temporary-databases'])
      expect(left).toHaveLength(1)
      expect(await temporaryDatabases(server)).toEqual(left)
      const post = await runBundle('dist/post/index.js', {
        inputs: { 'database-url': server.url('large') },
        state: { 'temporary-databases': state['temporary-databases'], 'temporary-folders': state['temporary-folders'] }
      })
      expect(post.code).toBe(0)
      expect(await temporaryDatabases(server)).toEqual([])
      expect((await readdir(temp)).filter((name) => name.startsWith('backup-verify-'))).toEqual([])
    } finally {
      await rm(temp, { recursive: true, force: true })
    }
  })
})

describe('dist/post/index.js', () => {
  test('drops a temporary database and folder that the main step recorded but did not remove', async () => {
    const leftover = 'backup_verify_20260101t000000_abcdef'
    await server.query(`CREATE DATABASE ${leftover}`)
    const folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-leftover-'))
    const run = await runBundle('dist/post/index.js', {
      inputs: { 'database-url': server.url('shop') },
      state: { 'temporary-databases': JSON.stringify([leftover]), 'temporary-folders': JSON.stringify([folder]) }
    })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Dropped leftover temporary database ${leftover}`)
    expect(await temporaryDatabases(server)).toEqual([])
    await expect(readFile(folder)).rejects.toThrow()
  })
})

describe('dist/cli/index.js', () => {
  test('--help prints the usage and exits 0', async () => {
    const run = await runBundle('dist/cli/index.js', { args: ['--help'] })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: backup-verify [options]')
    expect(run.stdout).toContain('--database-url URL')
  })

  test('an unknown flag or a bad value exits 1 with the reason', async () => {
    const unknown = await runBundle('dist/cli/index.js', { args: ['--nope'] })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("Unknown option '--nope'")
    const bad = await runBundle('dist/cli/index.js', { args: ['--min-size=-5'], env: { DATABASE_URL: server.url('shop') } })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('error: Input "min-size" has an invalid value "-5"')
  })

  test('verifies from DATABASE_URL with plain log lines; no child process sees the password in its argv', async () => {
    // Wrappers in PGBIN record each tool's arguments, then run the real tool.
    const pgbin = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-pgbin-'))
    const argvLog = path.join(pgbin, 'argv.log')
    const real = (await findClientTools())[0].directory
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      const wrapper = path.join(pgbin, tool)
      await writeFile(
        wrapper,
        `#!/bin/sh\nprintf '%s ' "${tool}" "$@" >> "${argvLog}"; echo >> "${argvLog}"\nexec "${real}/${tool}" "$@"\n`,
        { mode: 0o755 }
      )
    }
    try {
      const run = await runBundle('dist/cli/index.js', {
        args: ['--verbose', '--jobs', '2'],
        env: { DATABASE_URL: server.url('shop'), PGBIN: pgbin }
      })
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(`in ${pgbin} (found: PGBIN; server major 15)`)
      expect(run.stdout).toMatch(/^PASSED: the backup of postgres@127\.0\.0\.1:\d+\/shop restores \(4 of 4 tables, 10365 rows\)/m)
      expect(run.stdout).not.toContain('::')
      // Verbose: the tools' own output streams into the log.
      expect(run.stdout).toMatch(/pg_dump: dumping contents of table "sales\."?Order Items"?/)
      const argv = await readFile(argvLog, 'utf8')
      expect(argv).toMatch(
        /^pg_dump --no-password --format=plain --snapshot=[0-9A-F]+-[0-9A-F]+-\d+ --file=\S+\/shop-\d{8}T\d{6}Z\.sql --verbose $/m
      )
      // The schema session goes on past harmless errors; the sessions loading rows stop at their first.
      expect(argv).toMatch(/^psql -X --no-password -v ON_ERROR_STOP=0 --no-align --tuples-only -f - $/m)
      expect(argv).toMatch(/^psql -X --no-password -v ON_ERROR_STOP=1 --no-align --tuples-only -f - $/m)
      expect(argv).not.toContain(server.password)
      expect(argv).not.toContain(encodeURIComponent(server.password))
      expect(run.everything).not.toContain(server.password)
    } finally {
      await rm(pgbin, { recursive: true, force: true })
    }
  })

  test('the receipt goes to the working folder, or to --receipt-dir (made when missing), and the run says where', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-cli-cwd-'))
    try {
      const here = await runBundle('dist/cli/index.js', { args: ['--verify', 'schema'], cwd, env: { DATABASE_URL: server.url('shop') } })
      expect(here.code).toBe(0)
      const [receipt] = (await readdir(cwd)).filter((name) => name.startsWith('backup-verify-receipt-'))
      expect(here.stdout).toContain(`receipt   ${path.join(cwd, receipt)}`)
      expect(JSON.parse(await readFile(path.join(cwd, receipt), 'utf8')).verdict).toBe('passed')
      const there = path.join(cwd, 'receipts', 'nightly')
      const told = await runBundle('dist/cli/index.js', {
        args: ['--verify', 'schema', '--receipt-dir', 'receipts/nightly'],
        cwd,
        env: { DATABASE_URL: server.url('shop') }
      })
      expect(told.code).toBe(0)
      expect(await readdir(there)).toEqual([expect.stringMatching(/^backup-verify-receipt-.*\.json$/)])
      const refused = await runBundle('dist/cli/index.js', {
        args: ['--receipt-dir', path.join(cwd, receipt, 'inside-a-file')],
        env: { DATABASE_URL: server.url('shop') }
      })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('cannot hold the receipt (ENOTDIR): name a folder this user may write to')
      expect(refused.stdout).not.toContain('Create')
    } finally {
      await rm(cwd, { recursive: true, force: true })
    }
  })
})
