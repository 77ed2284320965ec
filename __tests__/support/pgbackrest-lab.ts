// A pgBackRest lab for the tests: a source server that archives its WAL with pgbackrest
// archive-push into a repository in a temporary folder, a stanza made and checked, and backups
// (full, diff, incr) taken on demand. Everything (repository, lock, log and spool folders, the
// configuration) lives in one folder that stop() removes with the server's data.
//
// As root, the server runs as the postgres account (see server.ts), so the lab's folders belong to
// it and the commands that read the data folder or write the repository (stanza-create, check,
// backup, the archive_command) run as that account too. Commands that only read the repository
// (info, restore, archive-get, verify, repo-ls) work as root with the same configuration.
//
// Encrypted repositories take their passphrase only from PGBACKREST_REPO1_CIPHER_PASS: never in
// the configuration, never in an argument. The archive_command reaches it through a small script
// in the lab folder, readable by the server's account alone, that exports it and execs pgbackrest.

import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startServer, type TestServer } from './server.js'

/** The pgbackrest binary: PGBACKREST_BIN, or the first on PATH. */
export const PGBACKREST =
  process.env.PGBACKREST_BIN ??
  (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, 'pgbackrest'))
    .find((file) => path.isAbsolute(file) && existsSync(file))

/** Why the lab cannot run here, or undefined when it can. */
export function pgbackrestUnavailable(): string | undefined {
  return PGBACKREST ? undefined : 'no pgbackrest on PATH (apt-get install pgbackrest)'
}

export type BackupType = 'full' | 'diff' | 'incr'

export interface PgBackRestLab {
  /** The source server: persistent, archiving with pgbackrest archive-push. */
  server: TestServer
  stanza: string
  /** pgbackrest.conf of the lab: repository, lock, log and spool paths, and the stanza's pg1 settings. */
  config: string
  /** The repository folder (repo1-path). */
  repo: string
  /** The lab folder holding all of the above. */
  root: string
  /** Whether the repository is encrypted (aes-256-cbc). */
  encrypted: boolean
  /** The passphrase of an encrypted repository, else undefined. */
  cipherPass?: string
  /**
   * What to add to the environment of a pgbackrest command on the repository:
   * PGBACKREST_REPO1_CIPHER_PASS when encrypted, nothing otherwise. Merge it over process.env.
   */
  env: NodeJS.ProcessEnv
  /**
   * Runs pgbackrest with the lab's --config and --stanza, and env over process.env: as ourselves,
   * or with asServerUser as the server's account (postgres as root) with PGPASSWORD set. Resolves
   * with the exit code; never rejects.
   */
  run(args: string[], options?: { asServerUser?: boolean; env?: NodeJS.ProcessEnv }): Promise<RunResult>
  /** Takes a backup and returns its label. */
  backup(type: BackupType): Promise<string>
  /** pgbackrest info --output=json: the stanza's entry (JSON.parse rounds db[].system-id). */
  info(): Promise<any> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Stops the server and removes every folder of the lab. */
  stop(): Promise<void>
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface PgBackRestLabOptions {
  encrypted?: boolean
  /** The passphrase of an encrypted repository; a random one when not given. */
  cipherPass?: string
  stanza?: string
  /** More server settings, as name=value. */
  settings?: string[]
}

/** The uid and gid the server runs as: postgres as root, else ourselves. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

function run(args: string[], env: NodeJS.ProcessEnv, account: { uid: number; gid: number } | undefined): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      PGBACKREST as string,
      args,
      { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...(account ?? {}) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      }
    )
  })
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

export async function startPgBackRestLab(options: PgBackRestLabOptions = {}): Promise<PgBackRestLab> {
  const reason = pgbackrestUnavailable()
  if (reason) throw new Error(reason)
  const stanza = options.stanza ?? 'main'
  const encrypted = options.encrypted ?? false
  const cipherPass = encrypted ? (options.cipherPass ?? randomBytes(24).toString('base64')) : undefined
  const root = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-test-pgbackrest-'))
  const config = path.join(root, 'pgbackrest.conf')
  const repo = path.join(root, 'repo')
  const archivePush = path.join(root, 'archive-push.sh')
  let server: TestServer | undefined
  try {
    await chmod(root, 0o755)
    // The server's account (postgres as root) writes the repository, locks, logs and spool.
    const account = serverAccount()
    for (const folder of [repo, path.join(root, 'lock'), path.join(root, 'log'), path.join(root, 'spool')]) {
      await mkdir(folder, { mode: 0o750 })
      if (account) await chown(folder, account.uid, account.gid)
    }
    // The archive_command: a script that only the server's account reads, so the passphrase of an
    // encrypted repository reaches archive-push through its environment and never an argument.
    const script = [
      '#!/bin/sh',
      ...(cipherPass ? [`PGBACKREST_REPO1_CIPHER_PASS=${shellQuote(cipherPass)}`, 'export PGBACKREST_REPO1_CIPHER_PASS'] : []),
      `exec ${shellQuote(PGBACKREST as string)} --config=${shellQuote(config)} --stanza=${shellQuote(stanza)} archive-push "$1"`,
      ''
    ].join('\n')
    await writeFile(archivePush, script, { mode: 0o700 })
    if (account) await chown(archivePush, account.uid, account.gid)

    server = await startServer({
      persistent: true,
      settings: [
        'archive_mode=on',
        `archive_command=${shellQuote(archivePush)} %p`,
        'wal_level=replica',
        'max_wal_senders=3',
        ...(options.settings ?? [])
      ]
    })
    const lines = [
      '[global]',
      `repo1-path=${repo}`,
      'repo1-retention-full=99',
      ...(encrypted ? ['repo1-cipher-type=aes-256-cbc'] : []),
      `lock-path=${path.join(root, 'lock')}`,
      `log-path=${path.join(root, 'log')}`,
      'log-level-file=off',
      'log-level-console=warn',
      `spool-path=${path.join(root, 'spool')}`,
      'start-fast=y',
      'archive-timeout=30',
      '',
      `[${stanza}]`,
      `pg1-path=${server.socketDirectory}`,
      `pg1-port=${server.port}`,
      `pg1-socket-path=${server.socketDirectory}`,
      `pg1-user=${server.user}`,
      ''
    ]
    await writeFile(config, lines.join('\n'), { mode: 0o644 })
    await chmod(config, 0o644)

    const env: NodeJS.ProcessEnv = cipherPass ? { PGBACKREST_REPO1_CIPHER_PASS: cipherPass } : {}
    const started = server
    // pgbackrest reaches the server over its Unix socket, where pg_hba asks for the scram password.
    const serverEnv = { ...process.env, ...env, PGPASSWORD: started.password }
    const pgbackrest = async (args: string[], runOptions: { asServerUser?: boolean; env?: NodeJS.ProcessEnv } = {}) =>
      run(
        [`--config=${config}`, `--stanza=${stanza}`, ...args],
        runOptions.asServerUser ? { ...serverEnv, ...runOptions.env } : { ...process.env, ...env, ...runOptions.env },
        runOptions.asServerUser ? account : undefined
      )
    const must = async (args: string[], asServerUser: boolean): Promise<string> => {
      const result = await pgbackrest(args, { asServerUser })
      if (result.code !== 0) {
        throw new Error(`pgbackrest ${args.join(' ')} failed (${result.code}): ${result.stderr || result.stdout}`)
      }
      return result.stdout
    }
    const info = async () => {
      const [entry] = JSON.parse(await must(['info', '--output=json'], false))
      return entry
    }
    await must(['stanza-create'], true)
    await must(['check'], true)

    let stopped = false
    return {
      server: started,
      stanza,
      config,
      repo,
      root,
      encrypted,
      cipherPass,
      env,
      run: pgbackrest,
      async backup(type) {
        await must(['backup', `--type=${type}`], true)
        const backups = (await info()).backup as { label: string }[]
        return backups[backups.length - 1].label
      },
      info,
      async stop() {
        if (stopped) return
        stopped = true
        await started.stop().catch(() => {})
        await rm(started.socketDirectory, { recursive: true, force: true })
        await rm(root, { recursive: true, force: true })
      }
    }
  } catch (error) {
    if (server) {
      await server.stop().catch(() => {})
      await rm(server.socketDirectory, { recursive: true, force: true })
    }
    await rm(root, { recursive: true, force: true })
    throw error
  }
}
