// Failures in the user's terms: what went wrong, and a hint on what to do about it.

import type { Redactor } from './secrets.js'

/**
 * Every kind of failure a VerificationError names, as the receipt's and the history's `problem` say it
 * (a failure that is none of them is `unexpected`: engine/failure.ts). The one list: docs/troubleshooting.md
 * and receipt.schema.json publish it, and __tests__/unit/project/problem-codes.test.ts keeps them equal to it.
 */
export const PROBLEM_CODES = [
  'bad-input',
  'connection-refused',
  'host-not-found',
  'connection-timeout',
  'authentication-failed',
  'database-missing',
  'connection-failed',
  'permission-denied',
  'table-unreadable',
  'create-database-denied',
  'tools-missing',
  'client-too-old',
  'tools-download-failed',
  'tools-not-published',
  'tools-checksum-mismatch',
  'dump-failed',
  'backup-too-small',
  'no-space',
  'backup-invalid',
  'backup-refused',
  'restore-failed',
  'restore-mismatch',
  'extensions-missing',
  'same-database',
  'interrupted',
  'connection-lost',
  'restore-stalled',
  'receipt-mismatch',
  'alert',
  'history-unwritable',
  'django-settings',
  'repository-unreadable',
  'backup-missing',
  'check-failed'
] as const

export type Problem = (typeof PROBLEM_CODES)[number]

export class VerificationError extends Error {
  constructor(
    readonly problem: Problem,
    message: string,
    readonly hint?: string
  ) {
    super(message)
    this.name = 'VerificationError'
  }
}

/** A bad input value: names the input, the value as given (secrets already removed) and what is accepted. */
export class InputError extends VerificationError {
  constructor(
    readonly input: string,
    value: string,
    accepted: string
  ) {
    super('bad-input', `Input "${input}" has an invalid value ${JSON.stringify(value)}: expected ${accepted}.`)
    this.name = 'InputError'
  }
}

/**
 * The text an entry prints for the error that ended its run: the message, then "Hint: ..." on a
 * line of its own when the error has one, both through the redactor (a hint may quote an input).
 */
export function describeFatal(error: unknown, redactor: Redactor): string {
  const hint = (error as { hint?: unknown } | null | undefined)?.hint
  const message = redactor.redactError(error)
  return typeof hint === 'string' && hint !== '' ? `${message}\nHint: ${redactor.redact(hint)}` : message
}

export interface ServerAddress {
  host: string
  port: number
  user: string
  database: string
}

function where(address: ServerAddress): string {
  return address.host.startsWith('/') ? `socket ${address.host} (port ${address.port})` : `${address.host}:${address.port}`
}

/**
 * What the server said besides its message (pg's DatabaseError carries them): DETAIL, which says
 * what exactly, and HINT, what to change (max_locks_per_transaction for "out of shared memory").
 */
export function serverNotes(error: unknown): { detail?: string; hint?: string } {
  const err = error as { detail?: unknown; hint?: unknown } | undefined
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined)
  return { detail: text(err?.detail), hint: text(err?.hint) }
}

/** A server error's message with its DETAIL, as one line. */
export function serverMessage(error: unknown): string {
  const message = (error as { message?: string } | undefined)?.message ?? String(error)
  const { detail } = serverNotes(error)
  return detail ? `${message.replace(/\.$/, '')} (${detail.replace(/\.$/, '')})` : message
}

/** Turns an error from the pg driver (or a socket) into a VerificationError a user can act on. */
export function describeConnectionError(error: unknown, address: ServerAddress): VerificationError {
  if (error instanceof VerificationError) return error
  const err = error as { code?: string; message?: string }
  const code = err?.code ?? ''
  const message = err?.message ?? String(error)
  const at = where(address)
  switch (code) {
    case 'ECONNREFUSED':
      return new VerificationError(
        'connection-refused',
        `Connection refused: nothing accepts connections at ${at}.`,
        `Is PostgreSQL running? Check with "pg_isready -h ${address.host} -p ${address.port}"; in a workflow, ` +
          `give the postgres service a health check and map its port (ports: ["${address.port}:5432"]).`
      )
    case 'ENOENT':
      if (address.host.startsWith('/')) {
        return new VerificationError(
          'connection-refused',
          `No PostgreSQL socket in ${address.host} for port ${address.port}.`,
          'Is the server running, and is that its socket directory (unix_socket_directories)?'
        )
      }
      break
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new VerificationError(
        'host-not-found',
        `Host not found: "${address.host}" does not resolve.`,
        'Check the host name in the connection settings; a service container is reached as localhost from a job that runs on the runner.'
      )
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new VerificationError(
        'connection-timeout',
        `Could not reach ${at}: ${message}.`,
        'Check the address and any firewall between the runner and the server.'
      )
    case '28P01':
      return new VerificationError(
        'authentication-failed',
        `Authentication failed for user "${address.user}" at ${at}.`,
        'Check the password (a URL needs special characters percent-encoded, e.g. @ as %40) and the user name.'
      )
    case '28000':
      return new VerificationError(
        'authentication-failed',
        `The server refused user "${address.user}" for database "${address.database}": ${serverMessage(error)}.`,
        serverNotes(error).hint ?? 'Check that the role exists and that pg_hba.conf allows it from this host.'
      )
    case '3D000':
      return new VerificationError(
        'database-missing',
        `Database "${address.database}" does not exist at ${at}.`,
        'Check the database name; with a postgres service container, POSTGRES_DB creates it.'
      )
  }
  if (/does not support SSL/i.test(message)) {
    return new VerificationError(
      'connection-failed',
      `Could not connect to ${at}: the server does not accept TLS, and the URL's sslmode requires it.`,
      "Turn TLS on on the server (ssl = on), or use sslmode=prefer (libpq's default), which uses TLS where the server has it."
    )
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new VerificationError(
      'connection-failed',
      `Could not connect to ${at}: the server's certificate does not name "${address.host}": ${message}`,
      'sslmode=verify-full checks that the certificate names the host: connect by a name it holds, or use sslmode=verify-ca, which checks the chain only.'
    )
  }
  if (/certificate|SSL|TLS/.test(message) && !code.match(/^[0-9A-Z]{5}$/)) {
    return new VerificationError(
      'connection-failed',
      `Could not connect to ${at}: the server's certificate was not accepted: ${message}`,
      "With a root certificate (sslrootcert, or ~/.postgresql/root.crt) the server's certificate must chain to it: " +
        'give the root certificate that signed it (your provider publishes it), or sslmode=require to encrypt without verifying.'
    )
  }
  if (/timeout/i.test(message)) {
    return new VerificationError(
      'connection-timeout',
      `Timed out connecting to ${at}.`,
      'The server accepted no session in time: check the host, port and that the server is ready.'
    )
  }
  return new VerificationError('connection-failed', `Could not connect to ${at}: ${serverMessage(error)}`, serverNotes(error).hint)
}

/** Hints for errors that PostgreSQL tools print on stderr, recognised by their text. */
export function classifyToolError(stderr: string): { problem: Problem; hint?: string } | undefined {
  if (/terminating connection due to (idle-session|idle-in-transaction|transaction) timeout/i.test(stderr)) {
    return {
      problem: 'connection-lost',
      hint:
        "The server ended a session that waited: a timeout of the server's, the role's or the database's " +
        '(idle_session_timeout, idle_in_transaction_session_timeout, transaction_timeout), or of a pooler between. ' +
        'The action sets them to 0 in its own sessions and the tools; a pooler must let the restore hold its sessions.'
    }
  }
  if (
    /server closed the connection unexpectedly|terminating connection due to|connection to server .* (was )?lost|the database system is shutting down/i.test(
      stderr
    )
  ) {
    return {
      problem: 'connection-lost',
      hint:
        'The server went away during the run (restarted, stopped, or out of memory). A temporary database it ' +
        'left is dropped by the post step, or by hand: DROP DATABASE backup_verify_… WITH (FORCE).'
    }
  }
  if (/server version mismatch/i.test(stderr)) {
    return { problem: 'client-too-old', hint: "Install a PostgreSQL client whose major version is at least the server's." }
  }
  if (/no password supplied/i.test(stderr)) {
    return {
      problem: 'authentication-failed',
      hint:
        'The server asks for a password and none was given: put it in the URL (percent-encoded), in PGPASSWORD, ' +
        'or in a line of the password file (PGPASSFILE, else ~/.pgpass, private: chmod 600) for this host, port, database and user.'
    }
  }
  if (/password authentication failed/i.test(stderr)) {
    return { problem: 'authentication-failed', hint: 'Check the password given to the action.' }
  }
  if (/connection refused/i.test(stderr)) {
    return { problem: 'connection-refused', hint: 'Is PostgreSQL running and reachable from the runner?' }
  }
  if (/permission denied/i.test(stderr)) {
    return {
      problem: 'permission-denied',
      hint: 'The user needs read access to every object it dumps; a superuser or the owner of the database is simplest.'
    }
  }
  return undefined
}

/** Driver errors that mean the server went away from a session that was open. */
const DRIVER_LOST =
  /Connection terminated|terminating connection|server closed the connection|the database system is (shutting down|in recovery mode)|ECONNRESET|ECONNREFUSED|EPIPE|Client has encountered a connection error/i
const LOST_CODES = new Set(['57P01', '57P02', '57P03', '08006', '08003', '08000', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'])

/** A session's error when the server went away mid-run, in the user's terms; undefined for any other error. */
export function describeLostConnection(error: unknown, during?: string): VerificationError | undefined {
  const err = error as { code?: string; message?: string } | undefined
  if (!err || (!LOST_CODES.has(err.code ?? '') && !DRIVER_LOST.test(err.message ?? ''))) return undefined
  return new VerificationError(
    'connection-lost',
    `The connection to the server was lost${during ? ` during ${during}` : ''}: ${err.message ?? String(error)}.`,
    classifyToolError('server closed the connection unexpectedly')?.hint
  )
}

/** An error reading the source (counting rows, say) in the user's terms. */
export function describeReadError(error: unknown): unknown {
  const err = error as { code?: string; message?: string }
  if (err.code === '42501') {
    return new VerificationError(
      'permission-denied',
      `Cannot read the source: ${serverMessage(error)}.`,
      serverNotes(error).hint ?? 'The user needs read access to every table it dumps; a superuser or the owner of the database is simplest.'
    )
  }
  return error
}
