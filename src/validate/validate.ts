// Phase 2: judges the backup without restoring it. Plain dumps were scanned as they were written;
// archives are checked for their header and structure, then pg_restore reads every data block into
// a script that must come out complete. Every child process has a time limit.

import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { ArchiveHeader } from '../backup/archive-header.js'
import { plainIsGzipped } from '../backup/formats.js'
import { discard, hashFile, InspectingStream, plainObserver, type PlainObservation } from '../backup/inspect.js'
import { GATE_CHECK, gateCheck, plainDumpChecks, type ValidationCheck } from './plain-checks.js'
import { REFUSED_HINT, UNTRUSTED_CODE_HINT } from '../backup/gate/refusal.js'
import { linesAt } from '../backup/line-numbers.js'
import { VerificationError } from '../run/errors.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { errorLines, runTool } from '../tools/process.js'
import type { RunContext } from '../run/context.js'
import type { ClientTools } from '../tools/locate.js'
import type { CreatedBackup } from '../backup/on-disk.js'

export interface ValidateRequest {
  tools: ClientTools
  /** The client tools' environment (pg_restore reads the archive; it connects nowhere). */
  env: NodeJS.ProcessEnv
  /** A streamed restore: once it has read the whole file, the file is read again and must still have its SHA-256. */
  rehashAfter?: Promise<void>
  /** Archives: fingerprint the rows of the script pg_restore reads out (verify level data). */
  content?: boolean
}

/** Enough for any sane disk: two minutes, plus a second for every 2 MB. */
export function readTimeoutMs(sizeBytes: number): number {
  return 120_000 + Math.ceil(sizeBytes / 2_000_000) * 1000
}

export async function validateBackup(run: RunContext, backup: CreatedBackup, request: ValidateRequest): Promise<ValidationCheck[]> {
  if (backup.format === 'plain') return validatePlain(backup, request.rehashAfter, run.signal)
  const checks: ValidationCheck[] = []
  checks.push(headerCheck(backup))
  if (backup.format === 'tar' && backup.tar) {
    checks.push({
      name: 'Tar structure',
      passed: backup.tar.problem === undefined,
      detail: backup.tar.problem ?? `${backup.tar.members.length} members, checksums valid, properly ended`
    })
  }
  // pg_restore can loop forever on a broken tar archive, and has nothing to say about a bad header.
  if (checks.some((check) => !check.passed)) return checks
  const listing = await listArchive(run, backup.path, request)
  checks.push(listing.check)
  if (!listing.check.passed) return checks
  if (backup.format === 'directory') checks.push(dataFilesCheck(backup, listing.dataIds, listing.blobIds))
  checks.push(await fullReadCheck(run, backup, request))
  if (backup.gate) checks.push(gateCheck(backup.gate))
  checks.push(await sizeOnDiskCheck(backup))
  return checks
}

async function validatePlain(
  backup: CreatedBackup,
  rehashAfter: Promise<void> | undefined,
  signal?: AbortSignal
): Promise<ValidationCheck[]> {
  const scan = backup.plain as PlainObservation
  const checks: ValidationCheck[] = []
  // What the gate names is named by its line: counted only then, by reading the file again.
  const offsets = [...scan.gate.refused, ...scan.gate.untrustedCode].map((item) => item.offset)
  const lines =
    offsets.length > 0 ? await linesAt(backup.path, plainIsGzipped(backup.compression), offsets, signal).catch(() => undefined) : undefined
  if (plainIsGzipped(backup.compression)) {
    checks.push({
      name: 'Compressed stream',
      passed: scan.decompressError === undefined,
      detail:
        scan.decompressError === undefined
          ? `gzip, ${scan.bytes} bytes of SQL inside`
          : `the gzip stream is corrupt: ${scan.decompressError}`
    })
  }
  if (lines) for (const item of [...scan.gate.refused, ...scan.gate.untrustedCode]) item.line = lines.get(item.offset)
  checks.push(...plainDumpChecks(scan))
  // A backup that is not valid stops the streamed restore at once; a valid one is read again after it.
  if (rehashAfter && checks.every((check) => check.passed)) {
    await rehashAfter
    checks.push(await fileOnDiskCheck(backup, signal))
  } else {
    checks.push(await sizeOnDiskCheck(backup))
  }
  return checks
}

function headerCheck(backup: CreatedBackup): ValidationCheck {
  const header = backup.header
  const name = backup.format === 'custom' ? 'Format signature' : 'Archive header (toc.dat)'
  if (backup.format === 'tar') {
    // The tar's toc.dat is inside the archive: the listing reads it.
    return {
      name: 'Format signature',
      passed: backup.tar?.members[0] === 'toc.dat',
      detail:
        backup.tar?.members[0] === 'toc.dat'
          ? 'tar archive whose first member is toc.dat'
          : 'not a pg_dump tar archive (its first member is not toc.dat)'
    }
  }
  if (!header || 'problem' in header) return { name, passed: false, detail: header?.problem ?? 'no header read' }
  // pg_dump writes the code of the tar format into a directory archive's toc.dat too.
  const accepted = backup.format === 'custom' ? ['custom'] : ['tar', 'directory']
  const ok = accepted.includes(header.format)
  return {
    name,
    passed: ok,
    detail: ok
      ? describeHeader(header, backup.format)
      : `the header says ${header.format} format, but this is a ${backup.format} backup: the header is damaged`
  }
}

export function describeHeader(header: ArchiveHeader, format: string): string {
  const by = header.dumpVersion ? `, pg_dump ${header.dumpVersion}` : ''
  const from = header.serverVersion ? ` of server ${header.serverVersion}` : ''
  return `PGDMP archive ${header.archiveVersion} (${format}, compression ${header.compression}${by}${from})`
}

interface Listing {
  check: ValidationCheck
  /** Dump ids of the entries that carry table data, each in a file of its own in a directory archive. */
  dataIds: number[]
  /** Dump ids of the entries holding large objects' data, listed in blobs.toc (blobs_<id>.toc since 17). */
  blobIds: number[]
}

async function listArchive(run: RunContext, archive: string, request: ValidateRequest): Promise<Listing> {
  const listed = await runTool(request.tools.pgRestore, ['--list', archive], { env: request.env, timeoutMs: 120_000, signal: run.signal })
  if (listed.exitCode !== 0) {
    const why =
      errorLines(run.redactor.redact(listed.stderr)).join(' | ') ||
      (listed.signal ? `stopped by ${listed.signal} (time limit)` : `exit code ${listed.exitCode}`)
    return {
      check: { name: 'Table of contents', passed: false, detail: `pg_restore --list cannot read it: ${why}` },
      dataIds: [],
      blobIds: []
    }
  }
  const entries = listed.stdout.split('\n').filter((line) => /^\d+;/.test(line))
  const idsOf = (pattern: RegExp) => entries.filter((line) => pattern.test(line)).map((line) => Number(line.split(';')[0]))
  const dataIds = idsOf(/^\d+;\s*\d+\s+\d+\s+TABLE DATA\b/)
  const blobIds = idsOf(/^\d+;\s*\d+\s+\d+\s+BLOBS\b/)
  return {
    check: {
      name: 'Table of contents',
      passed: entries.length > 0,
      detail: `${entries.length} entries, ${dataIds.length + blobIds.length} with data`
    },
    dataIds,
    blobIds
  }
}

/** Directory format: every data entry of the table of contents has its file. */
function dataFilesCheck(backup: CreatedBackup, dataIds: number[], blobIds: number[]): ValidationCheck {
  const names = new Set(backup.manifest?.entries.map((entry) => entry.name))
  const missing = [
    ...dataIds
      .filter((id) => ![`${id}.dat`, `${id}.dat.gz`, `${id}.dat.lz4`, `${id}.dat.zst`].some((name) => names.has(name)))
      .map((id) => `${id}.dat`),
    ...blobIds.filter((id) => !names.has('blobs.toc') && !names.has(`blobs_${id}.toc`)).map(() => 'blobs.toc')
  ]
  const total = dataIds.length + blobIds.length
  return {
    name: 'Data files',
    passed: missing.length === 0,
    detail: missing.length === 0 ? `${total} data files, all present` : `missing data file(s): ${missing.slice(0, 10).join(', ')}`
  }
}

/**
 * pg_restore turns the whole archive into a script: it must read (and decompress) every block, so
 * truncation and corrupt blocks surface here, and the script must come out complete.
 */
async function fullReadCheck(run: RunContext, backup: CreatedBackup, request: ValidateRequest): Promise<ValidationCheck> {
  const reader = new InspectingStream(plainObserver(false, { content: request.content === true, archive: true }))
  const stopHeartbeat = startHeartbeat('pg_restore reading the archive', run.log, () => reader.bytesSoFar, run.heartbeatMs)
  // --verbose numbers each entry in the script ("-- TOC entry 215"): the gate names what it refuses by it.
  const read = await runTool(request.tools.pgRestore, ['--verbose', '--file=-', backup.path], {
    env: request.env,
    signal: run.signal,
    timeoutMs: readTimeoutMs(backup.sizeBytes),
    consumeStdout: (stdout) => pipeline(stdout, reader, discard())
  }).finally(stopHeartbeat)
  const scan = read.exitCode === 0 ? reader.result().observed : undefined
  const complete = scan !== undefined && scan.hasHeader && scan.hasTrailer && scan.unterminatedCopy === undefined
  if (read.exitCode === 0 && complete) {
    backup.sequences = scan.sequences
    backup.content = scan.content
    backup.gate = scan.gate
    return {
      name: 'Every block reads',
      passed: true,
      detail: `pg_restore read all data: a complete ${scan.bytes}-byte script, ${scan.copyBlocks} data blocks`
    }
  }
  const why =
    read.exitCode !== 0
      ? errorLines(run.redactor.redact(read.stderr)).join(' | ') ||
        (read.signal ? `stopped by ${read.signal} (time limit)` : `exit code ${read.exitCode}`)
      : 'the script it produced is incomplete'
  return { name: 'Every block reads', passed: false, detail: `pg_restore cannot read the whole ${backup.format} archive: ${why}` }
}

/** The file read back whole: what a streamed restore consumed must be exactly what is on disk. */
async function fileOnDiskCheck(backup: CreatedBackup, signal?: AbortSignal): Promise<ValidationCheck> {
  signal?.throwIfAborted()
  const onDisk = await hashFile(backup.path, signal).catch(() => undefined)
  signal?.throwIfAborted()
  const ok = onDisk === backup.sha256
  return {
    name: 'File on disk',
    passed: ok,
    detail: ok
      ? 'read again once the restore had read it: the same SHA-256 as pg_dump wrote and the restore read'
      : `the file on disk ${onDisk ? `has SHA-256 ${onDisk}` : 'cannot be read'}, but pg_dump wrote ${backup.sha256}: the backup changed after the dump`
  }
}

async function sizeOnDiskCheck(backup: CreatedBackup): Promise<ValidationCheck> {
  const onDisk =
    backup.format === 'directory'
      ? (
          await Promise.all(
            (backup.manifest?.entries ?? []).map((entry) =>
              stat(path.join(backup.path, entry.name)).then(
                (s) => s.size,
                () => -1
              )
            )
          )
        ).reduce((a, b) => a + b, 0)
      : await stat(backup.path).then(
          (s) => s.size,
          () => -1
        )
  const ok = onDisk === backup.sizeBytes && (backup.format !== 'directory' || existsSync(path.join(backup.path, 'toc.dat')))
  return {
    name: 'Size on disk',
    passed: ok,
    detail: ok
      ? `${onDisk} bytes, as written`
      : `${onDisk} bytes on disk, but ${backup.sizeBytes} were written: the backup changed after the dump`
  }
}

/** The check an untrusted backup fails when it holds code for the server's host. */
export const UNTRUSTED_CODE_CHECK = "Code for the server's host"

/** Throws when any check failed, naming the format and every failed check. */
export function requirePassed(checks: ValidationCheck[], format: string = 'plain'): void {
  const failed = checks.filter((check) => !check.passed)
  if (failed.length === 0) return
  // A damaged dump's debris reads as statements the gate refuses: the damage is the story then.
  const gateOnly = failed.every((check) => check.name === GATE_CHECK || check.name === UNTRUSTED_CODE_CHECK)
  const refused = failed.find((check) => check.name === GATE_CHECK || check.name === UNTRUSTED_CODE_CHECK)
  if (refused && gateOnly) {
    throw new VerificationError(
      'backup-refused',
      `Backup (${format} format) refused: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`,
      refused.name === GATE_CHECK ? REFUSED_HINT : UNTRUSTED_CODE_HINT
    )
  }
  throw new VerificationError(
    'backup-invalid',
    `Backup (${format} format) failed validation: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`,
    'A truncated or corrupted dump usually means pg_dump was interrupted or the disk filled up; run with verbose: true to see its output.'
  )
}
