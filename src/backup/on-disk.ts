// A backup as it is on disk, read once: its size, its checksum (of the manifest, for a folder),
// and what its format's observer saw. The Validate phase judges the result.

import path from 'node:path'
import type { ArchiveHeader } from './archive/archive-header.js'
import { plainIsGzipped, type BackupFormat, type Compression } from './formats.js'
import { headerObserver, inspectFile, plainObserver, tarObserver, type PlainObservation } from './inspect.js'
import { buildManifest, type Manifest } from './archive/manifest.js'
import type { TarReport } from './archive/tar-check.js'
import type { DumpContent } from './dump-content.js'
import type { ScanOptions } from './plain-scanner.js'
import type { GateReport } from './gate/dump-gate.js'

export interface CreatedBackup {
  format: BackupFormat
  compression?: Compression
  /** The file, or the folder of a directory-format backup. */
  path: string
  sizeBytes: number
  /** SHA-256 of the file; of the manifest for a directory-format backup. */
  sha256: string
  plain?: PlainObservation
  tar?: TarReport
  header?: ArchiveHeader | { problem: string }
  manifest?: Manifest
  /** The sequence values the dump sets: from the scan of a plain dump, or of the script pg_restore reads out of an archive. */
  sequences?: Array<{ sequence: string; value: string }>
  /** Each table's rows and each large object's bytes as the dump holds them (verify level data); from the same scans. */
  content?: DumpContent
  /** What the gate made of its statements: of the plain dump, or of the script pg_restore reads out of an archive. */
  gate?: GateReport
}

/**
 * Reads a backup that is on disk once: its checksum (of the manifest, for a folder) and what its
 * format's observer sees. The Validate phase judges the result.
 */
export async function describeBackupOnDisk(
  backupPath: string,
  format: BackupFormat,
  compression?: Compression,
  signal?: AbortSignal,
  scan?: ScanOptions
): Promise<CreatedBackup> {
  const base = { format, compression, path: backupPath }
  switch (format) {
    case 'plain': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, plainObserver(plainIsGzipped(compression), scan), signal)
      return { ...base, sizeBytes, sha256, plain: observed, sequences: observed.sequences, content: observed.content, gate: observed.gate }
    }
    case 'tar': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, tarObserver(), signal)
      return { ...base, sizeBytes, sha256, tar: observed }
    }
    case 'custom': {
      const { sizeBytes, sha256, observed } = await inspectFile(backupPath, headerObserver(), signal)
      return { ...base, sizeBytes, sha256, header: observed }
    }
    case 'directory': {
      const manifest = await buildManifest(backupPath, signal)
      const toc = await inspectFile(path.join(backupPath, 'toc.dat'), headerObserver(), signal).catch(() => undefined)
      return {
        ...base,
        sizeBytes: manifest.sizeBytes,
        sha256: manifest.sha256,
        manifest,
        header: toc?.observed ?? { problem: 'toc.dat is missing' }
      }
    }
  }
}
