// Bundles the four entry points (the action's main and post steps, the command line, the report action) with ncc into dist/, which is committed: the runner runs dist/, not src/.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

const entries = [
  ['src/index.ts', 'dist'],
  ['src/post-index.ts', 'dist/post'],
  ['src/cli.ts', 'dist/cli'],
  ['src/fleet-report-index.ts', 'dist/report']
]
rmSync('dist', { recursive: true, force: true })
for (const [entry, out] of entries) {
  execFileSync('npx', ['--no-install', 'ncc', 'build', entry, '-o', out, '--license', 'licenses.txt', '--quiet'], { stdio: 'inherit' })
}
