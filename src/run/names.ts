// Names of the action's inputs, outputs and saved state, defined once and used by these names everywhere.

export const Input = {
  DatabaseUrl: 'database-url',
  Verbose: 'verbose',
  MinSize: 'min-size',
  KeepBackup: 'keep-backup',
  PostgresVersion: 'postgres-version',
  ToolsUrl: 'tools-url',
  ToolsSource: 'tools-source',
  Format: 'format',
  Compression: 'compression',
  Jobs: 'jobs',
  Pipeline: 'pipeline',
  ConnectTimeout: 'connect-timeout',
  Verify: 'verify',
  Strict: 'strict',
  Timeout: 'timeout',
  RestoreDatabaseUrl: 'restore-database-url',
  RestoreServer: 'restore-server',
  BackupFile: 'backup-file',
  ExpectedChecksum: 'expected-checksum',
  Receipt: 'receipt',
  MaxShrink: 'max-shrink',
  History: 'history',
  HistoryLimit: 'history-limit',
  AlertMode: 'alert-mode',
  MaxDuration: 'max-duration',
  MaxGrowth: 'max-growth',
  MaxConsecutiveFailures: 'max-consecutive-failures',
  DjangoDatabase: 'django-database',
  PythonPath: 'python-path',
  Method: 'method',
  WalArchive: 'wal-archive',
  RecoveryTargetTime: 'recovery-target-time',
  RecoveryTargetLsn: 'recovery-target-lsn',
  BackupSet: 'backup-set',
  PgBackRestStanza: 'pgbackrest-stanza',
  PgBackRestConfig: 'pgbackrest-config',
  PgBackRestVerify: 'pgbackrest-verify',
  PgBackRestPath: 'pgbackrest-path',
  BarmanServer: 'barman-server',
  BarmanConfig: 'barman-config',
  BarmanPath: 'barman-path',
  Checks: 'checks',
  MaxAge: 'max-age',
  MaxRestoreTime: 'max-restore-time',
  ChecksTimeout: 'checks-timeout',
  FreshnessQuery: 'freshness-query',
  Name: 'name'
} as const

export const Output = {
  Result: 'result',
  Checksum: 'checksum',
  Size: 'size',
  Skipped: 'skipped',
  BackupPath: 'backup-path',
  Tables: 'tables',
  RestoredTables: 'restored-tables',
  Rows: 'rows',
  VerifyLevel: 'verify-level',
  ReportPath: 'report-path',
  ServerVersion: 'server-version',
  ClientVersion: 'client-version',
  ClientSource: 'client-source',
  Format: 'format',
  DurationMs: 'duration-ms',
  Duration: 'duration',
  ConsecutiveFailures: 'consecutive-failures',
  SizeChange: 'size-change',
  HistoryPath: 'history-path',
  BackupSet: 'backup-set',
  BackupAge: 'backup-age',
  RestoreDuration: 'restore-duration'
} as const

/** The report action's (report/action.yml): one summary over the receipts of many verifications. */
export const ReportInput = {
  Receipts: 'receipts',
  History: 'history',
  FailOn: 'fail-on',
  MaxAge: 'max-age',
  Expected: 'expected'
} as const

export const ReportOutput = {
  Passed: 'passed',
  Failed: 'failed',
  Missing: 'missing',
  ReportPath: 'report-path'
} as const

/** Keys under which the main step records what it created, so the post step can remove leftovers. */
export const State = {
  TemporaryDatabases: 'temporary-databases',
  TemporaryFolders: 'temporary-folders',
  ThrowawayServers: 'throwaway-servers',
  ChildProcesses: 'child-processes'
} as const

export const DEFAULT_MIN_SIZE = '1KiB'
/**
 * Chosen by measurement (docs/performance.md): a dump's restored rows are matched to the dump's own
 * bytes for well under the raw procedure's time.
 */
export const DEFAULT_VERIFY_LEVEL = 'data'
/** A base backup holds no rows to match: its content is fingerprinted in SQL, the source twice, so it is counted by default. */
export const DEFAULT_PHYSICAL_VERIFY_LEVEL = 'rows'
export const TEMPORARY_DATABASE_PREFIX = 'backup_verify'
