// The fleet workflow's own steps (.github/workflows/verify-fleet.yml), as values in and values out:
// the plan (the databases input read into the matrix, or refused naming the entry and the fix, never
// a value) and each database's URL (from the database-urls secret, or the secret its entry names).
// The database-urls secret is read by both, for its names in the plan and for one URL in a job.

/** GitHub's limit on the jobs one matrix makes. */
const MATRIX_LIMIT = 256
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
const SECRET = /^[A-Za-z_][A-Za-z0-9_]*$/
/** What an entry may hold besides where its URL or backup is: inputs of the action, passed as they are. */
const PASSED_ON = ['min-size', 'verify', 'method', 'max-age', 'max-restore-time']
/** Every key an entry of the databases list may have. */
export const ENTRY_KEYS = ['name', 'secret', 'artifact', 'file', 'receipt', ...PASSED_ON]
const EXAMPLE = '[{"name": "orders"}, {"name": "billing", "artifact": "billing-backup", "file": "billing.dump"}]'
const NAME_RULE = 'letters, digits, ".", "_" and "-", at most 100, starting with a letter or digit'

export interface FleetPlan {
  /** The matrix's entries, every value a string. */
  databases: Array<Record<string, string>>
  names: string[]
  /** The action's timeout in minutes: inside the job's, so that a hung verification still writes its receipt. */
  actionTimeout: number
}

export interface PlanRequest {
  databases: string
  /** The database-urls secret, read for its names only. */
  urls: string
  fleet: string
  /** The jobs' time limit (timeout-minutes). */
  timeoutMinutes: number
}

export function planFleet(request: PlanRequest): FleetPlan | { problem: string } {
  if (!NAME.test(request.fleet)) return { problem: `fleet ${JSON.stringify(request.fleet)} is not a name: ${NAME_RULE}` }
  const urls = request.urls.trim() === '' ? undefined : parseUrls(request.urls)
  if (urls && 'problem' in urls) return urls
  let list: unknown
  try {
    list = JSON.parse(request.databases)
  } catch {
    return { problem: `databases is not JSON: give a list such as ${EXAMPLE}` }
  }
  if (!Array.isArray(list)) return { problem: `databases is not a JSON list: give one such as ${EXAMPLE}` }
  if (list.length === 0) return { problem: 'databases is an empty list: name at least one database' }
  if (list.length > MATRIX_LIMIT) {
    return {
      problem:
        `databases lists ${list.length} databases; one matrix runs at most ${MATRIX_LIMIT} jobs: ` +
        'split the list over several calls, each with a fleet name of its own'
    }
  }
  const seen = new Set<string>()
  const databases: FleetPlan['databases'] = []
  for (const [index, entry] of (list as unknown[]).entries()) {
    const problem = entryProblem(entry, urls?.byName)
    // An entry is named by its place and its name alone: a value may be a URL with its password, put where a secret's name goes.
    const name = (entry as { name?: unknown } | null)?.name
    const named = typeof name === 'string' && NAME.test(name) ? ` (${name})` : ''
    if (problem) return { problem: `databases entry ${index + 1}${named}: ${problem}` }
    const fields = Object.fromEntries(Object.entries(entry as object).map(([key, value]) => [key, String(value)]))
    // Artifact names are told apart without regard to case.
    if (seen.has(fields.name.toLowerCase())) {
      return {
        problem: `two databases are named ${fields.name} (letter case aside): each needs a name of its own (its receipt, history and artifact go by it)`
      }
    }
    seen.add(fields.name.toLowerCase())
    databases.push(fields)
  }
  const minutes = request.timeoutMinutes
  return {
    databases,
    names: databases.map((database) => database.name),
    actionTimeout: Math.max(1, minutes >= 10 ? minutes - 5 : Math.floor(minutes * 0.8))
  }
}

function entryProblem(entry: unknown, urls: Record<string, unknown> | undefined): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object'
  const fields = entry as Record<string, unknown>
  const unknown = Object.keys(fields).filter((key) => !ENTRY_KEYS.includes(key))
  if (unknown.length > 0) return `${unknown.join(', ')} is not a key it may have (${ENTRY_KEYS.join(', ')})`
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== 'string' && typeof value !== 'number') return `${key} is not a string`
    if (String(value).trim() === '') return `${key} is empty: give a value, or leave the key out`
  }
  const { name, secret, artifact, file, receipt } = fields as Record<string, string | number | undefined>
  if (typeof name !== 'string' || !NAME.test(name)) return `name must be ${NAME_RULE} (it names an artifact and a cache key)`
  if (secret === undefined && artifact === undefined && urlIn(urls, name) === undefined) {
    return (
      'its URL is nowhere: give it under its name in the database-urls secret, or name the secret that holds it ("secret", with ' +
      'secrets: inherit), or the artifact that holds its backup ("artifact")'
    )
  }
  if (secret !== undefined && artifact !== undefined) return 'give "secret" or "artifact", not both'
  if (secret !== undefined && !SECRET.test(String(secret)))
    return 'secret is the name of a secret (letters, digits and "_"), never its value'
  if (artifact !== undefined && file === undefined) return '"artifact" needs "file", the path of the backup inside the artifact'
  if (artifact === undefined && (file !== undefined || receipt !== undefined)) return '"file" and "receipt" go with "artifact"'
  for (const [key, value] of [
    ['file', file],
    ['receipt', receipt]
  ] as const) {
    const path = value === undefined ? undefined : String(value)
    if (path !== undefined && (path.startsWith('/') || path.split(/[\\/]/).includes('..') || /[\r\n]/.test(path))) {
      return `${key} is a path inside the artifact: relative, without ".."`
    }
  }
  return undefined
}

export interface UrlRequest {
  database: string
  /** The name of the secret the entry names, if it names one. */
  secret: string
  /** That secret's value, as the workflow read it (empty when it was not passed). */
  fromSecret: string
  /** The database-urls secret. */
  urls: string
}

/** The database's URL, or why it cannot be had, naming the secret or the key, never a value. */
export function databaseUrl(request: UrlRequest): { url: string } | { problem: string } {
  if (request.secret !== '') {
    if (request.fromSecret.trim() !== '') return oneLine(request.fromSecret)
    return {
      problem:
        `the secret ${request.secret} is empty or was not passed: set it, and call the workflow with secrets: inherit ` +
        '(within your organization or enterprise); or leave "secret" out and give the URL in database-urls'
    }
  }
  if (request.urls.trim() === '') {
    return {
      problem:
        'its entry names no secret and no artifact, and the database-urls secret was not passed: pass {"<name>": "<URL>", ...} as database-urls'
    }
  }
  const urls = parseUrls(request.urls)
  if ('problem' in urls) return urls
  const url = urlIn(urls.byName, request.database)
  if (url === undefined) {
    const others = Object.keys(urls.byName).filter((name) => name !== request.database).length
    return {
      problem: `the database-urls secret has no URL under "${request.database}" (it has ${others} other name${others === 1 ? '' : 's'})`
    }
  }
  return oneLine(url)
}

function parseUrls(text: string): { byName: Record<string, unknown> } | { problem: string } {
  let urls: unknown
  try {
    urls = JSON.parse(text)
  } catch {
    return { problem: 'the database-urls secret is not JSON: it is {"<name>": "<URL>", ...}' }
  }
  if (typeof urls !== 'object' || urls === null || Array.isArray(urls)) {
    return { problem: 'the database-urls secret is not a JSON object of URLs by name' }
  }
  return { byName: urls as Record<string, unknown> }
}

function urlIn(urls: Record<string, unknown> | undefined, name: string): string | undefined {
  const url = urls && Object.hasOwn(urls, name) ? urls[name] : undefined
  return typeof url === 'string' && url.trim() !== '' ? url : undefined
}

function oneLine(url: string): { url: string } | { problem: string } {
  return /[\r\n]/.test(url) ? { problem: 'its URL holds a line break: give it on one line' } : { url }
}
