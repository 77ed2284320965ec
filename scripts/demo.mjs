// npm run demo: a throwaway PostgreSQL with sample data, verified end to end through the bundled CLI,
// then stopped and removed. Needs only `npm ci` and the PostgreSQL client tools.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { startThrowawayServer } from './throwaway-server.mjs'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
let status = 1
let throwaway
// The run's receipt goes to a folder of the demo's own, removed with the server (unless --receipt-dir says otherwise).
const receipts = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-demo-'))
const started = Date.now()
try {
  console.log('Starting a throwaway PostgreSQL ...')
  throwaway = await startThrowawayServer('demo')
  const { port, password, server } = throwaway
  console.log(`Started on 127.0.0.1:${port}.`)
  await server.createDatabase('shop')
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'shop' })
  await client.connect()
  await client.query(await readFile(path.join(root, '__tests__', 'fixtures', 'sample-database.sql'), 'utf8'))
  const { rows } = await client.query('SELECT count(*) AS tables, sum(n_live_tup) AS rows FROM pg_stat_user_tables')
  await client.end()
  console.log(`Loaded the sample database "shop" (${rows[0].tables} tables).`)

  // The password travels in the environment, never on the command line.
  const args = process.argv.slice(2)
  if (!args.some((arg) => arg.startsWith('--receipt-dir'))) args.push('--receipt-dir', receipts)
  const run = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'index.js'), ...args], {
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: `postgresql://postgres:${password}@127.0.0.1:${port}/shop` }
  })
  status = run.status ?? 1
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : error}`)
} finally {
  await throwaway?.stop()
  await rm(receipts, { recursive: true, force: true })
  console.log(
    `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; the throwaway server and the receipt are removed ` +
      '(--receipt-dir DIR keeps the receipt).'
  )
}
process.exit(status)
