// Where a server of the run's own keeps its data and its socket: the run's folder, unless the
// account the server runs as (a root runner) cannot pass through the folders above it.

import { stat } from 'node:fs/promises'
import path from 'node:path'
import { rmRF } from '@actions/io'
import { makeTemporaryFolder } from '../run/temporary-folder.js'
import { unprivilegedAccount } from './process.js'

export interface ServerRoom {
  folder: string
  /** The copy's data directory. */
  dataDirectory: string
  /** The server's configuration and socket. */
  serverFolder: string
  /** The account that cannot reach the run's folder, when the room is a folder of its own (removed whole at the end). */
  ownFolderFor?: string
}

const DATA = 'data'
const SERVER = 'server'
/** Beside the data directory (see tablespaceFolder in layout.ts). */
const TABLESPACES = 'tablespaces'

function room(folder: string, ownFolderFor?: string): ServerRoom {
  return { folder, dataDirectory: path.join(folder, DATA), serverFolder: path.join(folder, SERVER), ownFolderFor }
}

/** The run's folder; or a folder of its own in the system's temporary folder, when the server's account cannot reach it. */
export async function chooseServerRoom(runFolder: string): Promise<ServerRoom> {
  const account = await unprivilegedAccount()
  if (!account) return room(runFolder)
  let reachable = true
  for (let folder = path.dirname(runFolder); ; folder = path.dirname(folder)) {
    const info = await stat(folder)
    const passes = info.uid === account.uid ? info.mode & 0o100 : info.gid === account.gid ? info.mode & 0o010 : info.mode & 0o001
    if (!passes) reachable = false
    if (path.dirname(folder) === folder) break
  }
  if (reachable) return room(runFolder)
  return room(await makeTemporaryFolder('backup-verify-server-'), account.name)
}

/**
 * Removes the copy (a kept backup elsewhere in the run's folder stays, alone), and a room of its own
 * whole; only a room that cannot be removed is an error.
 */
export async function clearServerRoom(room: ServerRoom): Promise<void> {
  for (const part of [DATA, SERVER, TABLESPACES]) await rmRF(path.join(room.folder, part)).catch(() => {})
  if (room.ownFolderFor !== undefined) await rmRF(room.folder)
}
