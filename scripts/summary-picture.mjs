// The job summary as a user sees it: a real run's GITHUB_STEP_SUMMARY rendered in headless Chromium
// with GitHub's styles, saved as a PNG.
//   node scripts/summary-picture.mjs [--summary summary.html] [--out docs/images/job-summary.png]
// Without --summary, a real run makes one first: a throwaway PostgreSQL with the sample data, and the
// action's bundle (dist/index.js) run against it as the runner runs it. Prints one JSON line: the
// picture's size and what the page holds (its headings and tables). Chromium is driven over its
// DevTools pipe (--remote-debugging-pipe), so that the picture is exactly the page's height.

import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const WIDTH = 1000
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--remote-debugging-pipe'
]

/** GitHub's look for a job summary (its markdown styles, light theme), enough for headings, tables and code. */
const STYLE = `
  body { margin: 0; background: #f6f8fa; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif, "Noto Color Emoji"; }
  .card { margin: 16px; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
  .card > header { padding: 12px 16px; border-bottom: 1px solid #d1d9e0; font-weight: 600; font-size: 14px; color: #1f2328; }
  .markdown-body { padding: 16px 24px 8px; font-size: 14px; line-height: 1.5; color: #1f2328; word-wrap: break-word; }
  .markdown-body h2 { font-size: 1.5em; font-weight: 600; margin: 8px 0 16px; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0; }
  .markdown-body h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
  .markdown-body p { margin: 0 0 16px; }
  .markdown-body table { border-collapse: collapse; border-spacing: 0; display: block; width: max-content; max-width: 100%; overflow: auto; margin: 0 0 16px; }
  .markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; text-align: left; vertical-align: top; }
  .markdown-body th { font-weight: 600; }
  .markdown-body tr:nth-child(2n) { background: #f6f8fa; }
  .markdown-body details { margin: 0 0 16px; }
  .markdown-body .chart { margin: 0 0 16px; max-width: 700px; }
  .markdown-body code { padding: .2em .4em; font-size: 85%; background: rgba(129, 139, 152, .12); border-radius: 6px;
    font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; }
`

export function chromiumPath() {
  for (const candidate of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (candidate && existsSync(candidate)) return candidate
  }
  return undefined
}

/** A DevTools session over Chromium's pipe: fd 3 carries commands in, fd 4 answers and events out, NUL-separated. */
class DevTools {
  constructor(child) {
    this.child = child
    this.next = 1
    this.waiting = new Map()
    this.listeners = []
    let pending = ''
    child.stdio[4].setEncoding('utf8')
    child.stdio[4].on('data', (text) => {
      pending += text
      for (let end = pending.indexOf('\0'); end !== -1; end = pending.indexOf('\0')) {
        const message = JSON.parse(pending.slice(0, end))
        pending = pending.slice(end + 1)
        if (message.id && this.waiting.has(message.id)) {
          const { resolve, reject } = this.waiting.get(message.id)
          this.waiting.delete(message.id)
          if (message.error) reject(new Error(`${message.error.message} (${JSON.stringify(message.error.data ?? '')})`))
          else resolve(message.result)
        } else {
          for (const listener of this.listeners) listener(message)
        }
      }
    })
  }

  send(method, params = {}, sessionId) {
    const id = this.next++
    this.child.stdio[3].write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`)
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }))
  }

  event(method, sessionId) {
    return new Promise((resolve) =>
      this.listeners.push((message) => message.method === method && message.sessionId === sessionId && resolve(message.params))
    )
  }
}

const MERMAID = path.join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js')

/**
 * The summary's fenced mermaid blocks (markdown, which GitHub draws as charts) drawn by the mermaid
 * package, as GitHub does; window.charts settles with what each block became.
 */
function withCharts(summaryHtml) {
  const escape = (text) => text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c])
  let count = 0
  const html = summaryHtml.replace(/^```mermaid\n([\s\S]*?)\n```$/gm, (_all, source) => {
    count++
    return `<pre class="mermaid">${escape(source)}</pre>`
  })
  if (count === 0) return { html, script: 'window.charts = Promise.resolve([])' }
  if (!existsSync(MERMAID)) throw new Error(`the summary has charts, and ${MERMAID} is missing: run npm ci`)
  const script = `
    window.charts = (async () => {
      mermaid.initialize({ startOnLoad: false, theme: 'default' })
      const found = []
      for (const [index, block] of [...document.querySelectorAll('pre.mermaid')].entries()) {
        try {
          const { svg } = await mermaid.render('chart' + index, block.textContent)
          const holder = document.createElement('div')
          holder.className = 'chart'
          holder.innerHTML = svg
          block.replaceWith(holder)
          const plotted = [...holder.querySelectorAll('[class*="line-plot"] path')].map((line) => (line.getAttribute('d').match(/[ML]/g) || []).length)
          found.push({ drawn: true, title: holder.querySelector('[class*="chart-title"] text')?.textContent ?? '', points: plotted, error: '' })
        } catch (error) {
          found.push({ drawn: false, title: '', points: [], error: String(error?.message ?? error) })
        }
      }
      return found
    })()`
  return { html, script: `</script><script src="${pathToFileURL(MERMAID).href}"></script><script>${script}` }
}

/** Renders the summary's HTML as the job summary page shows it; returns what the page holds. */
export async function renderSummary(summaryHtml, outFile) {
  const chromium = chromiumPath()
  if (!chromium) throw new Error('Chromium is not installed (apt-get install chromium, or set CHROMIUM)')
  const work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-picture-'))
  const page = path.join(work, 'summary.html')
  const { html, script } = withCharts(summaryHtml)
  await writeFile(
    page,
    `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head>` +
      `<body><div class="card"><header>backup-verify summary</header><div class="markdown-body">${html}</div></div>` +
      `<script>${script}</script></body></html>`
  )
  // Its own process group: Chromium's helpers (zygote, renderer, crash handler) write into the profile
  // after the browser process is gone, so the group as a whole is ended before the profile is removed.
  const child = spawn(chromium, [...CHROMIUM_FLAGS, `--user-data-dir=${path.join(work, 'profile')}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    detached: true
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise((resolve) => child.on('exit', resolve))
  try {
    const tools = new DevTools(child)
    const { targetId } = await tools.send('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await tools.send('Target.attachToTarget', { targetId, flatten: true })
    await tools.send('Page.enable', {}, sessionId)
    const loaded = tools.event('Page.loadEventFired', sessionId)
    await tools.send('Emulation.setDeviceMetricsOverride', { width: WIDTH, height: 800, deviceScaleFactor: 1, mobile: false }, sessionId)
    await tools.send('Page.navigate', { url: pathToFileURL(page).href }, sessionId)
    await loaded
    const drawn = await tools.send(
      'Runtime.evaluate',
      { expression: 'window.charts.then((charts) => JSON.stringify(charts))', awaitPromise: true, returnByValue: true },
      sessionId
    )
    const charts = JSON.parse(drawn.result.value)
    const { result } = await tools.send(
      'Runtime.evaluate',
      {
        expression:
          'JSON.stringify({ height: Math.ceil(document.documentElement.scrollHeight), ' +
          "headings: [...document.querySelectorAll('h2, h3')].map((h) => h.textContent), " +
          "tables: [...document.querySelectorAll('table')].map((t) => t.rows.length) })",
        returnByValue: true
      },
      sessionId
    )
    const found = JSON.parse(result.value)
    await tools.send(
      'Emulation.setDeviceMetricsOverride',
      { width: WIDTH, height: found.height, deviceScaleFactor: 1, mobile: false },
      sessionId
    )
    const shot = await tools.send(
      'Page.captureScreenshot',
      { format: 'png', clip: { x: 0, y: 0, width: WIDTH, height: found.height, scale: 1 } },
      sessionId
    )
    await mkdir(path.dirname(outFile), { recursive: true })
    await writeFile(outFile, Buffer.from(shot.data, 'base64'))
    await tools.send('Browser.close').catch(() => {})
    await Promise.race([exited, delay(5_000)])
    return { png: outFile, width: WIDTH, height: found.height, headings: found.headings, tables: found.tables, charts }
  } catch (error) {
    throw new Error(`${error.message}${stderr ? `\nChromium said: ${stderr.slice(0, 2000)}` : ''}`, { cause: error })
  } finally {
    await endGroup(child.pid, exited)
    await rm(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  }
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether any process of the group led by pid is still alive. */
function groupAlive(pid) {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/** Ends the browser's whole process group (a helper left behind keeps writing into the profile) and waits until it is gone. */
async function endGroup(pid, exited) {
  if (pid === undefined) return
  for (const signal of ['SIGTERM', 'SIGKILL']) {
    try {
      process.kill(-pid, signal)
    } catch {
      // Already gone.
    }
    for (let waited = 0; waited < 3_000 && groupAlive(pid); waited += 50) await delay(50)
    if (!groupAlive(pid)) break
  }
  await exited
}

/** A real run of the action's bundle against a throwaway server with the sample data: its summary's HTML. */
async function realRunSummary() {
  const { startThrowawayServer } = await import('./throwaway-server.mjs')
  const { port, password, server, stop } = await startThrowawayServer('picture')
  const files = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-picture-run-'))
  try {
    await server.createDatabase('shop')
    const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/shop`
    const load = spawnSync(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', path.join(root, '__tests__', 'fixtures', 'sample-database.sql')],
      {
        encoding: 'utf8'
      }
    )
    if (load.status !== 0) throw new Error(`loading the sample data failed: ${load.stderr}`)
    const summary = path.join(files, 'summary.html')
    await Promise.all(['summary.html', 'output', 'state'].map((name) => writeFile(path.join(files, name), '')))
    const run = spawnSync(process.execPath, [path.join(root, 'dist', 'index.js')], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        RUNNER_TEMP: files,
        'INPUT_DATABASE-URL': url,
        INPUT_VERIFY: 'data',
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_OUTPUT: path.join(files, 'output'),
        GITHUB_STATE: path.join(files, 'state')
      }
    })
    if (run.status !== 0) throw new Error(`the verification failed: ${run.stdout.slice(-2000)}`)
    // The picture shows the database's address, not this machine's throwaway port.
    return (await readFile(summary, 'utf8')).replaceAll(`127.0.0.1:${port}`, 'localhost:5432')
  } finally {
    await stop()
    await rm(files, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { summary: { type: 'string' }, out: { type: 'string' } } })
  const html = values.summary ? await readFile(values.summary, 'utf8') : await realRunSummary()
  const rendered = await renderSummary(html, path.resolve(values.out ?? path.join(root, 'docs', 'images', 'job-summary.png')))
  process.stdout.write(`${JSON.stringify(rendered)}\n`)
}
