// One verification by the engine in a child process of its own (engine-run.mjs), for the benches:
// its JSON line (time, peak memory, CPU, restore facts), or the reason it did not pass.
import { spawn } from 'node:child_process'
import path from 'node:path'

const here = path.dirname(new URL(import.meta.url).pathname)

export function runEngine(inputs, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'engine-run.mjs'), JSON.stringify({ 'min-size': '0', ...inputs })], {
      env,
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('close', (code) => {
      const result = JSON.parse(out.trim().split('\n').pop() || '{}')
      if (code !== 0 || result.status !== 'passed') reject(new Error(`engine ${JSON.stringify(inputs)}: ${result.error ?? `exit ${code}`}`))
      else resolve(result)
    })
  })
}
