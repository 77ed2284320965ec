// The backup formats pg_dump writes, their compression, and how each is named on disk.

import { InputError } from '../run/errors.js'

export type BackupFormat = 'plain' | 'custom' | 'directory' | 'tar'
const FORMATS: BackupFormat[] = ['plain', 'custom', 'directory', 'tar']

type CompressionMethod = 'none' | 'gzip' | 'lz4' | 'zstd'

export interface Compression {
  method: CompressionMethod
  level?: number
}

const COMPRESSION_FORMS =
  'a level 0-9 (gzip), or gzip, lz4 or zstd with an optional level (gzip:9, zstd:3), or none; lz4 and zstd need pg_dump 16 or newer'

export function parseFormat(input: string, text: string): BackupFormat {
  const value = text.trim().toLowerCase() || 'plain'
  const aliases: Record<string, BackupFormat> = { p: 'plain', c: 'custom', d: 'directory', t: 'tar' }
  const format = aliases[value] ?? value
  if ((FORMATS as string[]).includes(format)) return format as BackupFormat
  throw new InputError(input, text, FORMATS.join(', '))
}

/** Undefined when no compression was asked for: then each format keeps pg_dump's default. */
export function parseCompression(input: string, text: string, format: BackupFormat): Compression | undefined {
  const value = text.trim().toLowerCase()
  if (value === '') return undefined
  let compression: Compression | undefined
  if (/^\d$/.test(value)) compression = Number(value) === 0 ? { method: 'none' } : { method: 'gzip', level: Number(value) }
  else {
    const match = /^(none|gzip|lz4|zstd)(?::(\d{1,2}))?$/.exec(value)
    if (match) compression = { method: match[1] as CompressionMethod, level: match[2] === undefined ? undefined : Number(match[2]) }
  }
  if (!compression) throw new InputError(input, text, COMPRESSION_FORMS)
  const max = { none: 0, gzip: 9, lz4: 12, zstd: 22 }[compression.method]
  const min = compression.method === 'none' ? 0 : 1
  if (compression.level !== undefined && (compression.level < min || compression.level > max)) {
    throw new InputError(input, text, COMPRESSION_FORMS)
  }
  if (format === 'tar' && compression.method !== 'none') {
    throw new InputError(input, text, 'none: pg_dump cannot compress the tar format (use custom or directory)')
  }
  if (format === 'plain' && (compression.method === 'lz4' || compression.method === 'zstd')) {
    throw new InputError(
      input,
      text,
      'gzip or a level 0-9 for a plain backup, which is validated as it streams (use custom or directory for lz4 and zstd)'
    )
  }
  return compression
}

/** The -Z argument for a pg_dump of the given major, or an error naming what that client lacks. */
export function compressionArgument(compression: Compression, clientMajor: number): string {
  if (clientMajor >= 16) {
    return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`
  }
  if (compression.method === 'none') return '0'
  if (compression.method === 'gzip') return String(compression.level ?? 6)
  throw new InputError(
    'compression',
    `${compression.method}${compression.level === undefined ? '' : `:${compression.level}`}`,
    `gzip or a level 0-9: pg_dump ${clientMajor} knows no ${compression.method} (it needs 16 or newer)`
  )
}

export function describeCompression(compression: Compression | undefined, format: BackupFormat): string {
  if (!compression) return format === 'custom' || format === 'directory' ? 'gzip (pg_dump default)' : 'none'
  if (compression.method === 'none') return 'none'
  return compression.level === undefined ? compression.method : `${compression.method} level ${compression.level}`
}

/** Whether a plain backup's bytes are gzip: a plain dump with any level but 0. */
export function plainIsGzipped(compression: Compression | undefined): boolean {
  return compression !== undefined && compression.method === 'gzip'
}

/** What restores in parallel: pg_restore -j for custom and directory, psql sessions for an uncompressed plain dump. */
export function restoreJobs(format: BackupFormat, compression: Compression | undefined, jobs: number): number {
  if (format === 'custom' || format === 'directory') return jobs
  return format === 'plain' && !plainIsGzipped(compression) ? jobs : 1
}

export function backupExtension(format: BackupFormat, compression: Compression | undefined): string {
  switch (format) {
    case 'plain':
      return plainIsGzipped(compression) ? '.sql.gz' : '.sql'
    case 'custom':
      return '.dump'
    case 'tar':
      return '.tar'
    case 'directory':
      return '.dir'
  }
}

/** The endings pg_dump gives a directory backup's data files: none, or its compression's. */
export const DATA_FILE_SUFFIXES = ['', '.gz', '.lz4', '.zst']

/**
 * Whether a file in a directory-format backup is one pg_dump writes, which pg_restore may read:
 * toc.dat, a table's data (`<id>.dat`), a large objects' table of contents (`blobs.toc`,
 * `blobs_<id>.toc` since 17) or one large object (`blob_<oid>.dat`), the data compressed or not.
 * Any other file (a notes file, a SHA256SUMS) is not part of the backup.
 */
export function isArchiveFile(name: string): boolean {
  return name === 'toc.dat' || /^(?:\d+|blob_\d+)\.dat(?:\.gz|\.lz4|\.zst)?$/.test(name) || /^blobs(?:_\d+)?\.toc$/.test(name)
}
