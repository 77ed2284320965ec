// Roles a backup names that the restore server lacks, or that the restoring role may not act as: a
// change of owner or privileges that fails on one is harmless; a policy (or anything else) that
// fails on one leaves the restore incomplete, in every format and with one or several sessions.

import { beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { settingsFrom } from '../support/verify.js'
import { verifyBackup } from '../../src/engine/verify.js'
import { findClientTools } from '../../src/tools/locate.js'
import { incompleteRestore, restoreFailure, RestoreErrorSorter } from '../../src/restore/errors.js'
import { commandKind, StatementLines } from '../../src/restore/statement-lines.js'
import { PlainDumpLexer } from '../../src/backup/plain/lexer.js'
import { MemoryLedger, recordingReporter } from '../support/reporter.js'
import { temporaryDatabases, useServer } from '../support/server.js'

const { server, work } = useServer('roles')
const backups: Record<string, string> = {}
const FORMATS = ['plain', 'custom', 'directory', 'tar'] as const

/** Rows every source database holds, and the policy that reads them. */
const SCHEMA = `
  CREATE TABLE public.accounts (id int PRIMARY KEY, tenant text NOT NULL, balance numeric NOT NULL);
  INSERT INTO public.accounts SELECT g, 't' || (g % 7), g * 1.5 FROM generate_series(1, 410) g;
  CREATE TABLE public.notes (id int PRIMARY KEY, account int REFERENCES public.accounts, body text);
  INSERT INTO public.notes SELECT g, g, repeat('n', g % 40) FROM generate_series(1, 200) g;
  ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
  CREATE FUNCTION public.balance_of(a int) RETURNS numeric LANGUAGE sql STABLE AS 'SELECT balance FROM public.accounts WHERE id = a';
  CREATE VIEW public.rich AS SELECT id FROM public.accounts WHERE balance > 300;
`

async function dumpAll(database: string, prefix: string, tools: { pgDump: string }): Promise<void> {
  const env = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }
  for (const format of FORMATS) {
    const file = path.join(work, `${prefix}.${format}`)
    execFileSync(tools.pgDump, [`--format=${format}`, `--file=${file}`, `--dbname=${database}`], { env })
    backups[`${prefix}.${format}`] = file
  }
}

beforeAll(async () => {
  const tools = (await findClientTools())[0]
  for (const role of ['gone_owner', 'gone_reader', 'gone_tenant', 'kept_owner', 'kept_reader'])
    await server.query(`CREATE ROLE ${role} NOLOGIN`)
  // A policy naming a role that will be gone; owners and grants naming roles that will be gone.
  await server.query('CREATE DATABASE with_policy')
  await server.query(
    `${SCHEMA}
     CREATE POLICY tenant_rows ON public.accounts TO gone_tenant USING (tenant = current_user);
     CREATE POLICY everyone ON public.accounts USING (true);
     ALTER TABLE public.accounts OWNER TO gone_owner;
     GRANT SELECT ON public.accounts, public.notes TO gone_reader;`,
    'with_policy'
  )
  await dumpAll('with_policy', 'with-policy', tools)
  // Only owners and grants name roles that will be gone: a policy names a role that stays.
  await server.query('CREATE DATABASE owners_only')
  await server.query(
    `${SCHEMA}
     CREATE POLICY tenant_rows ON public.accounts TO kept_reader USING (tenant = current_user);
     ALTER TABLE public.accounts OWNER TO gone_owner;
     ALTER TABLE public.notes OWNER TO gone_owner;
     ALTER FUNCTION public.balance_of(int) OWNER TO gone_owner;
     ALTER VIEW public.rich OWNER TO gone_owner;
     GRANT SELECT ON public.accounts, public.notes TO gone_reader;
     GRANT SELECT (id, tenant) ON public.accounts TO gone_tenant;
     ALTER DEFAULT PRIVILEGES FOR ROLE gone_owner GRANT SELECT ON TABLES TO gone_reader;`,
    'owners_only'
  )
  await dumpAll('owners_only', 'owners-only', tools)
  // Objects owned by a role the restoring role is not a member of (both exist on the server).
  await server.query('CREATE DATABASE kept_owners')
  await server.query(
    `${SCHEMA}
     CREATE POLICY tenant_rows ON public.accounts TO kept_reader USING (tenant = current_user);
     ALTER TABLE public.accounts OWNER TO kept_owner;
     ALTER TABLE public.notes OWNER TO kept_owner;
     ALTER FUNCTION public.balance_of(int) OWNER TO kept_owner;
     ALTER VIEW public.rich OWNER TO kept_owner;
     GRANT SELECT ON public.accounts TO kept_reader;
     ALTER DEFAULT PRIVILEGES FOR ROLE kept_owner GRANT SELECT ON TABLES TO kept_reader;`,
    'kept_owners'
  )
  await dumpAll('kept_owners', 'kept-owners', tools)
  for (const database of ['with_policy', 'owners_only']) await server.query(`DROP DATABASE ${database}`)
  for (const role of ['gone_owner', 'gone_reader', 'gone_tenant']) await server.query(`DROP ROLE ${role}`)
  // What docs/troubleshooting.md asks of a restore role: CREATEDB, and reading everything.
  await server.query("CREATE ROLE restorer LOGIN PASSWORD 'restorer-pw' CREATEDB IN ROLE pg_read_all_data")
}, 120_000)

async function verifyExisting(file: string, extra: Record<string, string> = {}, restoreUrl = server.url('postgres')) {
  const inputs: Record<string, string> = { 'backup-file': file, 'restore-database-url': restoreUrl, 'min-size': '0', ...extra }
  const settings = settingsFrom(inputs, work)
  const ledger = new MemoryLedger()
  const reporter = recordingReporter()
  const result = await verifyBackup({ settings, reporter, ledger })
  expect(ledger.live.database.size).toBe(0)
  expect(await temporaryDatabases(server)).toEqual([])
  return { result, reporter }
}

/** Every format, plain in one session and in several. */
const WAYS: Array<[string, (typeof FORMATS)[number], string]> = [
  ['plain, one session', 'plain', '1'],
  ['plain, parallel sessions', 'plain', '3'],
  ['custom', 'custom', '2'],
  ['directory', 'directory', '2'],
  ['tar', 'tar', '1']
]

describe('a role the restore server lacks', () => {
  test.each(WAYS)(
    '%s: a policy naming it fails the restore; the hint says to create the role, not to set strict',
    async (_, format, jobs) => {
      const { result } = await verifyExisting(backups[`with-policy.${format}`], { jobs })
      expect(result.status).toBe('failed')
      expect(result.error?.problem).toBe('restore-failed')
      expect(result.error?.message).toMatch(/errors? that leaves? the restore incomplete: .*role "gone_tenant" does not exist/)
      // The owner and the grants naming missing roles are not what failed it.
      expect(result.error?.message).not.toMatch(/gone_owner|gone_reader/)
      expect(result.error?.hint).toMatch(/CREATE ROLE/)
      expect(result.error?.hint).not.toMatch(/strict/)
    },
    60_000
  )

  test.each(WAYS)(
    '%s: owners and privileges naming it are counted harmless and the backup passes',
    async (_, format, jobs) => {
      const { result, reporter } = await verifyExisting(backups[`owners-only.${format}`], { jobs })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      expect(result.ignoredRestoreErrors?.detail).toMatch(
        /^a role the dump names does not exist \(ownership or privileges not restored\) \(\d+x\)$/
      )
      expect(result.ignoredRestoreErrors?.total).toBeGreaterThanOrEqual(6)
      expect(reporter.warnings.filter((warning) => warning.includes('harmless'))).toHaveLength(1)
    },
    60_000
  )

  test.each([
    ['plain', 'plain'],
    ['custom', 'custom']
  ])(
    '%s with strict: a missing owner fails it, and the hint says that strict is what fails it',
    async (_, format) => {
      const { result } = await verifyExisting(backups[`owners-only.${format}`], { strict: 'true' })
      expect(result.status).toBe('failed')
      expect(result.error?.message).toMatch(/role "gone_/)
      expect(result.error?.hint).toMatch(/run without strict/)
    },
    60_000
  )
})

describe('a restore role that is not a superuser (CREATEDB, reads everything)', () => {
  test.each(WAYS)(
    '%s: objects it may not give to their owner stay its own, said once, and the backup passes',
    async (_, format, jobs) => {
      const url = `postgresql://restorer:restorer-pw@127.0.0.1:${server.port}/postgres`
      const { result, reporter } = await verifyExisting(backups[`kept-owners.${format}`], { jobs }, url)
      expect(result.error).toBeUndefined()
      expect(result.status).toBe('passed')
      expect(result.ignoredRestoreErrors?.detail).toMatch(
        /ownership not restored: the restoring role may not act as the role that owns the object.* \(4x\)/
      )
      expect(result.ignoredRestoreErrors?.detail).toMatch(/another role's default privileges or grants not restored: .* \(1x\)/)
      expect(result.ignoredRestoreErrors?.total).toBe(5)
      expect(reporter.warnings.filter((warning) => warning.includes('ownership not restored'))).toHaveLength(1)
      // The restore went on after them: every row is back.
      expect(result.tables?.rows.reduce((sum, entry) => sum + (entry.restored ?? 0), 0)).toBe(610)
    },
    60_000
  )
})

describe('sorting errors by the statement they failed', () => {
  /** A StatementLines fed a script as the lexer cuts it. */
  function linesOf(script: string): StatementLines {
    const lines = new StatementLines()
    const lexer = new PlainDumpLexer((unit) => lines.unit(unit, unit.chunks), { keepBytes: true })
    lexer.push(Buffer.from(script, 'latin1'))
    lexer.end()
    return lines
  }

  test('psql names a line: a missing role is harmless there only where a change of owner or privileges ends alone', () => {
    const lines = linesOf(
      [
        'SET client_encoding = UTF8;',
        'ALTER TABLE public.t OWNER TO gone;',
        'CREATE POLICY p ON public.t',
        '  TO gone USING (true);',
        'GRANT SELECT ON TABLE public.t TO gone;',
        'GRANT SELECT ON TABLE public.t TO gone; CREATE POLICY q ON public.t TO gone USING (true);',
        'ALTER TABLE public.t ENABLE ROW LEVEL SECURITY, OWNER TO gone;',
        "COMMENT ON TABLE public.t IS 'x",
        "GRANT SELECT ON TABLE public.t TO gone;';",
        'ALTER FUNCTION public.f(integer, text) OWNER TO "Gone";',
        'GRANT SELECT ON TABLE public.t TO gone; GRANT SELECT ON TABLE public.u TO gone;',
        'GRANT SELECT ON TABLE public.t TO gone; GRANT SELECT ON TABLE public.u TO gone; CREATE POLICY r ON public.t TO gone USING (true);',
        ''
      ].join('\n')
    )
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((line) => lines.kindAt(line) ?? null)).toEqual([
      null,
      'ownership',
      null,
      null,
      'privileges',
      null,
      null,
      null,
      null,
      'ownership',
      'privileges',
      null
    ])
    const sorter = new RestoreErrorSorter()
    sorter.readsLines(lines)
    for (const line of [2, 4, 5, 6, 7, 9]) sorter.line(`psql:<stdin>:${line}: ERROR:  role "gone" does not exist`)
    sorter.line('psql:<stdin>:10: ERROR:  must be member of role "Gone"')
    sorter.line('psql:<stdin>:5: ERROR:  must be able to SET ROLE "gone"')
    sorter.line('psql:<stdin>:4: ERROR:  must be able to SET ROLE "gone"')
    const errors = sorter.result()
    expect(errors.total).toBe(9)
    expect(errors.fatal).toHaveLength(5)
    expect([...errors.harmless.values()]).toEqual([2, 1, 1])
    // No line to look up (another session): fatal.
    const other = new RestoreErrorSorter()
    other.line('psql:<stdin>:2: ERROR:  role "gone" does not exist')
    expect(other.result().fatal).toEqual(['role "gone" does not exist'])
  })

  test("pg_restore's command tells: every statement of it must change an owner or privileges", () => {
    expect(commandKind('ALTER TABLE public.t OWNER TO gone;')).toBe('ownership')
    expect(commandKind('SET SESSION AUTHORIZATION alice;\nGRANT SELECT ON TABLE public.t TO gone;\nRESET SESSION AUTHORIZATION;\n')).toBe(
      'privileges'
    )
    expect(commandKind('CREATE POLICY p ON public.t TO gone USING (true);')).toBeUndefined()
    expect(commandKind('GRANT SELECT ON TABLE public.t TO gone;\nCREATE POLICY p ON public.t TO gone USING (true);')).toBeUndefined()
    expect(commandKind('COPY public.t (id, r) FROM stdin;')).toBeUndefined()
    const sorter = new RestoreErrorSorter()
    for (const line of [
      'pg_restore: error: could not execute query: ERROR:  role "gone" does not exist',
      'Command was: GRANT SELECT ON TABLE public.t TO gone;',
      'GRANT SELECT ON TABLE public.u TO gone;',
      'pg_restore: error: could not execute query: ERROR:  role "gone" does not exist',
      'Command was: GRANT SELECT ON TABLE public.t TO reader;',
      'CREATE POLICY p ON public.t TO gone USING (true);',
      'pg_restore: error: COPY failed for table "t": ERROR:  role "gone" does not exist',
      'CONTEXT:  COPY t, line 1, column r: "gone"',
      'pg_restore: error: could not execute query: ERROR:  must be member of role "kept"',
      'pg_restore: detail: Command was: ALTER TABLE public.t OWNER TO kept;'
    ])
      sorter.line(line)
    const errors = sorter.result()
    expect(errors.fatal).toEqual([
      'role "gone" does not exist; in GRANT SELECT ON TABLE public.t TO reader',
      'role "gone" does not exist (COPY t, line 1, column r: "gone")'
    ])
    expect([...errors.harmless.values()]).toEqual([1, 1])
  })

  test('a hint suggests strict only to a run that set it, and only for errors strict alone fails on', () => {
    const failed = incompleteRestore(['role "gone" does not exist; in CREATE POLICY p ON public.t TO gone USING'], '')
    expect(failed.hint).toMatch(/CREATE ROLE/)
    expect(failed.hint).not.toMatch(/strict/)
    const strictOnly = restoreFailure('psql', 'Restore failed', ['psql:<stdin>:2: ERROR:  role "gone" does not exist'], '', true)
    expect(strictOnly.hint).toMatch(/run without strict/)
    const membership = incompleteRestore(['must be able to SET ROLE "kept"; in ALTER DEFAULT PRIVILEGES'], '')
    expect(membership.hint).toMatch(/lacks a privilege/)
  })
})
