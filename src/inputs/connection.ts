// Where the database is: the database-url input, else DATABASE_URL, else Django-style DB_* variables, else a .env file.

import { parse } from 'pg-connection-string'
import { InputError } from '../run/errors.js'
import { parseKeywordValue, writtenUrlPassword } from '../run/secrets.js'
import { Input } from '../run/names.js'
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, LIBPQ_PARAMETERS, type ConnectionTarget } from '../connection/target.js'
import { readTlsSettings, TlsSettingError } from '../connection/tls.js'

export type ConnectionChoice =
  | { kind: 'postgres'; target: ConnectionTarget; origin: string; rawUrl?: string }
  | { kind: 'unsupported'; engine: string; origin: string }
  /** No server is needed: an existing physical backup is started on a throwaway server of its own. */
  | { kind: 'none'; origin: string }

/** Variables that may describe the connection: from the environment, or from a .env file. */
export type Variables = Record<string, string | undefined>

const DB_NAMES = ['DB_ENGINE', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DB_HOST', 'DB_PORT'] as const
const POSTGRES_SCHEMES = new Set(['postgres', 'postgresql', 'postgis', 'pgsql'])
const URL_FORMS = 'a URL such as postgresql://user:password@host:5432/dbname (percent-encode special characters in the password)'

/**
 * TLS parameters: taken out before pg-connection-string parses the URL, which would read the files
 * and give sslmode meanings of its own (readTlsSettings gives libpq's).
 */
const TLS_PARAMETERS = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey'])

/** The URL without the query parameters `names`, and their values as URLSearchParams decodes them. */
function takeParameters(url: string, names: Set<string>): { rest: string; taken: Record<string, string> } {
  const query = url.indexOf('?')
  if (query < 0) return { rest: url, taken: {} }
  const hash = url.indexOf('#', query)
  const end = hash < 0 ? url.length : hash
  const taken: Record<string, string> = {}
  const kept: string[] = []
  for (const pair of url.slice(query + 1, end).split('&')) {
    const [name, value] = [...new URLSearchParams(pair)][0] ?? ['', '']
    if (names.has(name)) taken[name] = value
    else if (pair !== '') kept.push(pair)
  }
  return { rest: `${url.slice(0, query)}${kept.length > 0 ? `?${kept.join('&')}` : ''}${url.slice(end)}`, taken }
}

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== ''
}

/**
 * Picks the connection from the first place that names one.
 * `environment` wins over `dotenv` (the parsed .env file), as the README documents.
 */
export function chooseConnection(input: string, environment: Variables, dotenv: Variables | undefined): ConnectionChoice | undefined {
  if (present(input)) return fromUrl(input.trim(), `input ${Input.DatabaseUrl}`, Input.DatabaseUrl)
  if (present(environment.DATABASE_URL)) return fromUrl(environment.DATABASE_URL.trim(), 'DATABASE_URL variable', 'DATABASE_URL')
  const envHasDb = present(environment.DB_NAME) || present(environment.DB_ENGINE)
  if (envHasDb) return fromDjangoVariables({ ...pickDb(dotenv), ...pickDb(environment) }, 'DB_* variables')
  if (dotenv && present(dotenv.DATABASE_URL)) return fromUrl(dotenv.DATABASE_URL.trim(), '.env file (DATABASE_URL)', 'DATABASE_URL in .env')
  if (dotenv && (present(dotenv.DB_NAME) || present(dotenv.DB_ENGINE))) {
    return fromDjangoVariables({ ...pickDb(dotenv), ...pickDb(environment) }, '.env file (DB_* variables)')
  }
  return undefined
}

function pickDb(variables: Variables | undefined): Variables {
  const picked: Variables = {}
  for (const name of DB_NAMES) if (variables && present(variables[name])) picked[name] = variables[name]
  return picked
}

export function fromUrl(url: string, origin: string, inputName: string): ConnectionChoice {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()
  const keywords = scheme ? undefined : parseKeywordValue(url)
  if (keywords) {
    // libpq's key=value form: shown with every password value hidden, and refused with the fix.
    const shown = keywords.map((pair) => `${pair.key}=${pair.key === 'password' ? '***' : pair.raw}`).join(' ')
    throw new InputError(inputName, shown, `${URL_FORMS}; a key=value connection string is not read: write the same settings as a URL`)
  }
  const shown = redactUrl(url)
  if (!scheme) throw new InputError(inputName, shown, URL_FORMS)
  // Two "@" before the host: the password holds one unencoded, and no parser can tell where the host starts.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? ''
  if ((authority.match(/@/g) ?? []).length > 1 || (writtenUrlPassword(url.replace(/[?#].*$/s, '')) ?? '').includes('@')) {
    throw new InputError(
      inputName,
      shown,
      `${URL_FORMS}; the password holds an "@" that is not percent-encoded: write it as %40 ` +
        `(encodeURIComponent gives every character's form)`
    )
  }
  if (scheme.startsWith('sqlite') || scheme === 'spatialite') return { kind: 'unsupported', engine: 'sqlite', origin }
  if (!POSTGRES_SCHEMES.has(scheme)) {
    if (/^(mysql|mysql2|mariadb|mssql|oracle|redshift|cockroach)/.test(scheme)) return { kind: 'unsupported', engine: scheme, origin }
    throw new InputError(inputName, shown, URL_FORMS)
  }
  const hosts = authority.replace(/^.*@/s, '')
  if (hosts.includes(',')) throw severalHosts(inputName, shown, hosts)
  const { rest, taken } = takeParameters(url, TLS_PARAMETERS)
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(rest)
  } catch {
    throw new InputError(inputName, shown, URL_FORMS)
  }
  if (typeof parsed.host === 'string' && parsed.host.includes(',')) throw severalHosts(inputName, shown, parsed.host)
  if (typeof parsed.service === 'string') {
    throw new InputError(
      inputName,
      shown,
      `${URL_FORMS}; service=${parsed.service} names an entry of a pg_service.conf file, which is not read: ` +
        'write its host, port, dbname, user and sslmode in the URL instead'
    )
  }
  if (!present(parsed.database ?? undefined)) {
    throw new InputError(inputName, shown, `${URL_FORMS}; the URL names no database (add /dbname after the host)`)
  }
  const parameters: Record<string, string> = {}
  for (const key of Object.keys(LIBPQ_PARAMETERS)) {
    const value = TLS_PARAMETERS.has(key) ? taken[key] : parsed[key]
    if (typeof value === 'string' && value !== '') parameters[key] = value
  }
  const tls = tlsOf(parameters, inputName, shown, URL_FORMS)
  // The tools get sslmode as the driver reads it (libpq knows only the lower-case spelling).
  if (parameters.sslmode !== undefined && tls) parameters.sslmode = tls.mode
  return {
    kind: 'postgres',
    origin,
    rawUrl: url,
    target: {
      host: present(parsed.host ?? undefined) ? (parsed.host as string) : 'localhost',
      port: parsePort(parsed.port ?? '', inputName, shown),
      user: present(parsed.user) ? parsed.user : 'postgres',
      password: present(parsed.password) ? parsed.password : undefined,
      database: parsed.database as string,
      parameters,
      tls,
      connectTimeoutSeconds:
        /^\d+$/.test(parameters.connect_timeout ?? '') && Number(parameters.connect_timeout) > 0
          ? Number(parameters.connect_timeout)
          : DEFAULT_CONNECT_TIMEOUT_SECONDS
    }
  }
}

function fromDjangoVariables(variables: Variables, origin: string): ConnectionChoice {
  const engine = variables.DB_ENGINE?.trim() ?? ''
  if (engine && !/postg|postgis/i.test(engine)) return { kind: 'unsupported', engine, origin }
  if (!present(variables.DB_NAME)) {
    throw new InputError('DB_NAME', variables.DB_NAME ?? '', 'the name of the PostgreSQL database (DB_ENGINE is set but DB_NAME is empty)')
  }
  return {
    kind: 'postgres',
    origin,
    target: {
      host: present(variables.DB_HOST) ? variables.DB_HOST.trim() : 'localhost',
      port: parsePort(variables.DB_PORT ?? '', 'DB_PORT', variables.DB_PORT ?? ''),
      user: present(variables.DB_USER) ? variables.DB_USER.trim() : 'postgres',
      password: present(variables.DB_PASSWORD) ? variables.DB_PASSWORD : undefined,
      database: variables.DB_NAME.trim(),
      parameters: {},
      tls: tlsOf({}, 'DB_HOST', variables.DB_HOST ?? ''),
      connectTimeoutSeconds: DEFAULT_CONNECT_TIMEOUT_SECONDS
    }
  }
}

/** The sessions' TLS settings, or what is wrong with them, naming the input, before any connection. */
function tlsOf(parameters: Record<string, string>, inputName: string, shown: string, accepted?: string): ConnectionTarget['tls'] {
  try {
    return readTlsSettings(parameters)
  } catch (error) {
    if (!(error instanceof TlsSettingError)) throw error
    throw new InputError(inputName, shown, accepted ? `${accepted}; ${error.message}` : error.message)
  }
}

function severalHosts(inputName: string, shown: string, hosts: string): InputError {
  return new InputError(
    inputName,
    shown,
    `${URL_FORMS}; several hosts (${hosts}) are not supported: the backup is made from one server and restored ` +
      'into one, so name one host and port (the primary, where a restore may create its temporary database)'
  )
}

function parsePort(text: string, inputName: string, shown: string): number {
  if (text.trim() === '') return 5432
  const port = Number(text)
  if (!/^\d+$/.test(text.trim()) || port < 1 || port > 65535) throw new InputError(inputName, shown, 'a port number from 1 to 65535')
  return port
}

/** The URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  // Greedy up to the last "@": an unencoded "@" in a password must not leave its tail visible.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:).*@/i, '$1***@').replace(/([?&]password=)[^&]*/i, '$1***')
}
