// Where a server is, as every stage connects to it: host, port, user, database, libpq settings.

import type { TlsSettings } from './tls.js'

export interface ConnectionTarget {
  host: string
  port: number
  user: string
  password?: string
  database: string
  /** libpq settings passed on as they were given (sslmode, sslrootcert, application_name, ...). */
  parameters: Record<string, string>
  /** TLS for the driver's sessions, from sslmode and the certificate parameters (libpq's semantics); none: libpq's default, prefer. */
  tls?: TlsSettings
  /** How long to wait for the server to accept a session, for the driver and the tools alike. */
  connectTimeoutSeconds: number
}

export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10

/** Query parameters libpq understands that the client tools should see too (as PG* variables). */
export const LIBPQ_PARAMETERS: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  target_session_attrs: 'PGTARGETSESSIONATTRS'
}

/** "postgres@localhost:5432/app" — never includes the password. */
export function describeTarget(target: ConnectionTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  return `${target.user}@${host}:${target.port}/${target.database}`
}

/**
 * The target with one more server option for every session on it (libpq's options, PGOPTIONS for the
 * tools), after those it was given.
 */
export function withServerOption(target: ConnectionTarget, option: string): ConnectionTarget {
  const options = [target.parameters.options, option].filter(Boolean).join(' ')
  return { ...target, parameters: { ...target.parameters, options } }
}
