// Phase 2: judges the backup without restoring it. Plain dumps were scanned as they were written;
// archives are checked for their header and structure, then pg_restore reads every data block into
// a script that must come out complete. Every child process has a time limit.

import { existsSync } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { ArchiveHeader } from '../backup/archive/archive-header.js'
import { isClusterDump } from '../backup/detect.js'
import { DATA_FILE_SUFFIXES, plainIsGzipped } from '../backup/formats.js'
import { hashFile } from '../backup/file-hash.js'
import { discard, InspectingStream, plainObserver, type PlainObservation } from '../backup/inspect.js'
import { GATE_CHECK, gateCheck, plainDumpChecks, type ValidationCheck } from './plain-checks.js'
import { REFUSED_HINT, UNTRUSTED_CODE_HINT } from '../backup/gate/refusal.js'
import { linesAt } from '../backup/plain/line-numbers.js'
import { VerificationError } from '../run/errors.js'
import { describeBytes } from '../run/bytes.js'
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
function readTimeoutMs(sizeBytes: number): number {
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
  if (backup.format === 'directory') checks.push(await dataFilesCheck(backup, listing.dataIds, listing.blobIds))
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
  // Roles and \connect to other databases are what a cluster dump is made of: its kind is the story.
  if (!scan.hasHeader && (await isClusterDump(backup.path, plainIsGzipped(backup.compression)))) {
    return [
      {
        name: ONE_DATABASE_CHECK,
        passed: false,
        detail: 'a pg_dumpall file: the dump of a whole cluster (its roles and every database), not of one database'
      }
    ]
  }
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

function describeHeader(header: ArchiveHeader, format: string): string {
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
  // pg_restore reads as many entries as the header announces and fails on fewer: an archive that
  // lists none is the dump of an empty database (its settings are in the header), not a cut one.
  return {
    check: {
      name: 'Table of contents',
      passed: true,
      detail:
        entries.length === 0
          ? 'no entries: the dump of an empty database'
          : `${entries.length} entries, ${dataIds.length + blobIds.length} with data`
    },
    dataIds,
    blobIds
  }
}

/**
 * Directory format: every data entry of the table of contents has its file, and every data file is
 * named by an entry. pg_dump writes into an empty folder only, so a data file nothing names was not
 * written with this toc.dat: the folder mixes two dumps (or its toc.dat was replaced), and the rows
 * in that file would never be restored. Files of another kind (notes, a SHA256SUMS) are named as
 * ignored: pg_restore never reads them.
 */
async function dataFilesCheck(backup: CreatedBackup, dataIds: number[], blobIds: number[]): Promise<ValidationCheck> {
  const names = backup.manifest?.entries.map((entry) => entry.name) ?? []
  const present = new Set(names)
  const withSuffixes = (base: string) => DATA_FILE_SUFFIXES.map((suffix) => `${base}${suffix}`)
  const missing = [
    ...dataIds.filter((id) => !withSuffixes(`${id}.dat`).some((name) => present.has(name))).map((id) => `${id}.dat`),
    ...blobIds.filter((id) => !present.has('blobs.toc') && !present.has(`blobs_${id}.toc`)).map(() => 'blobs.toc')
  ]
  const named = new Set(dataIds.flatMap((id) => withSuffixes(`${id}.dat`)))
  for (const id of blobIds) named.add(`blobs_${id}.toc`)
  if (blobIds.length > 0) named.add('blobs.toc')
  // Each large objects' table of contents names its files ("<oid> blob_<oid>.dat"), uncompressed.
  for (const toc of names.filter((name) => /^blobs(?:_\d+)?\.toc$/.test(name) && named.has(name))) {
    const text = await readFile(path.join(backup.path, toc), 'latin1').catch(() => '')
    for (const line of text.split('\n')) {
      const file = /^\d+ (blob_\d+\.dat)$/.exec(line)?.[1]
      if (file) for (const name of withSuffixes(file)) named.add(name)
    }
  }
  const unnamed = names.filter((name) => name !== 'toc.dat' && !named.has(name))
  const cut: string[] = []
  for (const name of names.filter((name) => /^\d+\.dat$/.test(name) && named.has(name))) {
    if (!(await endsAsWritten(path.join(backup.path, name)))) cut.push(name)
  }
  const ignored = backup.manifest?.ignored ?? []
  const aside = ignored.length > 0 ? `; ignored, not part of the backup (pg_restore never reads them): ${listed(ignored)}` : ''
  const total = dataIds.length + blobIds.length
  if (missing.length > 0) return { name: 'Data files', passed: false, detail: `missing data file(s): ${listed(missing)}${aside}` }
  if (cut.length > 0) {
    return {
      name: 'Data files',
      passed: false,
      detail:
        `data file(s) cut short: ${listed(cut)} end without the "\\." line pg_dump ends a table's rows with; ` +
        `the rows after the cut are lost, and the restore would read the next statements as rows${aside}`
    }
  }
  if (unnamed.length > 0) {
    return {
      name: 'Data files',
      passed: false,
      detail:
        `data file(s) no entry of toc.dat names: ${listed(unnamed)}; pg_dump writes into an empty folder, so these come from ` +
        `another dump (the folder mixes two, or its toc.dat was replaced) and their rows would not be restored${aside}`
    }
  }
  return { name: 'Data files', passed: true, detail: `${total} data files, all present${aside}` }
}

/**
 * An uncompressed table data file as pg_dump ends it: COPY rows end with a "\\." line (a compressed
 * file's own end is checked as pg_restore decompresses it). A file of INSERT statements (pg_dump
 * --inserts) has no such line; it starts with INSERT, or is empty for an empty table.
 */
async function endsAsWritten(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined)
  if (!handle) return false
  try {
    const { size } = await handle.stat()
    if (size === 0) return true
    const head = Buffer.alloc(Math.min(size, 12))
    await handle.read(head, 0, head.length, 0)
    if (head.toString('latin1').startsWith('INSERT INTO ')) return true
    const tail = Buffer.alloc(Math.min(size, 16))
    await handle.read(tail, 0, tail.length, size - tail.length)
    return /(?:^|\n)\\\.\n+$/.test(tail.toString('latin1'))
  } finally {
    await handle.close()
  }
}

function listed(names: string[]): string {
  return `${names.slice(0, 10).join(', ')}${names.length > 10 ? `, and ${names.length - 10} more` : ''}`
}

/**
 * pg_restore turns the whole archive into a script: it must read (and decompress) every block, so
 * truncation and corrupt blocks surface here, and the script must come out complete.
 */
async function fullReadCheck(run: RunContext, backup: CreatedBackup, request: ValidateRequest): Promise<ValidationCheck> {
  const reader = new InspectingStream(plainObserver(false, { content: request.content === true, archive: true }))
  // The script pg_restore writes has no size known in advance: how much so far.
  const stopHeartbeat = startHeartbeat(run, 'pg_restore reading the archive', { done: () => reader.bytesSoFar })
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

/** The check a pg_dumpall file fails: this verifies the backup of one database. */
const ONE_DATABASE_CHECK = 'One database'

/** The check a backup made elsewhere fails when it is smaller than min-size. */
const MIN_SIZE_CHECK = 'Minimum size'

/**
 * min-size held against a backup made elsewhere: the dump of an empty database, or of one whose
 * migrations never ran, is a few hundred bytes in every format but tar.
 */
export function minSizeCheck(sizeBytes: number, minSizeBytes: number): ValidationCheck {
  const passed = sizeBytes >= minSizeBytes
  return {
    name: MIN_SIZE_CHECK,
    passed,
    detail: passed
      ? `${describeBytes(sizeBytes)}, at least min-size (${describeBytes(minSizeBytes)})`
      : `${describeBytes(sizeBytes)}, under min-size (${describeBytes(minSizeBytes)}) by ${describeBytes(minSizeBytes - sizeBytes)}`
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
  if (failed.some((check) => check.name === ONE_DATABASE_CHECK)) {
    throw new VerificationError(
      'backup-invalid',
      `Backup (${format} format) is a pg_dumpall (cluster) dump, which is not supported: it holds the roles and every ` +
        'database of a server, and a verification restores one database into a temporary one.',
      'Verify each database on its own: dump it with pg_dump (pg_dump --format=custom --file=app.dump app) and give that ' +
        'file as backup-file, or give the database as database-url and let the run make the dump. The roles and ' +
        'tablespaces alone come from pg_dumpall --globals-only.'
    )
  }
  // A sound backup that is only small: the size is the story, and the way out is min-size.
  if (failed.every((check) => check.name === MIN_SIZE_CHECK)) {
    throw new VerificationError(
      'backup-too-small',
      `Backup (${format} format) is suspiciously small: ${failed[0].detail}; set min-size: 0 if a backup this small is expected`,
      'Is this the backup of the database you meant? The dump of an empty database, or of one whose migrations never ran, is this ' +
        'small. If it is expected (a new or empty database), set min-size: 0, or lower min-size to what the backup should at least be.'
    )
  }
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
