// The fleet workflow's first job (.github/workflows/verify-fleet.yml): reads its databases input (a
// JSON list), refuses a list the matrix could not run with a message that names the entry and the
// fix, and writes the matrix and the names the report expects to GITHUB_OUTPUT. The fleet's own name
// (FLEET) is held to the same rule as a database's: it goes into artifact names and cache keys. From
// the jobs' time limit (TIMEOUT_MINUTES) it sets the action's own, a few minutes shorter.
// Usage: DATABASES='[{"name": "orders"}]' DATABASE_URLS='{"orders": "postgresql://..."}' node scripts/fleet-plan.mjs
import { appendFileSync } from 'node:fs'

/** GitHub's limit on the jobs one matrix makes. */
const MATRIX_LIMIT = 256
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
const SECRET = /^[A-Za-z_][A-Za-z0-9_]*$/
/** What an entry may hold besides name, secret, artifact, file and receipt: inputs of the action, passed as they are. */
const PASSED_ON = ['min-size', 'verify', 'method', 'max-age', 'max-restore-time']
const KEYS = ['name', 'secret', 'artifact', 'file', 'receipt', ...PASSED_ON]
const EXAMPLE = '[{"name": "orders"}, {"name": "billing", "artifact": "billing-backup", "file": "billing.dump"}]'

/** The databases as the matrix takes them, or the first problem of the list. */
function planFleet(text, urlsText) {
  // The URLs' secret is read for its names alone: no value of it is ever printed.
  let urls
  if (urlsText.trim() !== '') {
    try {
      urls = JSON.parse(urlsText)
    } catch {
      return { problem: 'the database-urls secret is not JSON: it is {"<name>": "<URL>", ...}' }
    }
    if (typeof urls !== 'object' || urls === null || Array.isArray(urls)) {
      return { problem: 'the database-urls secret is not a JSON object of URLs by name' }
    }
  }
  let list
  try {
    list = JSON.parse(text)
  } catch {
    return { problem: `databases is not JSON: give a list such as ${EXAMPLE}` }
  }
  if (!Array.isArray(list)) return { problem: `databases is not a JSON list: give one such as ${EXAMPLE}` }
  if (list.length === 0) return { problem: 'databases is an empty list: name at least one database' }
  if (list.length > MATRIX_LIMIT) {
    return {
      problem: `databases lists ${list.length} databases; one matrix runs at most ${MATRIX_LIMIT} jobs: split the list over several calls, each with a fleet name of its own`
    }
  }
  const seen = new Set()
  const databases = []
  for (const [index, entry] of list.entries()) {
    const problem = entryProblem(entry, urls)
    // An entry is named by its place and its name alone: a value may be a URL with its password, put where a secret's name goes.
    const named = typeof entry?.name === 'string' && NAME.test(entry.name) ? ` (${entry.name})` : ''
    if (problem) return { problem: `databases entry ${index + 1}${named}: ${problem}` }
    // Artifact names are told apart without regard to case.
    if (seen.has(entry.name.toLowerCase())) {
      return {
        problem: `two databases are named ${entry.name} (letter case aside): each needs a name of its own (its receipt, history and artifact go by it)`
      }
    }
    seen.add(entry.name.toLowerCase())
    databases.push(Object.fromEntries(Object.entries(entry).map(([key, value]) => [key, String(value)])))
  }
  return { databases, names: databases.map((database) => database.name) }
}

function entryProblem(entry, urls) {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object'
  const unknown = Object.keys(entry).filter((key) => !KEYS.includes(key))
  if (unknown.length > 0) return `${unknown.join(', ')} is not a key it may have (${KEYS.join(', ')})`
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string' && typeof value !== 'number') return `${key} is not a string`
    if (String(value).trim() === '') return `${key} is empty: give a value, or leave the key out`
  }
  if (typeof entry.name !== 'string' || !NAME.test(entry.name)) {
    return 'name must be letters, digits, ".", "_" and "-", at most 100, starting with a letter or digit (it names an artifact and a cache key)'
  }
  if (entry.secret === undefined && entry.artifact === undefined && !(typeof urls?.[entry.name] === 'string' && urls[entry.name].trim())) {
    return (
      'its URL is nowhere: give it under its name in the database-urls secret, or name the secret that holds it ("secret", with ' +
      'secrets: inherit), or the artifact that holds its backup ("artifact")'
    )
  }
  if (entry.secret !== undefined && entry.artifact !== undefined) return 'give "secret" or "artifact", not both'
  if (entry.secret !== undefined && !SECRET.test(String(entry.secret))) {
    return 'secret is the name of a secret (letters, digits and "_"), never its value'
  }
  if (entry.artifact !== undefined && entry.file === undefined) return '"artifact" needs "file", the path of the backup inside the artifact'
  if (entry.artifact === undefined && (entry.file !== undefined || entry.receipt !== undefined))
    return '"file" and "receipt" go with "artifact"'
  for (const key of ['file', 'receipt']) {
    const value = entry[key]
    if (
      value !== undefined &&
      (String(value).startsWith('/') || String(value).split(/[\\/]/).includes('..') || /[\r\n]/.test(String(value)))
    ) {
      return `${key} is a path inside the artifact: relative, without ".."`
    }
  }
  return undefined
}

const fleet = process.env.FLEET ?? 'fleet'
const { databases, names, problem } = NAME.test(fleet)
  ? planFleet(process.env.DATABASES ?? '', process.env.DATABASE_URLS ?? '')
  : {
      problem: `fleet ${JSON.stringify(fleet)} is not a name: letters, digits, ".", "_" and "-", at most 100, starting with a letter or digit`
    }
if (problem) {
  console.log(`::error title=Input databases::${problem.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`)
  process.exit(1)
}
// The action stops, cleans up and writes its receipt before the job's own limit would kill it unrecorded.
const jobMinutes = Number(process.env.TIMEOUT_MINUTES || 60)
const actionTimeout = Math.max(1, jobMinutes >= 10 ? jobMinutes - 5 : Math.floor(jobMinutes * 0.8))
appendFileSync(
  process.env.GITHUB_OUTPUT,
  `databases=${JSON.stringify(databases)}\nnames=${JSON.stringify(names)}\naction-timeout=${actionTimeout}\n`
)
console.log(`${databases.length} database${databases.length === 1 ? '' : 's'} to verify: ${names.join(', ')}`)
