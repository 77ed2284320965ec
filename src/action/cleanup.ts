// The post step: removes temporary databases and folders that the main step recorded but did not
// remove. It reads only the inputs that say where the servers are (a backup file or receipt that is
// gone by now does not matter), and imports only what cleanup needs, so that its bundle stays small.

import * as commands from './commands.js'
import { rmRF } from '@actions/io'
import { rawSecrets, readConnectionInputs, withDjangoSettings } from '../inputs/connection-inputs.js'
import { openSession, readServerVersion } from '../connection/session.js'
import { dropDatabase } from '../restore/temporary-database.js'
import { Redactor } from '../run/secrets.js'
import { recordedResources } from './state.js'
import { runnerInputs } from './inputs.js'

export async function runCleanup(): Promise<void> {
  const databases = recordedResources('database')
  const folders = recordedResources('folder')
  if (databases.length === 0 && folders.length === 0) {
    commands.info('Nothing left to clean up.')
    return
  }
  const raw = runnerInputs()
  const redactor = new Redactor(rawSecrets(raw))
  for (const secret of redactor.known) commands.setSecret(secret)
  for (const folder of folders) {
    await rmRF(folder)
      .then(() => commands.info(`Removed leftover folder ${folder}`))
      .catch((error: unknown) => commands.warning(`Could not remove ${folder}: ${redactor.redactError(error)}`))
  }
  if (databases.length === 0) return
  try {
    const withDjango = await withDjangoSettings(raw)
    for (const secret of rawSecrets(withDjango)) {
      redactor.add(secret)
      commands.setSecret(secret)
    }
    const { connection, restoreTarget } = readConnectionInputs(withDjango)
    if (connection.kind !== 'postgres') return
    // Temporary databases live where the restore happened.
    const session = await openSession(restoreTarget ?? connection.target)
    try {
      const { major } = await readServerVersion(session)
      for (const database of databases) {
        await dropDatabase(session, database, major)
          .then(() => commands.info(`Dropped leftover temporary database ${database}`))
          .catch((error: unknown) => commands.warning(`Could not drop ${database}: ${redactor.redactError(error)}`))
      }
    } finally {
      await session.end().catch(() => {})
    }
  } catch (error) {
    commands.warning(`Could not clean up temporary databases ${databases.join(', ')}: ${redactor.redactError(error)}`)
  }
}
