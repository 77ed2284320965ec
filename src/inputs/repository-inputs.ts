// The inputs of the repository methods (pgbackrest, barman): which repository, which backup in it,
// and where the tool is. Refused with the other methods, where they would mean nothing.

import path from 'node:path'
import { InputError } from '../run/errors.js'
import { Input } from '../run/names.js'
import type { RawInputs } from './connection-inputs.js'

/** A path an input names: resolved, and as the user wrote it (for messages). */
export interface GivenPath {
  path: string
  given: string
}

export type RepositoryMethod = 'pgbackrest' | 'barman'

/** A backup in a pgBackRest or Barman repository, restored by the tool itself into the run's folder. */
export type RepositorySettings =
  | {
      tool: 'pgbackrest'
      stanza: string
      /** pgbackrest.conf; undefined: pgBackRest's own search (/etc/pgbackrest/pgbackrest.conf, ...). */
      config?: GivenPath
      /** A backup label; undefined: the newest. */
      set?: string
      /** Run `pgbackrest verify` on the stanza before the restore. */
      verify: boolean
      /** The pgbackrest executable; undefined: found on PATH. */
      toolPath?: GivenPath
    }
  | {
      tool: 'barman'
      server: string
      config?: GivenPath
      /** A backup id (or latest, oldest, ...); undefined: the newest. */
      set?: string
      toolPath?: GivenPath
    }

const OWN_INPUTS: Record<RepositoryMethod, string[]> = {
  pgbackrest: [Input.PgBackRestStanza, Input.PgBackRestConfig, Input.PgBackRestVerify, Input.PgBackRestPath],
  barman: [Input.BarmanServer, Input.BarmanConfig, Input.BarmanPath]
}

/** A stanza, a Barman server or a backup label: what both tools accept, and nothing a shell or a path could read otherwise. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/

export function isRepositoryMethod(method: string): method is RepositoryMethod {
  return method === 'pgbackrest' || method === 'barman'
}

/** The repository inputs with method pgbackrest or barman; with any other method each must be empty. */
export function parseRepository(raw: RawInputs, method: string): RepositorySettings | undefined {
  for (const [tool, names] of Object.entries(OWN_INPUTS)) {
    if (tool === method) continue
    for (const name of names) {
      if (raw.get(name).trim() !== '') throw new InputError(name, raw.get(name), `empty unless method is ${tool}`)
    }
  }
  const setText = raw.get(Input.BackupSet).trim()
  if (!isRepositoryMethod(method)) {
    if (setText !== '') throw new InputError(Input.BackupSet, setText, 'empty unless method is pgbackrest or barman')
    return undefined
  }
  if (raw.get(Input.BackupFile).trim() !== '') {
    throw new InputError(
      Input.BackupFile,
      raw.get(Input.BackupFile),
      `empty with method: ${method} (the backup is read from the repository: name it with backup-set)`
    )
  }
  if (raw.get(Input.WalArchive).trim() !== '') {
    throw new InputError(
      Input.WalArchive,
      raw.get(Input.WalArchive),
      `empty with method: ${method} (the repository's own WAL archive is used)`
    )
  }
  if (setText !== '' && !NAME.test(setText)) {
    throw new InputError(
      Input.BackupSet,
      setText,
      `a backup label as ${method === 'pgbackrest' ? 'pgbackrest info' : 'barman list-backups'} shows it, e.g. ${method === 'pgbackrest' ? '20261201-101500F' : '20261201T101500'}`
    )
  }
  const set = setText === '' ? undefined : setText
  const given = (name: string): GivenPath | undefined => {
    const text = raw.get(name).trim()
    return text === '' ? undefined : { path: path.resolve(raw.workingDirectory, text), given: text }
  }
  if (method === 'pgbackrest') {
    const stanza = raw.get(Input.PgBackRestStanza).trim()
    if (!NAME.test(stanza)) {
      throw new InputError(
        Input.PgBackRestStanza,
        stanza,
        'the stanza the repository keeps the backups under (letters, digits, ".", "_", "-"), e.g. main'
      )
    }
    const verifyText = raw.get(Input.PgBackRestVerify).trim().toLowerCase() || 'true'
    if (verifyText !== 'true' && verifyText !== 'false')
      throw new InputError(Input.PgBackRestVerify, raw.get(Input.PgBackRestVerify), 'true or false')
    return {
      tool: 'pgbackrest',
      stanza,
      config: given(Input.PgBackRestConfig),
      set,
      verify: verifyText === 'true',
      toolPath: given(Input.PgBackRestPath)
    }
  }
  const server = raw.get(Input.BarmanServer).trim()
  if (!NAME.test(server)) {
    throw new InputError(
      Input.BarmanServer,
      server,
      'the server name of the Barman configuration that holds the backups (its [section]), e.g. pg'
    )
  }
  return { tool: 'barman', server, config: given(Input.BarmanConfig), set, toolPath: given(Input.BarmanPath) }
}
