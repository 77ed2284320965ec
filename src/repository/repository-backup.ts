// A backup as a repository lists it (pgBackRest's info, Barman's list-backups), in one shape for
// both: which one a run verifies, and the facts a DR review asks of it (its type, its time, its WAL).

import { VerificationError } from '../run/errors.js'

export interface RepositoryBackup {
  /** pgBackRest's label (20261201-101500F, ..._20261201-111500I), Barman's backup id. */
  label: string
  /** full, diff or incr (pgBackRest); full for Barman's own base backups, incremental for its rsync ones. */
  type: string
  startedAt: Date
  stoppedAt: Date
  /** The database's size as backed up, and what it takes in the repository (compressed, deduplicated). */
  sizeBytes?: number
  repositoryBytes?: number
  /** The WAL the backup needs to be consistent: its first and last segment. */
  wal: { start?: string; stop?: string }
  lsn: { start?: string; stop?: string }
  /** The PostgreSQL major of the cluster backed up. */
  major: number
  /** The backup a diff or incr one depends on. */
  prior?: string
  /** pgBackRest: the archive its WAL is kept in (15-1). */
  archiveId?: string
  /** The tool's own mark of a backup it found faulty (pgBackRest: a page checksum error while copying). */
  error?: string
}

/**
 * The backup a run verifies: the one named (backup-set); else the newest, or with a recovery target
 * time the newest that ended before it (recovery only rolls forward). A name the repository lacks
 * fails, listing what it has.
 */
export function chooseBackup(backups: RepositoryBackup[], wanted: string | undefined, where: string, before?: Date): RepositoryBackup {
  if (backups.length === 0) {
    throw new VerificationError(
      'backup-missing',
      `${where} holds no backup.`,
      'Take one first (pgbackrest backup, barman backup), or check that the runner reads the repository the backups go to.'
    )
  }
  const byEnd = [...backups].sort((a, b) => a.stoppedAt.getTime() - b.stoppedAt.getTime())
  const newest = byEnd.at(-1)!
  if (wanted === undefined && before !== undefined) {
    const usable = byEnd.filter((backup) => backup.stoppedAt.getTime() <= before.getTime()).at(-1)
    if (usable) return usable
    throw new VerificationError(
      'backup-missing',
      `${where} has no backup that ended before the recovery target time ${before.toISOString()}: the oldest ended at ${byEnd[0].stoppedAt.toISOString()}.`,
      'Set a later recovery-target-time, or name a backup in backup-set.'
    )
  }
  if (wanted === undefined) return newest
  const found = backups.find((backup) => backup.label === wanted)
  if (found) return found
  const labels = backups.map((backup) => backup.label)
  throw new VerificationError(
    'backup-missing',
    `${where} has no backup ${wanted}; it has ${labels.length} backup(s): ${labels.slice(-10).join(', ')}${labels.length > 10 ? ', ...' : ''}.`,
    `Set backup-set to one of them, or leave it empty for the newest (${newest.label}).`
  )
}
