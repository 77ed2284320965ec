// A backup is untrusted input: real dumps with a statement or psql meta-command slipped in, each
// verified against a real server that also holds a live database. The run fails naming what it
// refused, and markers show that nothing ran: no role, no setting, no database dropped, no file or
// process on the runner or the server's host. A --create dump restores without touching the database
// it names, and code for the server's host needs the backup vouched for.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { chooseConnection } from '../../src/inputs/connection.js'
import { openSession } from '../../src/connection/session.js'
import { restoreBackup } from '../../src/restore/restore.js'
import { findClientTools, type ClientTools } from '../../src/tools/locate.js'
import { VerificationError } from '../../src/run/errors.js'
import { testRun } from '../support/reporter.js'
import { buildSummary } from '../../src/report/summary.js'
import { renderSummary } from '../../src/report/summary-html.js'
import { summaryLines } from '../../src/report/summary-text.js'
import { Readable } from 'node:stream'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { restrictLine } from '../../src/restore/psql.js'
import { runTool } from '../../src/tools/process.js'
import { clientEnvironment } from '../../src/connection/environment.js'
import { ROOT } from '../support/runner.js'
import { createSampleDatabase, temporaryDatabases, useServer } from '../support/server.js'
import { verifyInputs } from '../support/verify.js'

const { server, work } = useServer('hostile')
/** Where a statement that ran would leave its mark: writable by the server's account too. */
let marks: string
let tools: ClientTools
const dumps: Record<string, string> = {}

const dumpEnv = (database: string) => ({
  ...process.env,
  PGHOST: '127.0.0.1',
  PGPORT: String(server.port),
  PGUSER: 'postgres',
  PGPASSWORD: server.password,
  PGDATABASE: database
})

function dump(name: string, database: string, args: string[]): string {
  dumps[name] = path.join(work, name)
  execFileSync(tools.pgDump, [...args, `--file=${dumps[name]}`], { env: dumpEnv(database) })
  return dumps[name]
}

beforeAll(async () => {
  marks = path.join(work, 'marks')
  await mkdir(marks)
  await chmod(work, 0o755)
  await chmod(marks, 0o777)
  tools = (await findClientTools())[0]
  await createSampleDatabase(server, 'app')
  await server.query("ALTER DATABASE app SET work_mem = '7MB'")
  await server.query("CREATE ROLE app_user; ALTER ROLE app_user IN DATABASE app SET work_mem = '3MB'")
  await server.query("COMMENT ON TABLE public.customers IS 'x" + 'x'.repeat(119) + "'", 'app')
  await server.query('CREATE DATABASE victim')
  await server.query('CREATE TABLE kept (a integer); INSERT INTO kept VALUES (1)', 'victim')
  await server.query('CREATE DATABASE tiny')
  await server.query(
    "CREATE TABLE public.t (a integer PRIMARY KEY, b text); INSERT INTO public.t SELECT g, 'row ' || g FROM generate_series(1, 50) g",
    'tiny'
  )
  dump('app.sql', 'app', ['--format=plain'])
  dump('app-clean-create.sql', 'app', ['--format=plain', '--clean', '--if-exists', '--create'])
  dump('app-create.sql', 'app', ['--format=plain', '--create'])
  dump('app.dump', 'app', ['--format=custom'])
  dump('app.dir', 'app', ['--format=directory'])
  dump('tiny.sql', 'tiny', ['--format=plain'])
})

function verify(file: string, inputs: Record<string, string> = {}) {
  return verifyInputs({ 'backup-file': file, 'restore-database-url': server.url('postgres'), ...inputs }, work)
}

/** The dump with a line slipped in after its preamble's SET lines; its line number. */
async function slipIn(source: string, name: string, text: string, restrict = true): Promise<{ file: string; line: number }> {
  let dumped = await readFile(source, 'utf8')
  if (!restrict) dumped = dumped.replace(/^\\(un)?restrict .*\n/gm, '')
  const anchor = 'SET row_security = off;\n'
  const at = dumped.indexOf(anchor) + anchor.length
  const file = path.join(work, `${name}.sql`)
  await writeFile(file, `${dumped.slice(0, at)}${text}\n${dumped.slice(at)}`)
  return { file, line: dumped.slice(0, at).split('\n').length }
}

interface Hostile {
  name: string
  /** Words of the reason the run must give. */
  reason: string
  text: string
}

/** The corpus: each case's name, the reason it is refused for, and the text slipped in. */
function readCorpus(): Hostile[] {
  const text = readFileSync(path.join(ROOT, '__tests__', 'fixtures', 'hostile-statements.txt'), 'utf8')
  return text
    .split(/\n(?=-- name: )/)
    .filter((block) => block.startsWith('-- name: '))
    .map((block) => {
      const [nameLine, reasonLine, ...rest] = block.trimEnd().split('\n')
      return { name: nameLine.slice('-- name: '.length), reason: reasonLine.slice('-- refused: '.length), text: rest.join('\n') }
    })
}
const CORPUS = readCorpus()

const noRole = async () => (await server.query("SELECT 1 FROM pg_roles WHERE rolname = 'hostile_role'")).length === 0
const none = (sql: string, database?: string) => async () => (await server.query(sql, database)).length === 0
const noMark = (name: string) => async () => !existsSync(path.join(marks, name))
const victimWhole = async () =>
  (await server.query("SELECT 1 FROM pg_database WHERE datname = 'victim'")).length === 1 &&
  (await server.query("SELECT 1 FROM pg_class WHERE relname = 'hostile_table'", 'victim')).length === 0

/** What each case would leave behind had it run; a case with nothing to see is held to its refusal alone. */
const TRACES: Record<string, () => Promise<boolean>> = {
  'create-role': noRole,
  'do-block': noRole,
  gexec: noRole,
  'two-in-one': noRole,
  include: noRole,
  'grant-role': none(
    "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'pg_execute_server_program' AND u.rolname = 'app_user'"
  ),
  'alter-system': none("SELECT 1 FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf' AND name = 'work_mem'"),
  'drop-database': victimWhole,
  connect: victimWhole,
  'alter-other-database': none("SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'victim'"),
  tablespace: none("SELECT 1 FROM pg_tablespace WHERE spcname = 'hostile_space'"),
  subscription: none("SELECT 1 FROM pg_subscription WHERE subname = 'hostile_sub'"),
  'copy-program': noMark('copy-program'),
  'copy-server-file': noMark('copy-server-file'),
  'large-object-export': noMark('large-object-export'),
  shell: noMark('shell'),
  output: noMark('output'),
  write: noMark('write'),
  'copy-meta': noMark('copy-meta'),
  'routine-named-begin': noRole,
  'bit-string-escape': noRole,
  'string-taken-up': noRole,
  'commit-and-chain': noRole,
  'setting-spelled-otherwise': noRole,
  'routine-named-return': noMark('routine-named-return'),
  'view-writes-a-file': noMark('view-writes-a-file'),
  'foreign-program': noMark('foreign-program'),
  'foreign-program-quoted': noMark('foreign-program-quoted'),
  'number-run-into-dollar': noRole,
  'unicode-name': noMark('unicode-name'),
  'operator-of-a-host-function': noMark('operator-of-a-host-function'),
  'foreign-write': none('SELECT 1 FROM kept WHERE a = 666', 'victim'),
  'foreign-truncate': async () => (await server.query('SELECT 1 FROM kept', 'victim')).length > 0,
  'text-search-statistics': noMark('text-search-statistics'),
  'user-named-mapping': none("SELECT 1 FROM pg_roles WHERE rolname = 'mapping'"),
  'copy-then-statement': noRole
}
const nothingRan = (hostile: Hostile) => (TRACES[hostile.name] ?? (async () => true))()
const slipped = (hostile: Hostile) =>
  hostile.text
    .replaceAll('{marks}', marks)
    .replaceAll('{port}', String(server.port))
    .replaceAll('{password}', server.password.replace(/'/g, "''"))

describe('a hostile plain backup is refused in Validate, named by its line', () => {
  beforeAll(async () => {
    await writeFile(path.join(work, 'include.sql'), 'CREATE ROLE hostile_role SUPERUSER;\n')
  })

  test('the corpus holds every case the issue names', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(39)
    for (const hostile of CORPUS) expect(hostile.reason.length).toBeGreaterThan(5)
  })

  test.each(CORPUS.flatMap((hostile) => [true, false].map((restrict) => [hostile.name, restrict, hostile] as const)))(
    '%s (the dump has its \\restrict lines: %s)',
    async (name, restrict, hostile) => {
      const { file, line } = await slipIn(dumps['app.sql'], `${name}-${restrict}`, slipped(hostile), restrict)
      const { result, ledger } = await verify(file, { jobs: '4' })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('backup-refused')
      // Named by its line: one of the lines slipped in.
      const named = Number(/\bline (\d+)[:)]/.exec(result.error?.message ?? '')?.[1])
      expect(named).toBeGreaterThanOrEqual(line)
      expect(named).toBeLessThan(line + hostile.text.split('\n').length)
      expect(result.error?.message).toContain(hostile.reason)
      expect(result.error?.hint).toMatch(/untrusted input|Vouch for the backup with expected-checksum/)
      expect(result.phases.map((phase) => phase.status)).toEqual(['not run', 'failed', 'not run'])
      expect(result.safety).toMatchObject({ trusted: false })
      expect(result.safety?.refused).toBeGreaterThan(0)
      expect(await nothingRan(hostile)).toBe(true)
      expect(ledger.live.database.size).toBe(0)
      // The summary says where it would have gone and that nothing was restored; the receipt records it.
      expect(summaryLines(result).join('\n')).toMatch(
        /trust {5}backup from an untrusted source, to be restored into a temporary database on postgres@127\.0\.0\.1:\d+\/postgres: \d+ statement\(s\) refused, nothing restored/
      )
      const receipt = JSON.parse(await readFile(result.receiptPath!, 'utf8'))
      expect(receipt.safety).toMatchObject({ trusted: false, refused: result.safety?.refused })
      expect(validateReceipt(receipt)).toBe(true)
    }
  )
})

const validateReceipt = new Ajv({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(path.join(ROOT, 'receipt.schema.json'), 'utf8'))
)

test('psql runs under a key of the run: a meta-command that got past the gate still does not run', async () => {
  const line = restrictLine(tools.version)
  if (!line) {
    console.warn(`Skipping the \\restrict key test: psql ${tools.version.text} predates \\restrict`)
    return
  }
  const mark = path.join(marks, 'under-key')
  const choice = chooseConnection(server.url('tiny'), {}, undefined)
  if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
  const script = `${line}\\! touch ${mark}\n\\restrict K3y\n\\unrestrict K3y\n\\! touch ${mark}\nSELECT 1;\n`
  const ran = await runTool(tools.psql, ['-X', '--no-password', '-f', '-'], {
    env: { ...clientEnvironment(choice.target, 'tiny', undefined), PGPASSWORD: server.password },
    stdin: Readable.from([script])
  })
  expect(ran.stderr).toContain('backslash commands are restricted; only \\unrestrict is allowed')
  expect(existsSync(mark)).toBe(false)
})

describe('past Validate (the file changed since, say), the restore refuses it before it runs', () => {
  const restoreDirectly = async (file: string, jobs: number, databaseName: string) => {
    const choice = chooseConnection(server.url('postgres'), {}, undefined)
    if (choice?.kind !== 'postgres') throw new Error('expected a PostgreSQL URL')
    const session = await openSession(choice.target)
    try {
      const request = {
        server: { target: choice.target, session, major: server.major },
        tools,
        backup: { path: file, format: 'plain' as const },
        jobs,
        strict: false,
        untrusted: true,
        databaseName
      }
      return await restoreBackup(testRun(), request, async () => undefined)
    } finally {
      await session.end()
    }
  }

  const cases = CORPUS.filter((hostile) =>
    [
      'create-role',
      'alter-system',
      'drop-database',
      'shell',
      'output',
      'copy-program',
      'connect',
      'gexec',
      'large-object-export',
      'routine-named-begin',
      'bit-string-escape',
      'string-taken-up',
      'commit-and-chain',
      'setting-spelled-otherwise',
      'copy-then-statement',
      'user-named-mapping',
      'text-search-statistics'
    ].includes(hostile.name)
  )
  test.each(
    cases.flatMap((hostile) => [1, 4].flatMap((jobs) => [true, false].map((restrict) => [hostile.name, jobs, restrict, hostile] as const)))
  )('%s, jobs %d, \\restrict lines %s', async (name, jobs, restrict, hostile) => {
    // The tiny database has no table customers: a case that copies from it uses its table t.
    const text = slipped(hostile).replaceAll('public.customers', 'public.t')
    const { file } = await slipIn(dumps['tiny.sql'], `direct-${name}-${jobs}-${restrict}`, text, restrict)
    const refused = await restoreDirectly(file, jobs, `backup_verify_direct_${name.replace(/-/g, '_')}_${jobs}_${restrict}`).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(refused).toBeInstanceOf(VerificationError)
    expect((refused as VerificationError).problem).toBe('backup-refused')
    expect((refused as VerificationError).message).toContain(hostile.reason)
    expect(await nothingRan(hostile)).toBe(true)
    expect(await temporaryDatabases(server)).toEqual([])
  })
})

describe('an archive whose table of contents carries a statement', () => {
  /** The archive with the comment's statement replaced, byte for byte, by another of the same length. */
  async function injected(source: string, name: string, statement: string): Promise<string> {
    const target = path.join(work, name)
    await cp(source, target, { recursive: true })
    const file = source.endsWith('.dir') ? path.join(target, 'toc.dat') : target
    const bytes = await readFile(file)
    const original = Buffer.from(`COMMENT ON TABLE public.customers IS 'x${'x'.repeat(119)}';`)
    const at = bytes.indexOf(original)
    expect(at).toBeGreaterThan(0)
    const replacement = Buffer.from(`${statement} --`.padEnd(original.length, '-'))
    replacement.copy(bytes, at)
    await writeFile(file, bytes)
    return target
  }

  test.each(['app.dump', 'app.dir'])('%s: refused in Validate, named by its entry; nothing ran', async (name) => {
    const archive = await injected(dumps[name], `injected-${name}`, 'CREATE ROLE hostile_role SUPERUSER;')
    const { result } = await verify(archive, { jobs: '4' })
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('backup-refused')
    expect(result.error?.message).toMatch(
      /TOC entry \d+ \(COMMENT TABLE customers in schema public\): CREATE ROLE hostile_role SUPERUSER; \(CREATE ROLE acts on a role/
    )
    expect(result.phases[2].status).toBe('not run')
    expect(await noRole()).toBe(true)
  })
})

describe('a --create dump verified on the server that holds the database it names', () => {
  test.each([
    ['app-clean-create.sql', '1'],
    ['app-clean-create.sql', '4'],
    ['app-create.sql', '1'],
    ['app-create.sql', '4']
  ])('%s, jobs %s: the live database keeps its oid, its rows and its settings; the temporary one stood in', async (name, jobs) => {
    const before = await server.query<{ oid: string }>("SELECT oid FROM pg_database WHERE datname = 'app'")
    // Written since the backup: a restore into the live database would lose or double them.
    await server.query(`INSERT INTO public.customers (name, email) VALUES ('written since', 'since-${name}-${jobs}@example.com')`, 'app')
    const rows = await server.query<{ n: string }>('SELECT count(*) AS n FROM public.customers', 'app')
    const { result, ledger } = await verify(dumps[name], { jobs })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.safety).toMatchObject({ standIn: 'app', refused: 0, trusted: false })
    expect(result.safety?.leftOut).toBeGreaterThan(0)
    expect(await server.query("SELECT oid FROM pg_database WHERE datname = 'app'")).toEqual(before)
    expect(await server.query('SELECT count(*) AS n FROM public.customers', 'app')).toEqual(rows)
    const settings = await server.query<{ setconfig: string[] }>(
      "SELECT setrole::regrole::text AS role, setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'app' ORDER BY 1"
    )
    expect(settings).toEqual([
      { role: '-', setconfig: ['work_mem=7MB'] },
      { role: 'app_user', setconfig: ['work_mem=3MB'] }
    ])
    // Applied to the temporary database, they went with it.
    expect(await server.query('SELECT 1 FROM pg_db_role_setting WHERE setdatabase NOT IN (SELECT oid FROM pg_database)')).toEqual([])
    expect(result.tables?.rowMismatches).toEqual([])
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
    const summary = renderSummary(buildSummary(result))
    expect(summary).toMatch(
      /backup from an untrusted source: restored into backup_verify_\w+ on postgres@127\.0\.0\.1:\d+\/postgres, 0 statement\(s\) refused/
    )
    expect(summary).toMatch(
      /database app \(a --create dump\): \d+ statement\(s\) of its preamble left out, 2 applied to the temporary database/
    )
  })
})

describe("code for the server's host", () => {
  let plain: string
  let custom: string

  beforeAll(async () => {
    await server.query('CREATE DATABASE coded')
    await server.query(
      `CREATE FUNCTION public.my_digest(bytea, text) RETURNS bytea LANGUAGE c IMMUTABLE STRICT AS '$libdir/pgcrypto', 'pg_digest';
       CREATE TABLE public.files (id integer PRIMARY KEY, data bytea NOT NULL);
       INSERT INTO public.files SELECT g, convert_to('file ' || g, 'UTF8') FROM generate_series(1, 20) g;
       CREATE INDEX files_digest ON public.files (public.my_digest(data, 'sha256'));`,
      'coded'
    )
    plain = dump('coded.sql', 'coded', ['--format=plain'])
    custom = dump('coded.dump', 'coded', ['--format=custom'])
  })

  test.each(['plain', 'custom'])('%s: an untrusted backup is refused before the function is created, naming it', async (format) => {
    const { result } = await verify(format === 'plain' ? plain : custom)
    expect(result.status).toBe('failed')
    expect(result.error?.problem).toBe('backup-refused')
    expect(result.error?.message).toContain('public.my_digest(bytea, text) in c')
    expect(result.error?.hint).toContain('expected-checksum')
    expect(result.phases[2].status).toBe('not run')
  })

  test.each(['plain', 'custom'])('%s: vouched for by expected-checksum, it is verified', async (format) => {
    const file = format === 'plain' ? plain : custom
    const sha256 = createHash('sha256')
      .update(await readFile(file))
      .digest('hex')
    const { result } = await verify(file, { 'expected-checksum': sha256 })
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('passed')
    expect(result.safety).toMatchObject({
      trusted: true,
      trustedBy: 'expected-checksum',
      untrustedCode: ['public.my_digest(bytea, text) in c']
    })
    expect(result.tables?.restored).toContain('public.files')
  })
})

describe('a COPY the server refuses never has psql read its rows as statements', () => {
  const rows = 'CREATE ROLE hostile_role SUPERUSER;\nDROP DATABASE victim;\n'
  test.each([
    ['in the order of the dump (the schema session, which goes on after errors)', '1'],
    ['in the order of the dump', '4'],
    ["in a table's data, shared out", '4']
  ])('%s, jobs %s', async (where, jobs) => {
    const text = await readFile(dumps['app.sql'], 'utf8')
    let hostile: string
    if (where.startsWith("in a table's data")) {
      // The data entry's own COPY, of a table that does not exist: its rows are the attack.
      const copy = /^COPY public\.customers .*FROM stdin;\n/m.exec(text)![0]
      hostile = text.replace(copy, `COPY public.no_such_table (a) FROM stdin;\n${rows}\\.\n${copy}`)
    } else {
      const anchor = 'SET row_security = off;\n'
      hostile = text.replace(anchor, `${anchor}COPY public.no_such_table (a) FROM stdin;\n${rows}\\.\n`)
    }
    const file = path.join(work, `failed-copy-${jobs}-${where.length}.sql`)
    await writeFile(file, hostile)
    const { result, ledger } = await verify(file, { jobs })
    expect(result.status).toBe('failed')
    expect(result.error?.message).toContain('relation "public.no_such_table" does not exist')
    expect(await noRole()).toBe(true)
    expect(await victimWhole()).toBe(true)
    expect(ledger.live.database.size).toBe(0)
    expect(await temporaryDatabases(server)).toEqual([])
  })
})

describe('an untrusted archive whose data are INSERT statements (pg_dump --inserts)', () => {
  test('is restored through psql, which reads them as the gate does: a $-quoted value stays a value', async () => {
    await server.query('CREATE DATABASE inserted')
    await server.query(
      `CREATE TABLE public.payload (id integer PRIMARY KEY, body text); INSERT INTO public.payload VALUES (1, '${'y'.repeat(60)}')`,
      'inserted'
    )
    const archive = dump('inserted.dir', 'inserted', ['--format=directory', '--inserts', '--compress=0'])
    const { readdir } = await import('node:fs/promises')
    const data = (await readdir(archive)).find((name) => /^\d+\.dat$/.test(name))!
    const file = path.join(archive, data)
    const bytes = await readFile(file)
    const original = Buffer.from(`'${'y'.repeat(60)}'`)
    const at = bytes.indexOf(original)
    expect(at).toBeGreaterThan(0)
    // pg_restore would cut this at its first semicolon, where psql (and the gate) read one value.
    Buffer.from('$$); CREATE ROLE hostile_role SUPERUSER; --'.padEnd(original.length - 2, '-') + '$$').copy(bytes, at)
    await writeFile(file, bytes)
    const { result } = await verify(archive, { jobs: '2' })
    expect(await noRole()).toBe(true)
    expect(result.phases[2].detail).toMatch(/restored into/)
    expect(result.error?.message ?? '').not.toContain('hostile_role')
    expect(result.status).toBe('passed')
  })
})
