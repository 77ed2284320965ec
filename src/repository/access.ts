// One repository as a run sees it, whichever tool keeps it: its backups, the tool's own check of
// one, the backup's identity, and its restore into a folder of the run's with the WAL's way back.

import type { RepositoryBackup } from './repository-backup.js'
import type { RepositoryTool } from './repository-tool.js'

/** How the copy's recovery reaches the WAL it does not hold: a command, or a folder the restore filled. */
interface WalSource {
  restoreCommand?: string
  walArchive?: string
}

export interface RepositoryAccess {
  tool: RepositoryTool
  /** pgBackRest's stanza, Barman's server. */
  name: string
  /** For messages: "pgBackRest stanza main (/etc/pgbackrest/pgbackrest.conf)". */
  where: string
  backups(): Promise<RepositoryBackup[]>
  /** The tool's own check of the backup and its WAL, when asked for; serverBinaries: the folder of the backup's major's binaries. */
  check?(backup: RepositoryBackup, serverBinaries: string): Promise<{ passed: boolean; detail: string }>
  /** A SHA-256 that names the backup's content (its manifest): the checksum output and the receipt's. */
  identity(backup: RepositoryBackup): Promise<string>
  /** Restores the backup's files into dataDirectory (empty); privateFolder is the server's own (0700). */
  restore(backup: RepositoryBackup, dataDirectory: string, privateFolder: string): Promise<WalSource>
}
