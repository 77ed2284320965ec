// TLS as libpq does it, for the driver's sessions: sslmode's six values, the certificates the URL
// names, and the order in which a session tries TLS and plain (the tools get sslmode as it is).

import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ConnectionOptions } from 'node:tls'

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
type SslMode = (typeof SSL_MODES)[number]

/** What the sessions do about TLS: the mode, and the certificates' contents, read before any connection. */
export interface TlsSettings {
  mode: SslMode
  /** The root certificates the server's must chain to; none: no verification (or the system's, see systemRoots). */
  ca?: string
  /** sslrootcert=system: the system's trusted roots (libpq 16). */
  systemRoots?: boolean
  cert?: string
  key?: string
}

/** A setting the URL gives that cannot be used: which parameter, its value, and why. */
export class TlsSettingError extends Error {
  constructor(
    readonly parameter: string,
    readonly value: string,
    reason: string
  ) {
    super(reason)
    this.name = 'TlsSettingError'
  }
}

function readCertificate(parameter: string, file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: string }).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'not readable by the runner'
          : code === 'EISDIR'
            ? 'a folder, not a file'
            : ((error as Error).message ?? String(error))
    throw new TlsSettingError(
      parameter,
      file,
      `the file ${parameter} names cannot be read (${why}): ${file}; give the path of a readable file ` +
        '(a relative path is read from the working directory), written before this step runs'
    )
  }
}

/**
 * The TLS settings of libpq's parameters (sslmode, sslrootcert, sslcert, sslkey), their files read
 * now, so that a missing one is said before any connection. libpq's defaults: sslmode prefer, and
 * ~/.postgresql/root.crt as the root certificate when it exists (the tools read it too).
 */
export function readTlsSettings(parameters: Record<string, string>, home: string = os.homedir()): TlsSettings {
  const given = parameters.sslmode?.trim().toLowerCase()
  if (given !== undefined && !(SSL_MODES as readonly string[]).includes(given)) {
    throw new TlsSettingError('sslmode', parameters.sslmode, `sslmode is one of ${SSL_MODES.join(', ')} (libpq's values)`)
  }
  const rootcert = parameters.sslrootcert
  const systemRoots = rootcert === 'system'
  if (systemRoots && given !== undefined && given !== 'verify-full') {
    throw new TlsSettingError(
      'sslmode',
      given,
      'sslrootcert=system trusts any certificate a public authority signed, so it needs sslmode=verify-full (or no sslmode) as in libpq'
    )
  }
  const mode: SslMode = (given as SslMode | undefined) ?? (systemRoots ? 'verify-full' : 'prefer')
  const settings: TlsSettings = { mode }
  if (mode === 'disable') return settings
  const verifying = mode === 'verify-ca' || mode === 'verify-full'
  if (systemRoots) settings.systemRoots = true
  else if (rootcert) {
    // libpq reads a root certificate that is not there only in the modes that verify; the others go on without it.
    if (verifying || existsSync(rootcert)) settings.ca = readCertificate('sslrootcert', rootcert)
  } else {
    const fallback = path.join(home, '.postgresql', 'root.crt')
    if (existsSync(fallback)) settings.ca = readCertificate('sslrootcert', fallback)
    else if (verifying) {
      throw new TlsSettingError(
        'sslrootcert',
        '',
        `sslmode=${mode} verifies the server's certificate, and needs the root certificate it chains to: ` +
          'give sslrootcert=/path/to/root.crt (your provider publishes it), or sslrootcert=system for the ' +
          `system's trusted roots (PostgreSQL 16 clients); libpq would look for ${fallback}, which does not exist`
      )
    }
  }
  // A client certificate: sslcert, else libpq's ~/.postgresql/postgresql.crt; none sent when the file is not
  // there (as libpq). Once there is one, its key must be readable: libpq stops on "certificate present, but not private key".
  const certificate = parameters.sslcert || path.join(home, '.postgresql', 'postgresql.crt')
  if (existsSync(certificate)) {
    settings.cert = readCertificate('sslcert', certificate)
    settings.key = readCertificate('sslkey', parameters.sslkey || path.join(home, '.postgresql', 'postgresql.key'))
  }
  return settings
}

/**
 * How each try of a session connects, in libpq's order: false for a plain session, else the TLS
 * options. disable: plain; allow: plain, then TLS when the server refuses it; prefer: TLS, then
 * plain when the server has no TLS or refuses the TLS session; require and the verify modes: TLS
 * only. A root certificate, when there is one, is verified in every mode but verify-full's host
 * name check, which only verify-full makes (libpq's rule). TLS never runs over a Unix socket.
 */
export function sessionTries(tls: TlsSettings | undefined, host: string): Array<false | ConnectionOptions> {
  const mode = tls?.mode ?? 'prefer'
  if (mode === 'disable' || host.startsWith('/')) return [false]
  const options: ConnectionOptions = {}
  if (tls?.cert) options.cert = tls.cert
  if (tls?.key) options.key = tls.key
  if (mode === 'verify-full') {
    if (tls?.ca) options.ca = tls.ca
  } else if (tls?.ca) {
    options.ca = tls.ca
    options.checkServerIdentity = () => undefined
  } else {
    options.rejectUnauthorized = false
  }
  if (mode === 'allow') return [false, options]
  if (mode === 'prefer') return [options, false]
  return [options]
}

/** A failure that happened before any server answered: another try cannot fare better. */
export function unreachable(error: unknown): boolean {
  const err = error as { code?: string; message?: string } | undefined
  return (
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOENT)$/.test(err?.code ?? '') ||
    /timeout/i.test(err?.message ?? '')
  )
}

/** An error the server itself sent (a SQLSTATE), rather than the network's or the TLS layer's. */
export function fromServer(error: unknown): boolean {
  return /^[0-9A-Z]{5}$/.test((error as { code?: string } | undefined)?.code ?? '')
}
