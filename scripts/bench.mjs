// npm run bench: the cost of verifying a backup with this engine, against the raw tools doing the
// original script's procedure, measured in one run on one throwaway server.
//   node scripts/bench.mjs [--scale N] [--repeats 3] [--modes a,c1,vd,p] [--small] [--tables 2000,5000,20000] [--few-indexes]
// --scale N: the reference dataset N times over (pgbench scale 16 and 150000 wide rows at N = 1).
// --few-indexes: after the reference dataset, the few-indexes dataset (narrow pgbench rows, a 300,000-row jsonb table with only its key).
// --tables: the many-tables dataset instead (that many small tables, three rows each), each size in turn.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startThrowawayServer } from './throwaway-server.mjs'
import { runEngine } from './bench/run-engine.mjs'
import { findClientTools } from '../build/src/tools/locate.js'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const { values } = parseArgs({
  options: {
    scale: { type: 'string' },
    repeats: { type: 'string' },
    modes: { type: 'string' },
    small: { type: 'boolean' },
    tables: { type: 'string' },
    'few-indexes': { type: 'boolean' }
  }
})
const multiple = Number(values.scale ?? 1)
if (!(multiple > 0)) throw new Error(`--scale must be a positive number, not ${values.scale}`)
const scale = values.small ? 1 : Math.round(16 * multiple)
const wideRows = values.small ? 5000 : Math.round(150000 * multiple)
const repeats = Number(values.repeats ?? (values.small ? 1 : 3))
const only = values.modes?.split(',').map((mode) => mode.trim())
const tableCounts = values.tables?.split(',').map((count) => Number(count.trim()))
if (tableCounts?.some((count) => !(Number.isInteger(count) && count > 0)))
  throw new Error(`--tables must list positive whole numbers, not ${values.tables}`)

const work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-bench-'))
// pg_dump locks every table in one transaction: tens of thousands of tables need room for their locks.
const { port, password, server, stop } = await startThrowawayServer('bench', [
  'max_wal_size=4GB',
  'checkpoint_timeout=30min',
  ...(tableCounts ? ['max_locks_per_transaction=1024'] : [])
])

const tools = (await findClientTools()).sort((a, b) => b.version.major - a.version.major)[0]
const env = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: password, PGDATABASE: 'bench' }
let url = `postgresql://postgres:${password}@127.0.0.1:${port}/bench`
/** Per core, the busy and total ticks so far (os.cpus()); two readings give how busy each core was between them. */
const coreTimes = () =>
  os.cpus().map(({ times }) => ({
    busy: times.user + times.nice + times.sys + times.irq,
    total: times.user + times.nice + times.sys + times.irq + times.idle
  }))
const busyPercents = (before, after) =>
  after.map((core, i) => Math.round((100 * (core.busy - before[i].busy)) / Math.max(1, core.total - before[i].total)))
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...options })
  if (result.status !== 0) throw new Error(`${path.basename(command)} failed: ${result.stderr}`)
  return result.stdout.toString()
}

/** (a) The original script's procedure with the raw tools: dump, checksum, create, restore, drop. */
function rawProcedure(i) {
  const file = path.join(work, `raw-${i}.sql`)
  const started = process.hrtime.bigint()
  run(tools.pgDump, ['--format=plain', '--no-password', `--file=${file}`])
  run('sha256sum', [file])
  run(tools.psql, ['-X', '-q', '-c', `CREATE DATABASE raw_${i}`])
  run(tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', `raw_${i}`, '-f', file])
  run(tools.psql, ['-X', '-q', '-c', `DROP DATABASE raw_${i}`])
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  spawnSync('rm', ['-f', file])
  return { ms }
}

/** The engine on the current dataset, with the bench's temporary folder. */
const engine = (inputs) => runEngine({ 'database-url': url, ...inputs }, { ...process.env, RUNNER_TEMP: work })

/** Creates the database, makes it the one every later step uses, and loads a dataset script into it; returns how long that took. */
async function loadDataset(database, script, variables) {
  await server.createDatabase(database)
  env.PGDATABASE = database
  url = `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`
  const started = Date.now()
  const settings = Object.entries(variables).flatMap(([name, value]) => ['-v', `${name}=${value}`])
  run(tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...settings, '-f', path.join(root, 'scripts', 'bench', script)])
  return seconds(Date.now() - started)
}

async function measureModes() {
  const allModes = [
    ['a', 'raw tools: pg_dump plain, sha256sum, createdb, psql, dropdb', (i) => rawProcedure(i)],
    ['b', 'engine: plain, pipeline false, verify rows', () => engine({ format: 'plain', pipeline: 'false', verify: 'rows' })],
    ['c1', 'engine: plain, streamed (pipeline true), verify rows', () => engine({ format: 'plain', pipeline: 'true', verify: 'rows' })],
    [
      'c2',
      'engine: custom, no compression, jobs 2, verify rows',
      () => engine({ format: 'custom', compression: '0', jobs: '2', verify: 'rows' })
    ],
    [
      'c3',
      'engine: directory, no compression, jobs 2, verify rows',
      () => engine({ format: 'directory', compression: '0', jobs: '2', verify: 'rows' })
    ],
    ['vs', 'engine: plain, streamed, verify schema', () => engine({ format: 'plain', verify: 'schema' })],
    [
      'vd',
      'engine: default inputs (plain, streamed, verify data, a throwaway restore server)',
      () => engine({ format: 'plain', verify: 'data' })
    ],
    [
      'vds',
      "engine: default inputs on the source's server (restore-server: source)",
      () => engine({ format: 'plain', verify: 'data', 'restore-server': 'source' })
    ],
    ['p', 'engine: physical (pg_basebackup, started, amcheck, counted), verify rows', () => engine({ method: 'physical' })]
  ]
  const modes = allModes.filter(([key]) => key === 'a' || !only || only.includes(key))
  const times = {}
  const memory = {}
  /** initdb to accepting connections, of the throwaway restore server. */
  const startups = {}
  /** How busy each core was during each run, in percent. */
  const busyness = {}
  for (let i = 0; i < repeats; i++) {
    for (const [key, label, measure] of modes) {
      // Each run starts from the same state: the WAL of the one before written out, not timed.
      run(tools.psql, ['-X', '-q', '-c', 'CHECKPOINT'])
      const before = coreTimes()
      const result = await measure(i)
      const busy = busyPercents(before, coreTimes())
      ;(busyness[key] ??= []).push(busy)
      ;(times[key] ??= []).push(result.ms)
      if (result.maxRssMiB) (memory[key] ??= []).push(result.maxRssMiB)
      if (result.startupMs) (startups[key] ??= []).push(result.startupMs.initdb + result.startupMs.start)
      console.log(
        `  run ${i + 1} ${key.padEnd(3)} ${seconds(result.ms).padStart(8)}${result.maxRssMiB ? `  peak ${result.maxRssMiB.toFixed(0)} MiB` : ''}${result.sizeBytes ? `  backup ${(result.sizeBytes / 1024 ** 2).toFixed(0)} MiB` : ''}${result.startupMs ? `  restore server ready in ${seconds(result.startupMs.initdb + result.startupMs.start)}` : ''}  cores busy ${busy.join('/')}%${result.cpuMs ? `, engine CPU ${seconds(result.cpuMs)}` : ''}  ${label}`
      )
    }
  }
  const a = median(times.a)
  const has = (key) => times[key] !== undefined
  console.log('\nMedians:')
  for (const [key, label] of modes) {
    const peak = memory[key] ? `, engine peak ${Math.max(...memory[key]).toFixed(0)} MiB` : ''
    const startup = startups[key] ? `, restore server ready in ${seconds(median(startups[key]))}` : ''
    const cores = busyness[key][0].map((_, core) => median(busyness[key].map((run) => run[core])))
    console.log(
      `  ${key.padEnd(3)} ${seconds(median(times[key])).padStart(8)}  ${(median(times[key]) / a).toFixed(2)}x of (a)${peak}${startup}, cores busy ${cores.join('/')}%  ${label}`
    )
  }
  const fastest = ['c1', 'c2', 'c3'].filter(has).sort((x, y) => median(times[x]) - median(times[y]))[0]
  const ratios = [
    has('b') ? `b/a = ${(median(times.b) / a).toFixed(2)}` : '',
    fastest ? `c/a = ${(median(times[fastest]) / a).toFixed(2)} (c = ${fastest}, the fastest mode)` : ''
  ]
  console.log(`\n${ratios.filter(Boolean).join('   ')}`)
  if (Object.keys(memory).length > 0) console.log(`engine peak memory: ${Math.max(...Object.values(memory).flat()).toFixed(0)} MiB`)
  // What each verify level costs over the bare schema comparison (c1 runs at the default level, rows).
  if (has('vs')) {
    const base = median(times.vs)
    for (const [key, level] of [
      ['c1', 'rows'],
      ['vd', 'data']
    ].filter(([key]) => has(key))) {
      console.log(
        `verify ${level}: +${((median(times[key]) - base) / 1000).toFixed(1)} s over schema, ${(((median(times[key]) - base) / base) * 100).toFixed(0)}% of the verification at level schema`
      )
    }
  }
}

try {
  console.log(
    `Client tools ${tools.version.text} (${tools.directory}); ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`
  )
  if (!tableCounts) {
    const load = await loadDataset('bench', 'dataset.sql', { scale, wide_rows: wideRows })
    const size = run(tools.psql, ['-X', '-A', '-t', '-c', 'SELECT pg_size_pretty(pg_database_size(current_database()))']).trim()
    console.log(`Dataset: scale ${scale}, ${wideRows} wide rows, ${size} on disk (loaded in ${load}); ${repeats} run(s) each`)
    await measureModes()
  }
  if (values['few-indexes']) {
    const load = await loadDataset('bench_few_indexes', 'few-indexes.sql', { scale, json_rows: values.small ? 20000 : 300000 })
    const size = run(tools.psql, ['-X', '-A', '-t', '-c', 'SELECT pg_size_pretty(pg_database_size(current_database()))']).trim()
    console.log(`\nDataset: few indexes, scale ${scale}, ${size} on disk (loaded in ${load}); ${repeats} run(s) each`)
    await measureModes()
  }
  for (const count of tableCounts ?? []) {
    const load = await loadDataset(`bench_${count}_tables`, 'many-tables.sql', { tables: count })
    console.log(
      `\nDataset: ${count} tables of three rows, each with a primary key and an index (loaded in ${load}); ${repeats} run(s) each`
    )
    await measureModes()
  }
} finally {
  await stop()
  await rm(work, { recursive: true, force: true })
}
