// The job summary as a user sees it: a real run's summary rendered in headless Chromium by
// scripts/summary-picture.mjs (the README's picture is made this way). Skipped, with the reason
// printed, where Chromium is not installed.

import { afterAll, beforeAll, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createSampleDatabase, startServer, type TestServer } from '../support/server.js'
import { ROOT, runBundle } from '../support/runner.js'
import { testNeeding } from '../support/skips.js'

const chromium = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (candidate) => candidate && existsSync(candidate)
)
if (!chromium) console.warn('Skipping the job summary picture: Chromium is not installed (apt-get install chromium)')
const maybe = testNeeding('Chromium (chromium)', chromium)

let server: TestServer
let work: string

beforeAll(async () => {
  if (!chromium) return
  server = await startServer()
  await createSampleDatabase(server, 'shop')
  work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-picture-test-'))
})

afterAll(async () => {
  await server?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  expect(png.toString('latin1', 12, 16)).toBe('IHDR')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

/** Renders a summary with scripts/summary-picture.mjs, as the README's picture is made; returns what the page holds. */
async function picture(html: string, name: string) {
  const summary = path.join(work, `${name}.html`)
  await writeFile(summary, html)
  const out = path.join(work, `${name}.png`)
  const rendered = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'summary-picture.mjs'), '--summary', summary, '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, CHROMIUM: chromium },
    timeout: 60_000
  })
  expect(rendered.stderr).toBe('')
  expect(rendered.status).toBe(0)
  return { page: JSON.parse(rendered.stdout), out }
}

maybe("a passing run's summary renders with its verdict, its phases and every table", async () => {
  const run = await runBundle('dist/index.js', { inputs: { 'database-url': server.url('shop'), verify: 'data' } })
  expect(run.code).toBe(0)
  const { page, out } = await picture(run.summary, 'summary')
  expect(page.headings).toEqual(['Backup verification', 'Phases', 'Facts', 'Tables', 'Objects by kind', 'Validation checks'])
  // Header row and three phases; four tables and their header; every object kind.
  expect(page.tables[0]).toBe(4)
  expect(page.tables[2]).toBe(5)
  expect(page.tables[3]).toBe(15)
  const size = pngSize(await readFile(out))
  expect(size).toEqual({ width: 1000, height: page.height })
  expect(size.height).toBeGreaterThan(1000)
})

maybe("a summary's trend draws its four charts, every run plotted, no Mermaid syntax error", async () => {
  const history = path.join(work, 'history.jsonl')
  const inputs = { 'database-url': server.url('shop'), history, 'min-size': '0' }
  const runs = []
  for (const extra of [{}, { 'min-size': '100MB' }, {}, {}])
    runs.push(await runBundle('dist/index.js', { inputs: { ...inputs, ...extra } }))
  expect(runs.map((run) => run.code)).toEqual([0, 1, 0, 0])
  const { page } = await picture(runs[3].summary, 'trend')
  expect(page.headings).toEqual(expect.arrayContaining(['Trend', 'Change since the last passing run', 'Runs']))
  // Size, restore time and age: the three runs that made a backup and restored it; duration: all four.
  expect(page.charts).toEqual([
    { drawn: true, title: 'Backup size (KiB)', points: [3], error: '' },
    { drawn: true, title: 'Total duration (s)', points: [4], error: '' },
    { drawn: true, title: 'Time to restore (s)', points: [3], error: '' },
    { drawn: true, title: 'Backup age when restored (seconds)', points: [3], error: '' }
  ])
  expect(runs[3].outputs['consecutive-failures']).toBe('0')
  expect(runs[3].outputs['history-path']).toBe(history)
})

maybe("the README's picture is a rendered summary of the same shape", async () => {
  const size = pngSize(await readFile(path.join(ROOT, 'docs', 'images', 'job-summary.png')))
  expect(size.width).toBe(1000)
  expect(size.height).toBeGreaterThan(1000)
})
