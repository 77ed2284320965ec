// The command line: the action's inputs as --flags, with the same names and defaults.

import path from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_MIN_SIZE, Input } from '../run/names.js'
import { readDotenv } from '../inputs/dotenv.js'
import type { RawInputs } from '../inputs/inputs.js'

export const USAGE = `Usage: backup-verify [options]

Proves that a PostgreSQL backup restores: pg_dump creates it, it is validated,
restored into a temporary database and compared with the source, then removed.
With --method physical, a base backup (pg_basebackup) is started on a throwaway
server instead, recovered, checked with amcheck and counted.

Options:
  --database-url URL   PostgreSQL URL, e.g. postgresql://user:pass@localhost:5432/app
                       (default: DATABASE_URL, then DB_ENGINE/DB_NAME/DB_USER/DB_PASSWORD/
                       DB_HOST/DB_PORT, from the environment or a .env file here)
  --connect-timeout D  how long to wait for the server to accept a session: 10s, 1m
                       (default 10s; a bare number is seconds)
  --backup-file PATH   verify this existing backup instead of dumping
  --expected-checksum SHA256|FILE
                       the SHA-256 the backup must have
  --receipt PATH       a receipt written when the backup was made: compare with its inventory
  --max-shrink PERCENT with --receipt or --history: the most the backup or its rows may
                       have shrunk since the receipt or the last passing run
  --history PATH       a history file (JSON Lines): read, this run appended, the trend printed
  --history-limit N    records the history keeps (default 100)
  --alert-mode M       fail (default) or warn: what a crossed threshold does
  --max-duration D     alert when the run takes longer, e.g. 5m, 300s, 1h30m
  --max-growth PERCENT with --history: alert when the backup grew more since the last pass
  --max-consecutive-failures N
                       with --history: fail the run that makes N failures in a row
  --django-database A  with DJANGO_SETTINGS_MODULE: the DATABASES alias (default: default)
  --python-path PATH   the Python that imports DJANGO_SETTINGS_MODULE (default: python3)
  --method M           logical (pg_dump, default), physical (with --backup-file: a
                       pg_basebackup folder, started on a throwaway server and checked),
                       pgbackrest or barman (a backup of their repository, restored by them)
  --wal-archive DIR    physical: a folder of archived WAL segments
  --recovery-target-time T, --recovery-target-lsn LSN
                       physical, pgbackrest, barman: recover to this point, then verify
  --pgbackrest-stanza S, --pgbackrest-config FILE, --pgbackrest-verify BOOL,
  --pgbackrest-path FILE
                       pgbackrest: the stanza, its pgbackrest.conf, whether pgbackrest verify
                       runs first (default true), the executable (default: on PATH)
  --barman-server S, --barman-config FILE, --barman-path FILE
                       barman: the server, its barman.conf, the executable
  --backup-set LABEL   pgbackrest, barman: the backup to verify (default: the newest)
  --checks SQL|FILE    the team's SQL assertions on the restored copy, one per line, or a .sql file
  --checks-timeout D   how long each check may run (default 30s)
  --freshness-query SQL
                       the application's own time of its newest data (the recovery point)
  --name LABEL         this database's label in the receipt, the history and fleet reports
  --max-age D          alert when the copy's newest data is older (recovery point objective)
  --max-restore-time D alert when the restore takes longer (recovery time objective)
  --restore-database-url URL
                       a server apart from the source that receives the temporary database
  --restore-server S   throwaway (a private server of the run's own), source (the source's
                       server) or auto (default: throwaway when it can be had, else source)
  --min-size SIZE      smallest acceptable backup (default ${DEFAULT_MIN_SIZE}); 10240, 10KB, 10KiB, 5MB
  --format F           plain (default), custom, directory or tar
  --compression C      pg_dump -Z: 0-9, gzip[:N], lz4[:N], zstd[:N] (lz4, zstd: pg_dump 16+)
  --jobs N             parallel jobs (directory dump; custom/directory restore);
                       default: one per CPU
  --pipeline BOOL      plain format: restore while pg_dump writes (default true)
  --verify LEVEL       schema, rows or data: how closely the restore is compared
                       (default: data; rows with --method physical)
  --strict             fail on every restore error, the harmless ones too
  --timeout D          stop (and clean up) after this long: 30m, 1h30m (a bare number
                       is minutes)
  --keep-backup        keep the backup file and print its path
  --postgres-version V client tools to use: auto (the server's major), 17, or 17.2
  --tools-url URL      where to download client tools from ({version}, {target}, ...)
  --tools-source S     any (installed, cached or downloaded) or tool-cache (cached or
                       downloaded only; cache in RUNNER_TOOL_CACHE or ~/.cache/backup-verify)
  --verbose            show the output of pg_dump and psql
  --receipt-dir DIR    where the run's JSON receipt is written (default: this folder)
  -h, --help           show this help

One report over many runs' receipts: backup-verify report --help.

Exit code: 0 when the backup verified (or was skipped: not PostgreSQL), 1 otherwise.
A password is best given through the URL in DATABASE_URL or through PGPASSWORD,
so that it does not show in the process list.`

export interface CommandLine {
  help: boolean
  raw: RawInputs
  /** Where the receipt goes: --receipt-dir, else the working folder. */
  receiptFolder: string
}

export function parseCommandLine(argv: string[], environment: NodeJS.ProcessEnv, workingDirectory: string): CommandLine {
  const { values } = parseArgs({
    args: argv,
    options: {
      [Input.DatabaseUrl]: { type: 'string' },
      [Input.MinSize]: { type: 'string' },
      [Input.ConnectTimeout]: { type: 'string' },
      [Input.RestoreDatabaseUrl]: { type: 'string' },
      [Input.RestoreServer]: { type: 'string' },
      [Input.BackupFile]: { type: 'string' },
      [Input.ExpectedChecksum]: { type: 'string' },
      [Input.Receipt]: { type: 'string' },
      [Input.MaxShrink]: { type: 'string' },
      [Input.KeepBackup]: { type: 'boolean' },
      [Input.Strict]: { type: 'boolean' },
      [Input.Timeout]: { type: 'string' },
      [Input.Format]: { type: 'string' },
      [Input.Compression]: { type: 'string' },
      [Input.Jobs]: { type: 'string' },
      [Input.Pipeline]: { type: 'string' },
      [Input.Verify]: { type: 'string' },
      [Input.PostgresVersion]: { type: 'string' },
      [Input.ToolsUrl]: { type: 'string' },
      [Input.ToolsSource]: { type: 'string' },
      [Input.Verbose]: { type: 'boolean' },
      [Input.History]: { type: 'string' },
      [Input.HistoryLimit]: { type: 'string' },
      [Input.AlertMode]: { type: 'string' },
      [Input.MaxDuration]: { type: 'string' },
      [Input.MaxGrowth]: { type: 'string' },
      [Input.MaxConsecutiveFailures]: { type: 'string' },
      [Input.DjangoDatabase]: { type: 'string' },
      [Input.PythonPath]: { type: 'string' },
      [Input.Method]: { type: 'string' },
      [Input.WalArchive]: { type: 'string' },
      [Input.RecoveryTargetTime]: { type: 'string' },
      [Input.RecoveryTargetLsn]: { type: 'string' },
      [Input.BackupSet]: { type: 'string' },
      [Input.PgBackRestStanza]: { type: 'string' },
      [Input.PgBackRestConfig]: { type: 'string' },
      [Input.PgBackRestVerify]: { type: 'string' },
      [Input.PgBackRestPath]: { type: 'string' },
      [Input.BarmanServer]: { type: 'string' },
      [Input.BarmanConfig]: { type: 'string' },
      [Input.BarmanPath]: { type: 'string' },
      [Input.Checks]: { type: 'string' },
      [Input.MaxAge]: { type: 'string' },
      [Input.MaxRestoreTime]: { type: 'string' },
      [Input.ChecksTimeout]: { type: 'string' },
      [Input.FreshnessQuery]: { type: 'string' },
      [Input.Name]: { type: 'string' },
      'receipt-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true,
    allowPositionals: false
  })
  const given = values as Record<string, string | boolean | undefined>
  return {
    help: Boolean(given.help),
    receiptFolder: path.resolve(workingDirectory, typeof given['receipt-dir'] === 'string' ? given['receipt-dir'] : '.'),
    raw: {
      get: (name) => {
        const value = given[name]
        return value === undefined ? '' : String(value)
      },
      environment,
      workingDirectory,
      dotenv: readDotenv(workingDirectory)
    }
  }
}
