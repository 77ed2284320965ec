// How client tools are told where to connect: PG* variables and a private password file, never argv.

import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { LIBPQ_PARAMETERS, type ConnectionTarget } from './target.js'

/**
 * Variables a child must not inherit: they would redirect it elsewhere, carry a secret it does not
 * need, or change how its session prints values (PGTZ, PGDATESTYLE) from what the engine's own sessions see.
 */
const INHERITED_CONNECTION =
  /^(PG(HOST|HOSTADDR|PORT|DATABASE|USER|PASSWORD|PASSFILE|SERVICE|SERVICEFILE|SSL\w*|OPTIONS|APPNAME|CONNECT_TIMEOUT|TARGETSESSIONATTRS|REQUIRESSL|GSSENCMODE|CHANNELBINDING|TZ|DATESTYLE)|DATABASE_URL|DB_PASSWORD|INPUT_.*)$/i

/** pgBackRest's options from the environment, its repository passphrase and object-store keys among them: for pgbackrest alone. */
export const PGBACKREST_VARIABLE = /^PGBACKREST_/i

/** The environment every child process starts from: the runner's, without a connection, a password, an input or a repository's secret. */
export function scrubbedEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(base))
    if (!INHERITED_CONNECTION.test(name) && !PGBACKREST_VARIABLE.test(name)) env[name] = value
  return env
}

/** Where the runner and the user hand this process its secrets: the inputs, the URL, the password variables. */
const SECRET_VARIABLES = /^(INPUT_.*|DATABASE_URL|DB_PASSWORD|PGPASSWORD)$/i

/**
 * Drops the secrets from this process's own environment once the settings hold them, so that no
 * child inherits them, however it is started. Linux still shows the environment a process started
 * with in /proc/<pid>/environ to processes of the same user: docs/safety.md says why no child of
 * a restore runs anything a backup says.
 */
export function forgetSecretVariables(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(env)) if (SECRET_VARIABLES.test(name)) delete env[name]
}

/** libpq's password file syntax: backslash escapes ":" and "\". */
export function passwordFileLine(password: string): string {
  return `*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`
}

/**
 * Writes the password to a 0600 file in `folder` for PGPASSFILE. A password with a line break
 * cannot be written there; then the caller falls back to PGPASSWORD.
 */
export async function writePasswordFile(folder: string, password: string | undefined, name = '.pgpass'): Promise<string | undefined> {
  if (!password || /[\r\n]/.test(password)) return undefined
  const file = path.join(folder, name)
  await writeFile(file, passwordFileLine(password), { mode: 0o600 })
  return file
}

/** Removes a password file writePasswordFile wrote; one already gone is no error. */
export async function removePasswordFile(file: string): Promise<void> {
  await rm(file, { force: true })
}

export function clientEnvironment(
  target: ConnectionTarget,
  database: string,
  passwordFile: string | undefined,
  base: NodeJS.ProcessEnv = process.env
): NodeJS.ProcessEnv {
  const env = scrubbedEnvironment(base)
  env.PGHOST = target.host
  env.PGPORT = String(target.port)
  env.PGUSER = target.user
  env.PGDATABASE = database
  env.PGAPPNAME = 'backup-verify'
  for (const [parameter, value] of Object.entries(target.parameters)) env[LIBPQ_PARAMETERS[parameter]] = value
  env.PGCONNECT_TIMEOUT = String(target.connectTimeoutSeconds)
  if (passwordFile) env.PGPASSFILE = passwordFile
  else if (target.password) env.PGPASSWORD = target.password
  return env
}
