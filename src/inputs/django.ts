// A Django project's database, read from its settings module (DJANGO_SETTINGS_MODULE) with the
// project's own Python, as manage.py would: the working directory first on sys.path. The settings
// come back as JSON on the child's stdout (the module's own prints go to stderr), never through
// argv, a file or the log. Read by whoever gathers the raw inputs, before they are parsed.

import { spawn } from 'node:child_process'
import { Input } from '../run/names.js'
import { VerificationError } from '../run/errors.js'
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, LIBPQ_PARAMETERS } from '../connection/target.js'
import type { ConnectionChoice, Variables } from './connection.js'
import { fromUrl } from './connection.js'

/** DATABASES[alias] as the settings hold it, the values that a connection needs. */
export interface DjangoDatabase {
  module: string
  alias: string
  engine: string
  name: string
  user: string
  password: string
  host: string
  port: string
  options: Record<string, string>
}

const VARIABLE = 'DJANGO_SETTINGS_MODULE'
const READ_TIMEOUT_MS = 60_000

// Runs in the project's Python. Prints from the settings module go to stderr; the answer alone to stdout.
const SCRIPT = String.raw`
import importlib, importlib.util, json, os, sys, traceback
answer = sys.stdout
sys.stdout = sys.stderr
sys.path.insert(0, os.getcwd())
module = os.environ["DJANGO_SETTINGS_MODULE"]
alias = os.environ.get("BACKUP_VERIFY_DJANGO_ALIAS") or "default"
def reply(value):
    answer.write(json.dumps(value, default=str))
    answer.flush()
try:
    if importlib.util.find_spec("django") is not None:
        from django.conf import settings
        databases = settings.DATABASES
    else:
        databases = getattr(importlib.import_module(module), "DATABASES", None)
except BaseException as error:
    reply({"error": "import", "exception": "".join(traceback.format_exception_only(type(error), error)).strip(),
           "traceback": traceback.format_exc()[-4000:]})
    sys.exit(0)
if not isinstance(databases, dict):
    reply({"error": "no-databases"})
elif alias not in databases:
    reply({"error": "alias", "aliases": [str(key) for key in databases]})
else:
    entry = databases[alias] or {}
    options = entry.get("OPTIONS") or {}
    reply({"database": {key.lower(): "" if entry.get(key) is None else str(entry.get(key))
                        for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")},
           "options": {str(k): str(v) for k, v in options.items() if isinstance(v, (str, int, float))}})
`

/** DJANGO_SETTINGS_MODULE applies when nothing else names the database. */
export function djangoModule(environment: Variables, dotenv: Variables | undefined): string | undefined {
  const value = environment[VARIABLE]?.trim() || dotenv?.[VARIABLE]?.trim()
  return value || undefined
}

function failure(module: string, message: string, hint: string): VerificationError {
  return new VerificationError('django-settings', `${VARIABLE} (${module}): ${message}`, hint)
}

/** Reads DATABASES[alias] from the settings module with the given Python. */
export async function readDjangoDatabase(options: {
  module: string
  alias: string
  python: string
  environment: Variables
  workingDirectory: string
}): Promise<DjangoDatabase> {
  const { module, alias, python } = options
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(module)) {
    throw failure(module, 'is not a dotted Python module name', `Set ${VARIABLE} to the settings module, e.g. mysite.settings.`)
  }
  const output = await runPython(python, options.workingDirectory, {
    ...options.environment,
    [VARIABLE]: module,
    BACKUP_VERIFY_DJANGO_ALIAS: alias
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'EACCES') {
      throw failure(
        module,
        `the Python to import it with, ${JSON.stringify(python)} (input ${Input.PythonPath}), was not found`,
        `Set ${Input.PythonPath} to the project's Python (its virtualenv's bin/python, say), or install Python 3.`
      )
    }
    throw error
  })
  let answer: {
    error?: string
    exception?: string
    traceback?: string
    aliases?: string[]
    database?: Record<string, string>
    options?: Record<string, string>
  }
  try {
    answer = JSON.parse(output.stdout)
  } catch {
    const said = output.stderr.trim().split('\n').slice(-5).join(' | ')
    throw failure(
      module,
      `${python} did not answer (exit code ${output.code}${said ? `: ${said}` : ''})`,
      `Is ${JSON.stringify(python)} Python 3? Set ${Input.PythonPath} to the project's Python.`
    )
  }
  if (answer.error === 'import') {
    throw failure(
      module,
      `the settings module failed to import: ${hideUnknownSecrets(answer.exception ?? '', options.environment)}`,
      `Run "${python} -c 'import ${module}'" in ${options.workingDirectory} to see the whole error; the module ` +
        `is imported from the working directory, as manage.py does, with the project's dependencies installed.`
    )
  }
  if (answer.error === 'no-databases') {
    throw failure(module, 'defines no DATABASES dictionary', `Define DATABASES in ${module}, or give database-url.`)
  }
  if (answer.error === 'alias') {
    throw failure(
      module,
      `DATABASES has no alias ${JSON.stringify(alias)} (it has: ${(answer.aliases ?? []).join(', ') || 'none'})`,
      `Set ${Input.DjangoDatabase} to one of its aliases.`
    )
  }
  const database = answer.database ?? {}
  return {
    module,
    alias,
    engine: database.engine ?? '',
    name: database.name ?? '',
    user: database.user ?? '',
    password: database.password ?? '',
    host: database.host ?? '',
    port: database.port ?? '',
    options: answer.options ?? {}
  }
}

/**
 * The exception of a settings module that failed: its password is not known yet, so the values of
 * variables named like secrets are hidden, and in a connection URL everything from the password to
 * the line's last "@" (a password may hold an unencoded "@" or a space).
 */
function hideUnknownSecrets(text: string, environment: Variables): string {
  let hidden = text
  const values = Object.entries(environment)
    .filter(([name, value]) => /pass|secret|token|key|pwd/i.test(name) && value && value.length >= 4)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length)
  for (const value of values) hidden = hidden.split(value).join('***')
  return hidden
    .split('\n')
    .map((line) => line.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:).*@/i, '$1***@'))
    .join('\n')
}

function runPython(python: string, cwd: string, env: Variables): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', SCRIPT], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), READ_TIMEOUT_MS)
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code })
    })
  })
}

/** The connection DATABASES[alias] describes; sqlite and other engines are skipped, as DB_ENGINE is. */
export function djangoConnection(database: DjangoDatabase): ConnectionChoice {
  const origin = `${VARIABLE} (${database.module}, DATABASES[${JSON.stringify(database.alias)}])`
  const engine = database.engine.trim()
  if (/sqlite|spatialite/i.test(engine)) return { kind: 'unsupported', engine: 'sqlite', origin }
  if (!/postg/i.test(engine)) return { kind: 'unsupported', engine: engine || 'unknown', origin }
  if (database.name.trim() === '') {
    throw failure(database.module, `DATABASES[${JSON.stringify(database.alias)}] has no NAME`, 'Give the database a NAME in the settings.')
  }
  // Built as a URL, so that the settings are read exactly as database-url is (sslmode and the rest).
  const query = new URLSearchParams()
  const host = database.host.trim()
  if (host.startsWith('/')) query.set('host', host)
  for (const [key, value] of Object.entries(database.options)) if (key in LIBPQ_PARAMETERS) query.set(key, value)
  if (!query.has('connect_timeout')) query.set('connect_timeout', String(DEFAULT_CONNECT_TIMEOUT_SECONDS))
  const user = encodeURIComponent(database.user.trim() || 'postgres')
  const password = database.password === '' ? '' : `:${encodeURIComponent(database.password)}`
  // An empty HOST is localhost, as DB_HOST is.
  const address = host.startsWith('/') ? '' : host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  const port = database.port.trim() === '' ? '' : `:${database.port.trim()}`
  const url = `postgresql://${user}${password}@${address}${port}/${encodeURIComponent(database.name.trim())}?${query}`
  const choice = fromUrl(url, origin, VARIABLE)
  return choice.kind === 'postgres' ? { ...choice, rawUrl: undefined } : choice
}
