// pg_basebackup as the Create phase of a physical verification runs it: tar format, the WAL streamed,
// a fast checkpoint, a SHA-256 manifest, client-side compression; its failures in the user's terms.

import { mkdir } from 'node:fs/promises'
import { VerificationError } from '../run/errors.js'
import type { RunContext } from '../run/context.js'
import { runTool } from '../tools/process.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { toolPath, type ClientTools } from '../tools/locate.js'
import type { Compression } from '../backup/formats.js'

/** pg_basebackup's compression argument for its major (15 and later name a method; older ones gzip levels only). */
function basebackupCompression(compression: Compression | undefined, major: number): string[] {
  if (!compression || compression.method === 'none') return []
  if (major >= 15) return [`--compress=client-${compression.method}${compression.level === undefined ? '' : `:${compression.level}`}`]
  if (compression.method === 'gzip') return ['-z', ...(compression.level === undefined ? [] : [`--compress=${compression.level}`])]
  throw new VerificationError(
    'bad-input',
    `compression ${compression.method} needs pg_basebackup 15 or newer; the client here is ${major}.`,
    'Use gzip (or a level 0-9), or a newer client (postgres-version).'
  )
}

/** A line of pg_basebackup --progress: "2048/40960 kB (5%), 0/1 tablespace". */
const PROGRESS = /^\s*(\d+)\/(\d+) kB \(\d+%\)/
/** How many of pg_basebackup's other stderr lines a failure is told from. */
const SAID_LINES = 40

/** Writes a base backup of the server the environment names (PGHOST, PGPASSFILE, ...) into `folder`, made here (0700). */
export async function runBasebackup(
  run: RunContext,
  options: { tools: ClientTools; env: NodeJS.ProcessEnv; folder: string; compression?: Compression; verbose: boolean }
): Promise<void> {
  const { tools, folder } = options
  await mkdir(folder, { recursive: true, mode: 0o700 })
  const args = [
    ...['-D', folder, '-F', 't', '-X', 'stream', '-c', 'fast', '--manifest-checksums=SHA256', '--no-password', '--progress'],
    ...basebackupCompression(options.compression, tools.version.major)
  ]
  run.log(`Running pg_basebackup ${args.filter((arg) => arg !== folder).join(' ')}`)
  // pg_basebackup's own count (--progress): kB sent of the server's estimate of the whole.
  const sent = { done: 0, total: 0 }
  const said: string[] = []
  const stopHeartbeat = startHeartbeat(run, 'pg_basebackup', { done: () => sent.done, total: () => sent.total || undefined })
  const done = await runTool(toolPath(tools.directory, 'pg_basebackup', process.platform), args, {
    env: options.env,
    signal: run.signal,
    onLine: options.verbose ? (line) => PROGRESS.test(line) || run.log(line) : undefined,
    onErrorLine: (line) => {
      const counted = PROGRESS.exec(line)
      if (counted) Object.assign(sent, { done: Number(counted[1]) * 1024, total: Number(counted[2]) * 1024 })
      // What pg_basebackup said besides its count, the last lines kept: a long backup's progress
      // lines would fill the head of stderr that runTool keeps, and hide an error at its end.
      else if (line.trim() !== '') said.splice(0, Math.max(0, said.push(line) - SAID_LINES))
    }
  }).finally(stopHeartbeat)
  if (done.exitCode !== 0) throw basebackupFailure(run.redactor.redact(said.join('\n')), done.exitCode)
}

/** pg_basebackup's failure in the user's terms: a role that may not replicate, pg_hba.conf refusing replication. */
function basebackupFailure(stderr: string, code: number | null): VerificationError {
  const said = stderr
    .split(/\r?\n|\r/)
    .filter((line) => !PROGRESS.test(line))
    .map((line) => line.replace(/^pg_basebackup: (error: )?/, '').trim())
    .filter(Boolean)
    .slice(-4)
    .join(' | ')
  if (/must be superuser or replication role|permission denied to start WAL sender|must have the REPLICATION attribute/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup was refused: the role may not replicate (${said}).`,
      'Grant it: ALTER ROLE <role> WITH REPLICATION; (or use a role that has it). A base backup is taken over a replication connection.'
    )
  }
  if (/no pg_hba\.conf entry for replication connection/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup was refused: the server's pg_hba.conf has no entry for a replication connection (${said}).`,
      'Add one, e.g. "host replication <role> <runner address>/32 scram-sha-256", then reload the server (SELECT pg_reload_conf()).'
    )
  }
  if (/number of requested standby connections exceeds max_wal_senders|max_wal_senders/i.test(stderr)) {
    return new VerificationError(
      'permission-denied',
      `pg_basebackup could not get a WAL sender: ${said}`,
      'Raise max_wal_senders on the server (it needs 2 for -X stream).'
    )
  }
  return new VerificationError('dump-failed', `pg_basebackup exited with code ${code}: ${said || 'no error message'}`)
}
