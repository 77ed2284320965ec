// The plain-dump planner (jobs over byte ranges) and the scheduler that runs them over sessions,
// without a server: the sessions are recorders that execute nothing but keep what they were sent.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ReplayJob } from '../../../src/restore/parallel/planner.js'
import { recordingPlanner, type RecordedPlanner } from '../../support/planner.js'
import { replayPlainDump, type ReplaySessions } from '../../../src/restore/parallel/scheduler.js'
import type { GateOptions } from '../../../src/backup/gate/dump-gate.js'

/** The gate as a restore runs it, vouching for nothing. */
const GATE: GateOptions = { untrustedCode: 'refuse' }

const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict K3y',
  '',
  'SET statement_timeout = 0;',
  'SET transaction_timeout = 0;',
  "SET client_encoding = 'UTF8';",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  '',
  '--',
  '-- Name: items; Type: TABLE; Schema: public; Owner: app',
  '--',
  '',
  'CREATE TABLE public.items (',
  '    id integer NOT NULL,',
  '    name text',
  ');',
  '',
  '--',
  '-- Name: "Odd Name"; Type: TABLE; Schema: public; Owner: app',
  '--',
  '',
  'CREATE TABLE public."Odd Name" (id integer);',
  '',
  '--',
  '-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: app',
  '--',
  '',
  'COPY public.items (id, name) FROM stdin;',
  ...Array.from({ length: 40 }, (_, i) => `${i + 1}\titem \\\\ number ${i + 1}`),
  '\\.',
  '',
  '',
  '--',
  '-- Data for Name: "Odd Name"; Type: TABLE DATA; Schema: public; Owner: app',
  '--',
  '',
  'COPY public."Odd Name" (id) FROM stdin;',
  '7',
  '\\.',
  '',
  '',
  '--',
  '-- Name: items_id_seq; Type: SEQUENCE SET; Schema: public; Owner: app',
  '--',
  '',
  "SELECT pg_catalog.setval('public.items_id_seq', 40, true);",
  '',
  '',
  "SET default_tablespace = 'fast';",
  '',
  '--',
  '-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: app; Tablespace: fast',
  '--',
  '',
  'ALTER TABLE ONLY public.items',
  '    ADD CONSTRAINT items_pkey PRIMARY KEY (id);',
  '',
  '',
  "SET default_tablespace = '';",
  '',
  '--',
  '-- Name: odd_idx; Type: INDEX; Schema: public; Owner: app',
  '--',
  '',
  'CREATE INDEX odd_idx ON public."Odd Name" USING btree (id);',
  '',
  '',
  '--',
  '-- Name: items items_other_fkey; Type: FK CONSTRAINT; Schema: public; Owner: app',
  '--',
  '',
  'ALTER TABLE ONLY public.items',
  '    ADD CONSTRAINT items_other_fkey FOREIGN KEY (id) REFERENCES public."Odd Name"(id);',
  '',
  '',
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
  '\\unrestrict K3y',
  ''
].join('\n')

const bytes = Buffer.from(DUMP)
const textOf = (job: ReplayJob, input = bytes) => job.ranges.map((range) => input.subarray(range.start, range.end).toString()).join('')

function plan(chunkSize: number, options = { parallel: true, unknownSettings: ['transaction_timeout'], gate: GATE }, input = bytes) {
  const planner = recordingPlanner(options)
  for (let i = 0; i < input.length; i += chunkSize) planner.push(input.subarray(i, i + chunkSize))
  planner.end()
  return planner
}

describe('the plain-dump planner', () => {
  test("divides a dump into the schema, each table's rows, independent statements, per-table definitions and the rest", () => {
    const planner = plan(1 << 16)
    expect(planner.jobs.map((job) => [job.kind, job.kind === 'rows' || job.kind === 'definition' ? job.table : job.independent])).toEqual([
      ['serial', false],
      ['rows', 'public.items'],
      ['rows', 'public."Odd Name"'],
      ['serial', true],
      ['definition', 'public.items'],
      ['definition', 'public."Odd Name"'],
      ['serial', false]
    ])
    const [schema, items, odd, setval, pkey, index, rest] = planner.jobs
    expect(textOf(schema)).toContain('CREATE TABLE public."Odd Name" (id integer);')
    expect(textOf(schema)).not.toContain('transaction_timeout')
    expect(planner.removedSettings).toEqual(['SET transaction_timeout = 0;'])
    expect(textOf(items).split('\n').filter(Boolean)).toHaveLength(40)
    expect(textOf(odd)).toBe('7\n')
    expect(textOf(setval)).toContain("SELECT pg_catalog.setval('public.items_id_seq', 40, true);")
    expect(textOf(pkey)).toContain('ADD CONSTRAINT items_pkey PRIMARY KEY (id);')
    // The SET for the next entry is state, not part of this definition's text.
    expect(textOf(pkey)).not.toContain('SET default_tablespace')
    expect(pkey.settings.get('default_tablespace')).toBe("SET default_tablespace = 'fast';\n")
    expect(index.settings.get('default_tablespace')).toBe("SET default_tablespace = '';\n")
    expect([pkey, index].map((job) => job.kind === 'definition' && job.shared)).toEqual([false, true])
    expect(textOf(rest)).toContain('FOREIGN KEY')
    expect(textOf(rest)).toContain('\\unrestrict K3y')
    expect(planner.restrictLine).toBe('\\restrict K3y\n')
    expect(items.kind === 'rows' && items.copyStatement.toString()).toBe('COPY public.items (id, name) FROM stdin;\n')
    // Every range of rows ends at a line end: each can be a COPY of its own.
    for (const range of items.ranges) expect(bytes[range.end - 1]).toBe(10)
    expect(planner.digest()).toBe(createHash('sha256').update(bytes).digest('hex'))
  })

  test('the plan does not depend on how the bytes arrive', () => {
    const describe = (planner: RecordedPlanner) => planner.jobs.map((job) => `${job.kind}:${textOf(job)}`)
    const whole = describe(plan(1 << 16))
    for (const size of [1, 2, 3, 7, 64, 333]) expect(describe(plan(size))).toEqual(whole)
  })

  test('one session: everything is one job, in order', () => {
    const planner = plan(1 << 16, { parallel: false, unknownSettings: [], gate: GATE })
    expect(planner.jobs).toHaveLength(1)
    // Comments before the first statement run nowhere.
    expect(textOf(planner.jobs[0])).toBe(DUMP.slice(DUMP.indexOf('\\restrict')))
  })

  test('a psql meta-command is refused before anything of it is planned', () => {
    const input = Buffer.from(DUMP.replace("SELECT pg_catalog.setval('public.items_id_seq', 40, true);", '\\connect other'))
    expect(() => plan(1 << 16, { parallel: true, unknownSettings: [], gate: GATE }, input)).toThrow(
      /refused before it ran: .*\\connect \(connects to database other, another database of the server\)/
    )
  })

  test("COPY inside an explicit transaction, or outside a table's data entry, runs in order as psql would run it", () => {
    const inTransaction = Buffer.from(
      DUMP.replace('COPY public."Odd Name" (id) FROM stdin;', 'BEGIN;\nCOPY public."Odd Name" (id) FROM stdin;').replace(
        '7\n\\.\n',
        '7\n\\.\nCOMMIT;\n'
      )
    )
    const planner = plan(1 << 16, { parallel: true, unknownSettings: [], gate: GATE }, inTransaction)
    expect(planner.jobs.filter((job) => job.kind === 'rows').map((job) => job.kind === 'rows' && job.table)).toEqual(['public.items'])
    const serial = planner.jobs.find((job) => job.kind === 'serial' && textOf(job, inTransaction).includes('COPY public."Odd Name"'))
    expect(serial && textOf(serial, inTransaction)).toContain('BEGIN;\nCOPY public."Odd Name" (id) FROM stdin;\n7\n\\.\nCOMMIT;\n')
  })

  test('a line like COPY inside a string (here a comment on a table) is text, as psql reads it: the plan is the same', () => {
    const input = Buffer.from(
      DUMP.replace(
        "SELECT pg_catalog.setval('public.items_id_seq', 40, true);",
        "COMMENT ON TABLE public.items IS 'look:\nCOPY public.items (id) FROM stdin;\n\\.\nno rows here';"
      )
    )
    const planner = plan(1 << 16, { parallel: true, unknownSettings: [], gate: GATE }, input)
    expect(planner.serialBecause).toEqual([])
    expect(planner.jobs.map((job) => job.kind)).toEqual(['serial', 'rows', 'rows', 'serial', 'definition', 'definition', 'serial'])
    expect(textOf(planner.jobs[3], input)).toMatch(
      /^-- Name: items_id_seq; Type: SEQUENCE SET[\s\S]*COMMENT ON TABLE public.items IS 'look:\nCOPY public.items \(id\) FROM stdin;\n\\.\nno rows here';\n/
    )
  })

  test('a definition whose table is not recognised runs in order', () => {
    const input = Buffer.from(
      DUMP.replace('CREATE INDEX odd_idx ON public."Odd Name" USING btree (id);', 'CREATE INDEX odd_idx ON public."Odd Name" ((id + 1));')
    )
    const planner = plan(1 << 16, { parallel: true, unknownSettings: [], gate: GATE }, input)
    expect(planner.jobs.filter((job) => job.kind === 'definition').map((job) => job.kind === 'definition' && job.table)).toEqual([
      'public.items'
    ])
  })
})

/** Sessions that keep what they are sent; a sync records the moment everything before it ran. */
class RecordingSessions implements ReplaySessions {
  readonly received: string[]
  readonly log: Array<{ session: number; text: string }> = []
  constructor(readonly count: number) {
    this.received = Array.from({ length: count }, () => '')
  }
  async write(session: number, data: Buffer | string): Promise<void> {
    this.received[session] += data.toString()
    this.log.push({ session, text: data.toString() })
    await new Promise((resolve) => setImmediate(resolve))
  }
  async sync(session: number): Promise<void> {
    this.log.push({ session, text: '<sync>' })
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  async restart(session: number): Promise<void> {
    this.log.push({ session, text: '<restart>' })
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

describe('the replay scheduler', () => {
  let folder: string
  let file: string
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-replay-'))
    file = path.join(folder, 'dump.sql')
    await writeFile(file, bytes)
  })
  afterAll(() => rm(folder, { recursive: true, force: true }))

  test("every row reaches one session once; definitions come after their table's rows; the rest after everything", async () => {
    const sessions = new RecordingSessions(3)
    const result = await replayPlainDump({
      file: { path: file, size: Promise.resolve(bytes.length) },
      sessions,
      unknownSettings: ['transaction_timeout'],
      gate: GATE
    })
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/)
    const all = sessions.received.join('')
    for (let i = 1; i <= 40; i++)
      expect(all.split(`\n${i}\titem \\\\ number ${i}\n`).length - 1 + (all.startsWith(`${i}\t`) ? 1 : 0)).toBe(1)
    expect(all).not.toContain('transaction_timeout')
    // Session 0 runs everything in order that is neither rows nor a definition; each of the
    // others got \restrict before anything else (session 0 from the dump itself).
    expect(sessions.received[0]).toMatch(/^\\restrict K3y\n[\s\S]*CREATE TABLE[\s\S]*setval[\s\S]*FOREIGN KEY[\s\S]*\\unrestrict K3y\n$/)
    expect(sessions.received[0]).not.toMatch(/COPY|CREATE INDEX|PRIMARY KEY/)
    for (const text of sessions.received.slice(1).filter(Boolean)) expect(text.startsWith('\\restrict K3y\n')).toBe(true)
    const position = (needle: string) => sessions.log.findIndex((entry) => entry.text.includes(needle))
    // The primary key is sent only once the rows of items have all been sent and synced.
    const lastItemRow = sessions.log.map((entry) => entry.text.includes('item \\\\ number 40')).lastIndexOf(true)
    expect(position('ADD CONSTRAINT items_pkey')).toBeGreaterThan(lastItemRow)
    expect(position('FOREIGN KEY')).toBeGreaterThan(position('ADD CONSTRAINT items_pkey'))
    expect(position('FOREIGN KEY')).toBeGreaterThan(position('CREATE INDEX odd_idx'))
    // The session that builds the primary key gets the tablespace it was written under.
    const pkeySession = sessions.log[position('ADD CONSTRAINT items_pkey')].session
    expect(sessions.received[pkeySession]).toMatch(/SET default_tablespace = 'fast';\n[\s\S]*ADD CONSTRAINT items_pkey/)
    expect(result.statistics).toMatchObject({ tables: 2, definitions: 2 })
  })

  test('after a COPY that runs in order, session 0 runs to its end and is replaced: a failed COPY cannot swallow a sync', async () => {
    const input = Buffer.from(
      DUMP.replace('COPY public."Odd Name" (id) FROM stdin;', 'BEGIN;\nCOPY public."Odd Name" (id) FROM stdin;').replace(
        '7\n\\.\n',
        '7\n\\.\nCOMMIT;\n'
      )
    )
    const inOrder = path.join(folder, 'in-order.sql')
    await writeFile(inOrder, input)
    const sessions = new RecordingSessions(3)
    await replayPlainDump({ file: { path: inOrder, size: Promise.resolve(input.length) }, sessions, unknownSettings: [], gate: GATE })
    const copy = sessions.log.findIndex((entry) => entry.text.includes('COPY public."Odd Name"'))
    expect(sessions.log[copy].session).toBe(0)
    const next = sessions.log.slice(copy).find((entry) => entry.session === 0 && entry.text.startsWith('<'))
    expect(next?.text).toBe('<restart>')
    // The new session 0 gets the settings again before its next statement.
    expect(sessions.received[0].split("SET client_encoding = 'UTF8';").length - 1).toBe(2)
  })

  test('index builds of one table run side by side; a key on it waits until it has the table alone', async () => {
    const entry = (name: string, type: string, statement: string) =>
      ['--', `-- Name: ${name}; Type: ${type}; Schema: public; Owner: app`, '--', '', statement, '', ''].join('\n')
    const input = Buffer.from(
      [
        DUMP.slice(0, DUMP.indexOf("SET default_tablespace = 'fast';")),
        entry('items items_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.items\n    ADD CONSTRAINT items_pkey PRIMARY KEY (id);'),
        entry('items_a', 'INDEX', 'CREATE INDEX items_a ON public.items USING btree (name);'),
        entry('items_b', 'INDEX', 'CREATE INDEX items_b ON public.items USING btree (id, name);'),
        entry('items items_name_key', 'CONSTRAINT', 'ALTER TABLE ONLY public.items\n    ADD CONSTRAINT items_name_key UNIQUE (name);'),
        '--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K3y\n'
      ].join('')
    )
    const indexes = path.join(folder, 'indexes.sql')
    await writeFile(indexes, input)
    // What each session is building until its next sync has come back.
    const building = new Map<number, string>()
    let together = 0
    const seen: string[] = []
    class Watching extends RecordingSessions {
      override async write(session: number, data: Buffer | string): Promise<void> {
        const name = /(items_pkey|items_a|items_b|items_name_key)/.exec(data.toString())?.[1]
        if (name) {
          seen.push(`${name} while ${[...building.values()].sort().join(',') || 'nothing'}`)
          building.set(session, name)
          together = Math.max(together, [...building.values()].filter((what) => what === 'items_a' || what === 'items_b').length)
        }
        return super.write(session, data)
      }
      override async sync(session: number): Promise<void> {
        // An index build is held (up to 200 ms) until the other one is sent: side by side, the second
        // comes while the first is held; one after the other, it never does, and together stays 1.
        // Without the hold, a slow machine can finish the first build before the second is written.
        const what = building.get(session)
        if (what === 'items_a' || what === 'items_b')
          for (let waited = 0; together < 2 && waited < 200; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5))
        await super.sync(session)
        building.delete(session)
      }
    }
    await replayPlainDump({
      file: { path: indexes, size: Promise.resolve(input.length) },
      sessions: new Watching(4),
      unknownSettings: [],
      gate: GATE
    })
    // The two index builds overlap; each key is added with nothing else on the table.
    expect(together).toBe(2)
    expect(seen.filter((entry) => entry.startsWith('items_pkey') || entry.startsWith('items_name_key'))).toEqual([
      'items_pkey while nothing',
      'items_name_key while nothing'
    ])
    expect(seen).toHaveLength(4)
  })

  test('a range that no longer reads as planned stops the replay: the backup changed', async () => {
    const changed = path.join(folder, 'changed.sql')
    await writeFile(changed, bytes)
    const sessions = new RecordingSessions(2)
    let flipped = false
    const original = sessions.write.bind(sessions)
    sessions.write = async (session, data) => {
      // Once the schema has been sent, a row changes on disk before the sessions read it.
      if (!flipped && data.toString().includes('CREATE TABLE public.items')) {
        flipped = true
        const handle = await open(changed, 'r+')
        const at = DUMP.indexOf('item \\\\ number 30')
        await handle.write('X', at)
        await handle.close()
      }
      return original(session, data)
    }
    const slowSize = new Promise<number>((resolve) => setTimeout(() => resolve(bytes.length), 20))
    await expect(replayPlainDump({ file: { path: changed, size: slowSize }, sessions, unknownSettings: [], gate: GATE })).rejects.toThrow(
      /The backup changed while it was restored: bytes \d+-\d+ no longer read as they did a moment before\./
    )
  })
})
