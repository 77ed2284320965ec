// The run's temporary folder: the backup a new run makes, the password files the tools read, and
// downloaded tools on their way to the cache. Removed at the end, whole, or (keep-backup) all of it
// but the backup, the password files first of all.

import path from 'node:path'
import { rmRF } from '@actions/io'
import { removePasswordFile, writePasswordFile } from '../connection/environment.js'
import type { RunContext } from '../run/context.js'
import { makeTemporaryFolder } from '../run/temporary-folder.js'

export class Workspace {
  private readonly passwordFiles: string[] = []

  private constructor(readonly folder: string) {}

  static async create(run: RunContext, tempRoot: string | undefined): Promise<Workspace> {
    const folder = await makeTemporaryFolder('backup-verify-', tempRoot)
    run.ledger.created('folder', folder)
    return new Workspace(folder)
  }

  path(name: string): string {
    return path.join(this.folder, name)
  }

  /** A 0600 password file for PGPASSFILE; undefined when there is no password (or one a file cannot hold). */
  async passwordFile(password: string | undefined, name = '.pgpass'): Promise<string | undefined> {
    const file = await writePasswordFile(this.folder, password, name)
    if (file) this.passwordFiles.push(file)
    return file
  }

  /** Removes the folder, or with a kept backup everything in it but the backup. */
  async cleanUp(run: RunContext, keptBackup: string | undefined): Promise<void> {
    try {
      if (keptBackup) {
        for (const file of this.passwordFiles) await removePasswordFile(file)
        run.log(`Kept the backup at ${keptBackup}`)
      } else {
        await rmRF(this.folder)
      }
      run.ledger.removed('folder', this.folder)
    } catch (error) {
      run.warn(`Could not remove temporary files in ${this.folder}: ${run.redactor.redactError(error)}`)
    }
  }
}
