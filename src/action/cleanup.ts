// The post step: ends the client tools, and removes the temporary databases and folders, that the
// main step recorded but did not end or remove (it was killed). It reads only the inputs that say where the servers are (a backup file or receipt that is
// gone by now does not matter), and imports only what cleanup needs, so that its bundle stays small.

import * as commands from './commands.js'
import { rmRF } from '@actions/io'
import { readFile } from 'node:fs/promises'
import { readConnectionInputs } from '../inputs/connection-inputs.js'
import { startUp } from '../inputs/start-up.js'
import { openSession, readServerVersion } from '../connection/session.js'
import { dropDatabase } from '../restore/temporary-database.js'
import { endProcessGroup } from '../tools/process-group.js'
import { recordedResources } from './state.js'
import { runnerInputs } from './inputs.js'

export async function runCleanup(): Promise<void> {
  const databases = recordedResources('database')
  const folders = recordedResources('folder')
  const servers = recordedResources('server')
  const processes = recordedResources('process')
  if (databases.length === 0 && folders.length === 0 && servers.length === 0 && processes.length === 0) {
    commands.info('Nothing left to clean up.')
    return
  }
  // The Django settings are read, and the inputs parsed, only when a database is left to drop.
  const start = startUp(runnerInputs(), commands.setSecret)
  const { redactor } = start
  // The tools first: pg_dump, psql or pg_restore still running would go on writing, or hold a database.
  for (const group of processes) {
    const pid = endProcessGroup(group)
    if (pid !== undefined) commands.info(`Ended leftover client tool ${pid} and its process group`)
  }
  // Throwaway servers next: their files are in the folders.
  for (const server of servers) await stopThrowawayServer(server)
  for (const folder of folders) {
    await rmRF(folder)
      .then(() => commands.info(`Removed leftover folder ${folder}`))
      .catch((error: unknown) => commands.warning(`Could not remove ${folder}: ${redactor.redactError(error)}`))
  }
  if (databases.length === 0) return
  try {
    const { connection, restoreTarget } = await start.settings(readConnectionInputs)
    if (connection.kind !== 'postgres') return
    // Temporary databases live where the restore happened.
    const session = await openSession(restoreTarget ?? connection.target)
    try {
      const { major } = await readServerVersion(session)
      for (const database of databases) {
        await dropDatabase(session, database, major)
          .then((existed) =>
            commands.info(
              existed
                ? `Dropped leftover temporary database ${database}`
                : `Temporary database ${database} was recorded, but never came to be (or is gone): nothing to drop`
            )
          )
          .catch((error: unknown) => commands.warning(`Could not drop ${database}: ${redactor.redactError(error)}`))
      }
    } finally {
      await session.end().catch(() => {})
    }
  } catch (error) {
    commands.warning(`Could not clean up temporary databases ${databases.join(', ')}: ${redactor.redactError(error)}`)
  }
}

/** "pid:data directory": stopped only when that pid is still a postgres on that directory (a pid may be reused). */
async function stopThrowawayServer(recorded: string): Promise<void> {
  const at = recorded.indexOf(':')
  const pid = Number(recorded.slice(0, at))
  const dataDirectory = recorded.slice(at + 1)
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive()) return
  if (commandLine !== undefined && !commandLine.split('\0').includes(dataDirectory)) return
  process.kill(pid, 'SIGQUIT')
  for (let waited = 0; waited < 10_000 && alive(); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
  if (alive()) process.kill(pid, 'SIGKILL')
  commands.info(`Stopped leftover throwaway server ${pid} (${dataDirectory})`)
}
