// The inputs that say where the servers are: the source (database-url, DATABASE_URL, DB_*, .env)
// and the server that receives the restore (restore-database-url), with connect-timeout and every
// spelling of their passwords. The post step reads these alone: it only needs to reach the server.

import { Input } from '../run/names.js'
import { InputError } from '../run/errors.js'
import { secretForms } from '../run/secrets.js'
import { durationForms, parseDuration } from '../run/duration.js'
import type { ConnectionTarget } from '../connection/target.js'
import { chooseConnection, fromUrl, redactUrl, type ConnectionChoice, type Variables } from './connection.js'
import { djangoConnection, djangoModule, readDjangoDatabase, type DjangoDatabase } from './django.js'

/** How the caller hands over raw values: the action reads INPUT_*, the CLI its flags; both read the .env file. */
export interface RawInputs {
  get(name: string): string
  environment: Variables
  workingDirectory: string
  /** The .env file in the working directory, when there is one (see readDotenv). */
  dotenv?: Variables
  /** DATABASES[alias] of DJANGO_SETTINGS_MODULE, read when nothing else names the database (see withDjangoSettings). */
  django?: DjangoDatabase
}

/**
 * The raw inputs with the Django settings' database, when DJANGO_SETTINGS_MODULE is set and nothing
 * else (database-url, DATABASE_URL, DB_*, a .env file) names the database. Runs the project's Python.
 */
export async function withDjangoSettings(raw: RawInputs): Promise<RawInputs> {
  const module = djangoModule(raw.environment, raw.dotenv)
  if (!module) return raw
  let named: ConnectionChoice | undefined
  try {
    named = chooseConnection(raw.get(Input.DatabaseUrl), raw.environment, raw.dotenv)
  } catch {
    return raw // The input that names the database is wrong: parsing says so.
  }
  if (named) return raw
  const django = await readDjangoDatabase({
    module,
    ...djangoInputs(raw),
    environment: raw.environment,
    workingDirectory: raw.workingDirectory
  })
  return { ...raw, django }
}

/** A line break, a NUL or another control character: no alias or program name holds one. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f)
}

/** django-database and python-path, checked whether or not DJANGO_SETTINGS_MODULE is set. */
export function djangoInputs(raw: RawInputs): { alias: string; python: string } {
  const alias = raw.get(Input.DjangoDatabase).trim() || 'default'
  if (hasControlCharacter(alias) || alias.length > 200) {
    throw new InputError(
      Input.DjangoDatabase,
      raw.get(Input.DjangoDatabase),
      'the name of an alias in DATABASES, such as default or replica'
    )
  }
  const python = raw.get(Input.PythonPath).trim() || 'python3'
  if (hasControlCharacter(python) || python.length > 4096) {
    throw new InputError(
      Input.PythonPath,
      raw.get(Input.PythonPath),
      'a Python executable: a command on PATH such as python3, or a path such as .venv/bin/python'
    )
  }
  return { alias, python }
}

export interface ConnectionInputs {
  connection: ConnectionChoice
  /** A server apart from the source that receives the temporary database. */
  restoreTarget?: ConnectionTarget
  /** Every spelling of every password in them, to mask and redact. */
  secrets: string[]
}

/**
 * Secrets as the user wrote them, known before anything is parsed, so that they can be masked
 * even when parsing fails.
 */
export function rawSecrets(raw: RawInputs): string[] {
  const dotenv = raw.dotenv
  const values = [raw.get(Input.DatabaseUrl), raw.get(Input.RestoreDatabaseUrl), raw.environment.DATABASE_URL, dotenv?.DATABASE_URL]
  const passwords = [raw.environment.DB_PASSWORD, raw.environment.PGPASSWORD, dotenv?.DB_PASSWORD, raw.django?.password]
  return [
    ...values.flatMap((url) => (url?.trim() ? secretForms(undefined, url.trim()) : [])),
    ...passwords.flatMap((password) => secretForms(password))
  ]
}

/** A repository's backup needs no server of the user's: the source is never connected, the restore runs on a server of the run's own. */
function repositoryConnection(raw: RawInputs, method: string): ConnectionInputs {
  for (const name of [Input.DatabaseUrl, Input.RestoreDatabaseUrl]) {
    if (raw.get(name).trim() !== '') {
      throw new InputError(
        name,
        redactUrl(raw.get(name).trim()),
        `empty with method: ${method} (the backup is read from its repository and started on a throwaway server; no server of yours is connected)`
      )
    }
  }
  return {
    connection: { kind: 'none', origin: `input ${Input.Method} (${method}: a backup of its repository, started on a throwaway server)` },
    secrets: repositorySecrets(raw.environment)
  }
}

/**
 * The repository's secrets the tools read from the environment (pgBackRest's PGBACKREST_REPO1_CIPHER_PASS,
 * its object stores' keys and tokens): masked before anything is printed.
 */
function repositorySecrets(environment: NodeJS.ProcessEnv): string[] {
  return Object.entries(environment)
    .filter(([name, value]) => /^PGBACKREST_.*(PASS|KEY|SECRET|TOKEN)/i.test(name) && value && value.length >= 4)
    .flatMap(([, value]) => secretForms(value))
}

export function readConnectionInputs(raw: RawInputs): ConnectionInputs {
  const connectTimeoutText = raw.get(Input.ConnectTimeout).trim()
  const connectTimeoutMs = connectTimeoutText === '' ? undefined : parseDuration(connectTimeoutText)
  if (connectTimeoutText !== '' && (connectTimeoutMs === undefined || connectTimeoutMs < 1000 || connectTimeoutMs > 600_000)) {
    throw new InputError(Input.ConnectTimeout, connectTimeoutText, `${durationForms()}, from 1s to 10m`)
  }
  // libpq and the driver wait whole seconds.
  const connectTimeout = connectTimeoutMs === undefined ? '' : String(Math.ceil(connectTimeoutMs / 1000))
  const restoreUrl = raw.get(Input.RestoreDatabaseUrl).trim()
  let restoreTarget: ConnectionTarget | undefined
  if (restoreUrl !== '') {
    const restore = fromUrl(restoreUrl, `input ${Input.RestoreDatabaseUrl}`, Input.RestoreDatabaseUrl)
    if (restore.kind !== 'postgres')
      throw new InputError(Input.RestoreDatabaseUrl, redactUrl(restoreUrl), 'a PostgreSQL URL: the restore needs a PostgreSQL server')
    restoreTarget = restore.target
    if (connectTimeout !== '') restoreTarget.connectTimeoutSeconds = Number(connectTimeout)
  }
  const existingBackup = raw.get(Input.BackupFile).trim() !== ''
  const method = raw.get(Input.Method).trim().toLowerCase()
  if (method === 'pgbackrest' || method === 'barman') return repositoryConnection(raw, method)
  let choice = chooseConnection(raw.get(Input.DatabaseUrl), raw.environment, raw.dotenv) ?? (raw.django && djangoConnection(raw.django))
  if (!choice && existingBackup && restoreTarget) {
    // An existing backup needs no source: the restore server is the only one.
    choice = { kind: 'postgres', target: restoreTarget, origin: `input ${Input.RestoreDatabaseUrl}`, rawUrl: restoreUrl }
    restoreTarget = undefined
  }
  if (!choice && existingBackup && raw.get(Input.Method).trim().toLowerCase() === 'physical') {
    choice = { kind: 'none', origin: `input ${Input.BackupFile} (a physical backup, started on a throwaway server)` }
  }
  if (!choice && existingBackup && raw.get(Input.RestoreServer).trim().toLowerCase() !== 'source') {
    choice = { kind: 'none', origin: `input ${Input.BackupFile} (restored on a throwaway server of the run's own)` }
  }
  if (!choice) {
    if (existingBackup) {
      throw new InputError(
        Input.RestoreDatabaseUrl,
        '',
        'a PostgreSQL URL of the server to restore into: with backup-file, restore-server: source and no database-url the restore needs one'
      )
    }
    throw new InputError(
      Input.DatabaseUrl,
      '',
      'a PostgreSQL URL; none was given, and neither DATABASE_URL, DB_NAME nor DJANGO_SETTINGS_MODULE is set in the environment or in a .env file'
    )
  }
  if (choice.kind === 'postgres') {
    if (connectTimeout !== '') choice.target.connectTimeoutSeconds = Number(connectTimeout)
    if (choice.target.password === undefined && raw.environment.PGPASSWORD) choice.target.password = raw.environment.PGPASSWORD
  }
  const secrets = [
    ...(choice.kind === 'postgres' ? secretForms(choice.target.password, choice.rawUrl) : []),
    ...(restoreTarget ? secretForms(restoreTarget.password, restoreUrl) : [])
  ]
  return { connection: choice, restoreTarget, secrets }
}
