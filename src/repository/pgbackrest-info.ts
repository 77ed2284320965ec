// What `pgbackrest info --output=json` says of one stanza: whether the repository could be read,
// its backups in the shape both repositories share, and the WAL its archive holds.

import { VerificationError } from '../run/errors.js'
import type { RepositoryBackup } from './repository-backup.js'

/** The parts of pgBackRest's info JSON read here (https://pgbackrest.org/command.html#command-info). */
interface InfoStanza {
  name?: string
  status?: { code?: number; message?: string }
  db?: Array<{ id?: number; version?: string; 'system-id'?: number }>
  archive?: Array<{ id?: string; min?: string | null; max?: string | null; database?: { id?: number } }>
  backup?: Array<{
    label?: string
    type?: string
    prior?: string | null
    error?: boolean
    timestamp?: { start?: number; stop?: number }
    info?: { size?: number; repository?: { size?: number; delta?: number } }
    archive?: { start?: string | null; stop?: string | null }
    lsn?: { start?: string; stop?: string }
    database?: { id?: number }
  }>
}

export interface StanzaInfo {
  stanza: string
  backups: RepositoryBackup[]
  /** The archive's first and last segment, per database (archive id 15-1, ...). */
  archives: Array<{ id: string; min?: string; max?: string }>
}

/** pgBackRest's stanza status codes that mean the stanza cannot be used, in the user's terms. */
const UNUSABLE: Record<number, string> = {
  1: 'the stanza is not in the repository (missing stanza path)',
  3: "the stanza's info files are missing from the repository (missing stanza data)",
  4: 'the repositories disagree about the stanza',
  5: "the stanza's database does not match its archive (database mismatch)",
  99: "pgBackRest could not read the stanza's info (other error): a wrong passphrase (PGBACKREST_REPO1_CIPHER_PASS) reads as garbage"
}

export function parseStanzaInfo(text: string, stanza: string, where: string): StanzaInfo {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new VerificationError(
      'repository-unreadable',
      `pgbackrest info did not print JSON for stanza ${stanza} in ${where}: ${text.slice(0, 200)}`
    )
  }
  const entry = (Array.isArray(parsed) ? (parsed as InfoStanza[]) : []).find((item) => item.name === stanza)
  const code = entry?.status?.code
  if (!entry || (code !== undefined && code in UNUSABLE)) {
    throw new VerificationError(
      'repository-unreadable',
      `pgBackRest stanza ${stanza} cannot be verified: ${entry ? UNUSABLE[code!] : 'pgbackrest info does not list it'} (${where}).`,
      'Check pgbackrest-stanza against the [stanza] sections of the configuration (pgbackrest-config), and that the runner reads the repository the backups go to.'
    )
  }
  const versions = new Map((entry.db ?? []).map((db) => [db.id, Number.parseInt(db.version ?? '', 10)]))
  const archiveOf = new Map((entry.archive ?? []).map((archive) => [archive.database?.id, archive.id]))
  const backups = (entry.backup ?? [])
    .filter((backup) => backup.label && backup.timestamp?.start !== undefined && backup.timestamp?.stop !== undefined)
    .map((backup): RepositoryBackup => ({
      label: backup.label!,
      type: backup.type ?? 'full',
      startedAt: new Date(backup.timestamp!.start! * 1000),
      stoppedAt: new Date(backup.timestamp!.stop! * 1000),
      sizeBytes: backup.info?.size,
      repositoryBytes: backup.info?.repository?.delta ?? backup.info?.repository?.size,
      wal: { start: backup.archive?.start ?? undefined, stop: backup.archive?.stop ?? undefined },
      lsn: { start: backup.lsn?.start, stop: backup.lsn?.stop },
      major: versions.get(backup.database?.id) ?? Number.NaN,
      prior: backup.prior ?? undefined,
      archiveId: archiveOf.get(backup.database?.id),
      error: backup.error ? 'pgBackRest found page checksum errors while copying it (info: error)' : undefined
    }))
  const archives = (entry.archive ?? [])
    .filter((archive) => archive.id)
    .map((archive) => ({ id: archive.id!, min: archive.min ?? undefined, max: archive.max ?? undefined }))
  return { stanza, backups, archives }
}
