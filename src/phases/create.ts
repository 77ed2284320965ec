// Phase 1: pg_dump writes a plain SQL backup; its bytes are hashed and scanned on their way to disk.

import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { InspectingStream, type Inspection } from '../backup/inspect.js'
import { describeBytes } from '../config/size.js'
import { classifyToolError, VerificationError } from '../errors.js'
import { errorLines, runTool } from '../postgres/process.js'
import type { Redactor } from '../secrets.js'
import type { ClientTools } from '../tools/locate.js'

export interface CreateOptions {
  tools: ClientTools
  /** Environment for the client tools (connection via PG* variables and PGPASSFILE). */
  env: NodeJS.ProcessEnv
  backupFile: string
  minSizeBytes: number
  verbose: boolean
  log: (line: string) => void
  redactor: Redactor
}

/** "shop-20261124T020316Z.sql": the database name made safe for any file system, and when. */
export function backupFileName(database: string, when: Date): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${database.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_')}-${stamp}.sql`
}

export async function createBackup(options: CreateOptions): Promise<Inspection> {
  const inspector = new InspectingStream()
  const args = ['--format=plain', '--no-password', ...(options.verbose ? ['--verbose'] : [])]
  const run = await runTool(options.tools.pgDump, args, {
    env: options.env,
    consumeStdout: (stdout) => pipeline(stdout, inspector, createWriteStream(options.backupFile, { mode: 0o600 })),
    onLine: options.verbose ? (line) => options.log(options.redactor.redact(line)) : undefined
  })
  if (run.exitCode !== 0) {
    const lines = errorLines(options.redactor.redact(run.stderr))
    const known = classifyToolError(run.stderr)
    const how = run.signal ? `was stopped by ${run.signal}` : `exited with code ${run.exitCode}`
    throw new VerificationError(known?.problem ?? 'dump-failed', `pg_dump ${how}: ${lines.join(' | ') || 'no error message'}`, known?.hint)
  }
  const inspection = inspector.result()
  if (inspection.sizeBytes < options.minSizeBytes) {
    throw new VerificationError(
      'backup-too-small',
      `Backup file is suspiciously small: ${inspection.sizeBytes} bytes (minimum ${options.minSizeBytes})`,
      'Is the database empty, or have the migrations not run yet? Lower min-size if a small database is expected.'
    )
  }
  options.log(`Backup written: ${describeBytes(inspection.sizeBytes)}, SHA-256 ${inspection.sha256}`)
  return inspection
}
