// Bundles the entry points (the action's main and post steps, the command line, the report action, the fleet workflow's steps) with ncc into dist/, which is committed: the runner runs dist/, not src/.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

const entries = [
  ['src/index.ts', 'dist'],
  ['src/post-index.ts', 'dist/post'],
  ['src/cli.ts', 'dist/cli'],
  ['src/fleet-report-index.ts', 'dist/report'],
  ['src/fleet-workflow-index.ts', 'dist/fleet-workflow']
]
rmSync('dist', { recursive: true, force: true })
for (const [entry, out] of entries) {
  execFileSync('npx', ['--no-install', 'ncc', 'build', entry, '-o', out, '--license', 'licenses.txt', '--quiet'], { stdio: 'inherit' })
}
