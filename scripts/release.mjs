#!/usr/bin/env node
// Prepares a release on a clean main, and reads a release's notes back out of CHANGELOG.md.
//
//   node scripts/release.mjs prepare 1.2.0 [--date 2026-12-02] [--skip-checks]
//     Checks that the tree is clean, that 1.2.0 is newer than package.json's version, that the
//     CHANGELOG's Unreleased section says something, and (unless --skip-checks) that `npm run all`
//     passes and leaves dist/ as it is. Then bumps package.json and package-lock.json, turns the
//     Unreleased section into "## [1.2.0] - <date>" under a new empty Unreleased, commits
//     "Release v1.2.0", and tags v1.2.0. Nothing is pushed: it prints the push command.
//   node scripts/release.mjs notes 1.2.0
//     Prints that release's section of the CHANGELOG (the release workflow's notes).
//   node scripts/release.mjs newest v1.2.0
//     Fails unless v1.2.0 is higher than every other vX.Y.Z tag of its major (the release workflow
//     moves the major tag to it: an older patch pushed late must not move v1 backwards).

import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { parseArgs } from 'node:util'

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/
const UNRELEASED = '## [Unreleased]'

function fail(message) {
  process.stderr.write(`release: ${message}\n`)
  process.exit(1)
}

function git(args, options = {}) {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options }).trim()
}

function compareVersions(a, b) {
  const [x, y] = [VERSION.exec(a), VERSION.exec(b)]
  for (let i = 1; i <= 3; i++) if (Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i])
  return 0
}

/** The lines of a "## [name]" section, up to the next "## " heading or the link definitions. */
function section(lines, heading) {
  const start = lines.findIndex((line) => line === heading || line.startsWith(`${heading} `))
  if (start === -1) return undefined
  let end = start + 1
  while (end < lines.length && !lines[end].startsWith('## ') && !/^\[[^\]]+\]: /.test(lines[end])) end++
  return {
    start,
    end,
    body: lines
      .slice(start + 1, end)
      .join('\n')
      .trim()
  }
}

/** The repository's web address, from the Unreleased link at the bottom of the CHANGELOG. */
function repositoryUrl(lines) {
  const link = lines.find((line) => line.startsWith('[Unreleased]: '))
  const match = link && /^\[Unreleased\]: (https:\/\/github\.com\/[^/]+\/[^/]+)\//.exec(link)
  return match?.[1]
}

function released(changelog, version, date) {
  const lines = changelog.split('\n')
  const unreleased = section(lines, UNRELEASED)
  if (!unreleased) fail(`CHANGELOG.md has no "${UNRELEASED}" section`)
  if (!/^\s*[-*] /m.test(unreleased.body))
    fail('the Unreleased section of CHANGELOG.md lists no change: say what this release changes first')
  if (section(lines, `## [${version}]`)) fail(`CHANGELOG.md already has a section for ${version}`)
  const previous = lines.slice(unreleased.end).find((line) => /^## \[\d+\.\d+\.\d+\]/.test(line))
  const before = previous && /^## \[(\d+\.\d+\.\d+)\]/.exec(previous)[1]
  lines.splice(unreleased.start, 1, UNRELEASED, '', `## [${version}] - ${date}`)
  const url = repositoryUrl(lines)
  if (url) {
    const links = lines.filter((line) => /^\[[^\]]+\]: /.test(line) && !line.startsWith('[Unreleased]: '))
    const kept = lines.filter((line) => !/^\[[^\]]+\]: /.test(line))
    while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop()
    kept.push(
      '',
      `[Unreleased]: ${url}/compare/v${version}...HEAD`,
      `[${version}]: ${before ? `${url}/compare/v${before}...v${version}` : `${url}/releases/tag/v${version}`}`,
      ...links,
      ''
    )
    return kept.join('\n')
  }
  return lines.join('\n')
}

function bump(file, version) {
  if (!existsSync(file)) return
  const json = JSON.parse(readFileSync(file, 'utf8'))
  json.version = version
  if (json.packages?.['']) json.packages[''].version = version
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`)
}

/** Refuses a version that is not higher than every existing release tag of its major (itself aside). */
function refuseUnlessNewest(version) {
  const major = VERSION.exec(version)[1]
  const tags = git(['tag', '--list', `v${major}.*`])
    .split('\n')
    .map((tag) => tag.trim().replace(/^v/, ''))
    .filter((tag) => VERSION.test(tag) && tag !== version)
  const higher = tags.filter((tag) => compareVersions(tag, version) > 0)
  if (higher.length > 0)
    fail(
      `v${version} is not the newest release of v${major}: ${higher.map((tag) => `v${tag}`).join(', ')} exist already; v${major} would move backwards`
    )
}

function prepare(version, options) {
  if (!VERSION.test(version)) fail(`"${version}" is not a version of the form 1.2.3`)
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
  if (compareVersions(version, pkg.version) <= 0) fail(`${version} is not newer than the current version ${pkg.version}`)
  if (git(['status', '--porcelain'])) fail('the working tree has changes: commit or stash them first')
  const tag = `v${version}`
  if (git(['tag', '--list', tag])) fail(`the tag ${tag} exists already`)
  refuseUnlessNewest(version)
  const changelog = released(readFileSync('CHANGELOG.md', 'utf8'), version, options.date)
  if (!options['skip-checks']) {
    execFileSync('npm', ['run', 'all'], { stdio: 'inherit' })
    if (git(['status', '--porcelain', '--', 'dist'])) fail('dist/ is not what the sources build to: run npm run bundle and commit dist/')
  }
  bump('package.json', version)
  bump('package-lock.json', version)
  writeFileSync('CHANGELOG.md', changelog)
  git(['add', 'package.json', 'CHANGELOG.md', ...(existsSync('package-lock.json') ? ['package-lock.json'] : [])])
  git(['commit', '-q', '-m', `Release ${tag}`])
  git(['tag', '-a', tag, '-m', `backup-verify ${tag}`])
  process.stdout.write(`Tagged ${tag}. Push it to release: git push origin HEAD ${tag}\n`)
}

function notes(version) {
  const lines = readFileSync('CHANGELOG.md', 'utf8').split('\n')
  const found = section(lines, `## [${version}]`)
  if (!found || !found.body) fail(`CHANGELOG.md has no section for ${version}`)
  process.stdout.write(`${found.body}\n`)
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { date: { type: 'string' }, 'skip-checks': { type: 'boolean' } }
})
const [command, version] = positionals
if (command === 'prepare' && version) prepare(version, { ...values, date: values.date ?? new Date().toISOString().slice(0, 10) })
else if (command === 'notes' && version) notes(version.replace(/^v/, ''))
else if (command === 'newest' && version && VERSION.test(version.replace(/^v/, ''))) {
  refuseUnlessNewest(version.replace(/^v/, ''))
  process.stdout.write(`${version} is the newest release of its major\n`)
} else fail('usage: node scripts/release.mjs prepare <x.y.z> [--date YYYY-MM-DD] [--skip-checks] | notes <x.y.z> | newest <vx.y.z>')
