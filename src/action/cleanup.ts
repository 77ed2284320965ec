// The post step: removes temporary databases and folders that the main step recorded but did not remove.

import * as core from '@actions/core'
import { rm } from 'node:fs/promises'
import { loadSettings, rawSecrets } from '../inputs/inputs.js'
import { dropDatabase, openSession, readServerVersion } from '../connection/session.js'
import { Redactor } from '../run/secrets.js'
import { recordedResources } from './reporter.js'
import { runnerInputs } from './run.js'

export async function runCleanup(): Promise<void> {
  const databases = recordedResources('database')
  const folders = recordedResources('folder')
  if (databases.length === 0 && folders.length === 0) {
    core.info('Nothing left to clean up.')
    return
  }
  const raw = runnerInputs()
  const redactor = new Redactor(rawSecrets(raw))
  for (const secret of redactor.known) core.setSecret(secret)
  for (const folder of folders) {
    await rm(folder, { recursive: true, force: true })
      .then(() => core.info(`Removed leftover folder ${folder}`))
      .catch((error: unknown) => core.warning(`Could not remove ${folder}: ${redactor.redactError(error)}`))
  }
  if (databases.length === 0) return
  try {
    const settings = loadSettings(raw)
    if (settings.connection.kind !== 'postgres') return
    // Temporary databases live where the restore happened.
    const session = await openSession(settings.restoreTarget ?? settings.connection.target)
    try {
      const { major } = await readServerVersion(session)
      for (const database of databases) {
        await dropDatabase(session, database, major)
          .then(() => core.info(`Dropped leftover temporary database ${database}`))
          .catch((error: unknown) => core.warning(`Could not drop ${database}: ${redactor.redactError(error)}`))
      }
    } finally {
      await session.end().catch(() => {})
    }
  } catch (error) {
    core.warning(`Could not clean up temporary databases ${databases.join(', ')}: ${redactor.redactError(error)}`)
  }
}
