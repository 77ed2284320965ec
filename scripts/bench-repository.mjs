// npm run bench:repository: the time of verifying a pgBackRest backup of the bench dataset, beside
// a pg_basebackup of the same data verified with method: physical, in one run on one server.
//   node scripts/bench-repository.mjs [--repeats 1] [--small]
// Needs pgbackrest and the postgresql-15 server package (scripts/setup.sh installs both).
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startThrowawayServer } from './throwaway-server.mjs'
import { runEngine } from './bench/run-engine.mjs'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const { values } = parseArgs({ options: { repeats: { type: 'string' }, small: { type: 'boolean' } } })
const repeats = Number(values.repeats ?? 1)
const bin = '/usr/lib/postgresql/15/bin'
const work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-bench-repository-'))
chmodSync(work, 0o755)
// The server runs as postgres when this runs as root: the repository and the archive_command are its.
const account =
  process.getuid?.() === 0
    ? { uid: Number(spawnSync('id', ['-u', 'postgres']).stdout), gid: Number(spawnSync('id', ['-g', 'postgres']).stdout) }
    : undefined
const repo = path.join(work, 'repo')
const config = path.join(work, 'pgbackrest.conf')
for (const folder of [repo, path.join(work, 'lock'), path.join(work, 'spool')]) {
  mkdirSync(folder, { mode: 0o750 })
  if (account) chownSync(folder, account.uid, account.gid)
}
const { port, password, server, stop, dataDirectory } = await startThrowawayServer('bench-repository', [
  'archive_mode=on',
  `archive_command=pgbackrest --config=${config} --stanza=bench archive-push %p`,
  'wal_level=replica',
  'max_wal_senders=3',
  'max_wal_size=4GB'
])
writeFileSync(
  config,
  [
    '[global]',
    `repo1-path=${repo}`,
    'repo1-retention-full=9',
    `lock-path=${path.join(work, 'lock')}`,
    `spool-path=${path.join(work, 'spool')}`,
    'log-level-file=off',
    'start-fast=y',
    '[bench]',
    `pg1-path=${dataDirectory}`,
    `pg1-port=${port}`,
    `pg1-socket-path=${dataDirectory}`,
    'pg1-user=postgres',
    ''
  ].join('\n'),
  { mode: 0o644 }
)
const env = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: password, PGDATABASE: 'bench' }
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...options })
  if (result.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout.toString()
}
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`

const engine = (inputs) => runEngine(inputs, { PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: work })

try {
  await server.createDatabase('bench')
  const started = Date.now()
  run('psql', [
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-v',
    `scale=${values.small ? 1 : 16}`,
    '-v',
    `wide_rows=${values.small ? 5000 : 150000}`,
    '-f',
    path.join(root, 'scripts', 'bench', 'dataset.sql')
  ])
  const size = run('psql', ['-X', '-A', '-t', '-c', 'SELECT pg_size_pretty(pg_database_size(current_database()))']).trim()
  console.log(`Dataset: ${size} on disk (loaded in ${seconds(Date.now() - started)}); pgBackRest ${run('pgbackrest', ['version']).trim()}`)
  const asServer = { ...(account ?? {}) }
  run('pgbackrest', [`--config=${config}`, '--stanza=bench', 'stanza-create'], asServer)
  let at = Date.now()
  run('pgbackrest', [`--config=${config}`, '--stanza=bench', '--type=full', 'backup'], asServer)
  console.log(`pgbackrest backup --type=full: ${seconds(Date.now() - at)}`)
  const base = path.join(work, 'base')
  at = Date.now()
  run(path.join(bin, 'pg_basebackup'), ['-D', base, '-F', 't', '-X', 'stream', '-c', 'fast', '--manifest-checksums=SHA256'])
  console.log(`pg_basebackup -F t -X stream: ${seconds(Date.now() - at)}`)
  const modes = [
    [
      'pgbackrest',
      'method pgbackrest (pgbackrest verify, restore, recovery from the archive, amcheck, counted)',
      { method: 'pgbackrest', 'pgbackrest-stanza': 'bench', 'pgbackrest-config': config }
    ],
    [
      'physical',
      'method physical, backup-file: the pg_basebackup of the same data (manifest, recovery, amcheck, counted)',
      { method: 'physical', 'backup-file': base }
    ]
  ]
  const times = {}
  for (let i = 0; i < repeats; i++) {
    for (const [key, label, inputs] of modes) {
      const result = await engine(inputs)
      ;(times[key] ??= []).push(result.ms)
      console.log(
        `  run ${i + 1} ${key.padEnd(10)} ${seconds(result.ms).padStart(8)}  peak ${result.maxRssMiB.toFixed(0)} MiB${result.restoreMs ? `  restore ${seconds(result.restoreMs.files)} + recovery ${seconds(result.restoreMs.recovery)}` : ''}  ${label}`
      )
    }
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
  console.log(
    `\npgbackrest / physical = ${(median(times.pgbackrest) / median(times.physical)).toFixed(2)} (medians, ${repeats} run(s) each)`
  )
} finally {
  await stop()
  await rm(work, { recursive: true, force: true })
}
