// What one verification found: the single value the outputs, the summary and the exit code are made from.

import type { Problem } from '../run/errors.js'
import type { BackupFormat } from '../backup/formats.js'
import type { ValidationCheck } from '../validate/plain-checks.js'
import type { ToolsOrigin } from '../tools/provision.js'
import type { Inventory, VerifyLevel } from '../compare/inventory.js'
import type { TableComparison } from '../compare/compare.js'
import type { CheckOutcome } from '../compare/checks.js'
import type { ThrowawayFacts } from '../server/throwaway-restore.js'
import type { RecoveryFacts } from '../physical/throwaway-server.js'
import type { AmcheckResult } from '../physical/prove.js'

export type PhaseName = 'Create' | 'Validate' | 'Restore'
type PhaseStatus = 'passed' | 'failed' | 'not run'

export interface PhaseResult {
  name: PhaseName
  status: PhaseStatus
  durationMs: number
  detail: string
}

export interface BackupFacts {
  path: string
  sizeBytes: number
  sha256: string
  /** physical: a base backup (result.physical says which layout). */
  format: BackupFormat | 'physical'
  /** As the summary shows it: "none", "gzip level 6", "zstd", "gzip (pg_dump default)". */
  compression: string
  /** Parallel jobs of pg_dump (directory) and pg_restore (custom, directory); 1 otherwise. */
  jobs: number
  /** Number of files of a directory-format backup. */
  files?: number
  /** Restored by psql while pg_dump wrote it. */
  streamed: boolean
  /** A backup this run made, left in place (keep-backup). */
  kept: boolean
  /** A backup made elsewhere, verified where it is (backup-file). */
  existing?: boolean
}

export type RestoreServerFacts =
  | ({ kind: 'throwaway' } & ThrowawayFacts)
  /** reason: why not a throwaway server (restore-server: source, or what auto could not have). */
  | { kind: 'source' | 'apart'; reason: string }

export type VerificationMethod = 'logical' | 'physical' | 'pgbackrest' | 'barman'

export interface VerificationResult {
  status: 'passed' | 'failed' | 'skipped'
  /** Set when status is skipped: the database engine that is not PostgreSQL. */
  skippedEngine?: string
  target?: string
  /** This database's label in reports: the name input, else the database's, the backup file's or the repository's. */
  name?: string
  /** How the backup was made or found: pg_dump's, a base backup, a pgBackRest or Barman repository's. */
  method?: VerificationMethod
  /** Where the temporary database went, when apart from the source (restore-database-url). */
  restoreTarget?: string
  /** Where the restore ran: a throwaway server of the run's own, or the source's server and why. */
  restoreServer?: RestoreServerFacts
  serverVersion?: string
  client?: { version: string; directory: string; origin: ToolsOrigin; reason: string }
  phases: PhaseResult[]
  backup?: BackupFacts
  checks?: ValidationCheck[]
  tables?: TableComparison
  restoreDatabase?: { name: string; dropped: boolean }
  /** The inventory the receipt records: the source's at dump time, else the restored database's. */
  inventory?: Inventory
  /** This backup against another backup's receipt (max-shrink): every table and definition, compared or named as not. */
  sinceReceipt?: SinceReceipt
  /** Where the receipt was written. */
  receiptPath?: string
  /** What the gate made of the backup's statements, and whether anything vouched for the backup. */
  safety?: SafetyFacts
  /** Errors the restore reported that were known to be harmless, and so not fatal (strict: false). */
  ignoredRestoreErrors?: { total: number; detail: string }
  /** Why the run failed; input: the input at fault, when one is (a bad-input problem). */
  error?: { problem: Problem | 'unexpected'; message: string; hint?: string; input?: string }
  /** Thresholds this run crossed (alert-mode fail: failed is true, and the run failed). */
  alerts?: Array<{ input: string; message: string; failed: boolean }>
  /** The history this run was added to, and the trend over it (this run included). */
  history?: { path: string; trend: Trend }
  /** A physical backup: how it was checked, how the copy recovered, what it holds. */
  physical?: PhysicalFacts
  /** The recovery point and time a DR review asks for, whatever the method. */
  evidence?: RecoveryEvidence
  /** The team's own checks (input checks): where they ran and what each found. */
  teamChecks?: { database: string; outcomes: CheckOutcome[] }
  startedAt: string
  durationMs: number
}

export interface SafetyFacts {
  /** Made by this run, or its SHA-256 matches expected-checksum or the receipt's: code for the server's host may run. */
  trusted: boolean
  trustedBy?: 'this run' | 'expected-checksum' | 'receipt'
  /** Statements (or meta-commands) refused: the run failed on the first. */
  refused: number
  refusedDetail?: string
  /** A --create dump: the database the temporary one stood in for, and its preamble statements left out or applied to it. */
  standIn?: string
  leftOut: number
  rewritten: number
  /** Functions and procedures in languages whose code runs on the server's host ("public.f(text) in c"). */
  untrustedCode: string[]
}

/** How old the newest data in the copy was when it was ready, and how long bringing it back took. */
export interface RecoveryEvidence {
  /** When the newest data in the copy was written, and how that is known. */
  newestData?: { at: string; from: string }
  /** Seconds between the newest data and the copy being ready. */
  ageSeconds?: number
  /** From the start of the restore to a usable copy (restore and recovery, apart from checks and comparison). */
  restoreMs?: number
}

/** A backup of a pgBackRest or Barman repository: which one, when, and what its restore took. */
export interface RepositoryFacts {
  tool: 'pgbackrest' | 'barman'
  toolVersion: string
  /** pgBackRest's stanza, Barman's server. */
  name: string
  label: string
  /** full, diff, incr (pgBackRest); Barman's backup type. */
  type: string
  startedAt: string
  stoppedAt: string
  sizeBytes?: number
  repositoryBytes?: number
  /** The backup a diff or incr one builds on. */
  prior?: string
  /** The tool's own check of the repository (pgbackrest verify), or why it did not run. */
  toolCheck?: { ran: boolean; passed: boolean; detail: string }
  /** What recovery was asked to reach: the end of the archive, or the target. */
  recoveryTarget: string
  /** The newest data in the copy: the last replayed commit, else the backup's end. */
  restoredPoint?: string
  /** How old the backup (its end) was when the copy was ready, in seconds: the recovery point a DR review asks for. */
  backupAgeSeconds?: number
  /** The tool's restore and the copy's recovery to a usable primary, in milliseconds: the recovery time. */
  restoreMs?: { files: number; recovery: number; total: number }
}

export interface PhysicalFacts {
  /** tar, plain: pg_basebackup's; a repository's backup is restored by its tool (repository says which). */
  layout: 'tar' | 'plain' | 'repository'
  repository?: RepositoryFacts
  major: number
  /** What every database of the copy was inventoried at (verify). */
  level?: VerifyLevel
  server?: { version: string; directory: string; origin: string }
  /** pg_verifybackup's verdict, or why it did not run. */
  manifest: { verified: boolean; detail: string }
  label?: { startLsn: string; startSegment: string; timeline: number; startTime?: string }
  recovery?: RecoveryFacts
  amcheck?: AmcheckResult
  checksums?: { enabled: boolean; failures: number }
  databases?: Array<{ name: string; tables: number; rows?: number }>
  /** A new backup: its database against the source around the backup. */
  comparison?: { database: string; compared: number; written: string[]; mismatches: string[] }
}

/** A table of this backup against the receipt of another, older one (see since-receipt.ts). */
export interface TableSinceReceipt {
  table: string
  rowsThen?: number
  rowsNow?: number
}

/** This backup held to the receipt of another, older backup (max-shrink): what compareSinceReceipt found. */
export interface SinceReceipt {
  /** The receipt's backup: when it was verified, its SHA-256. */
  receipt: { startedAt: string; sha256?: string }
  maxShrinkPercent: number
  /** Tables whose content was compared with the receipt's fingerprint: the same, or not. */
  identical: string[]
  changed: TableSinceReceipt[]
  /** Tables of the receipt whose content could not be compared, and why. */
  notCompared: Array<{ table: string; reason: string }>
  /** Tables this backup holds that the receipt's did not. */
  added: string[]
  /** Tables of the receipt's backup this one lacks. */
  missing: string[]
  /** Tables that lost more rows than max-shrink allows. */
  shrank: TableSinceReceipt[]
  /** Whether this backup's rows were counted (not at verify level schema): else no table was held to max-shrink. */
  rowsCounted: boolean
  /** Definitions of the receipt's objects against the restored ones: by hash, or by name only (another major). */
  definitions: { compared: number; by: 'hash' | 'name'; differ: string[]; gone: string[]; added: number }
  /** The backup's size and total rows against the receipt's (the size only between backups written alike). */
  totals: string[]
  /** Everything above that fails the run, in words. */
  problems: string[]
}

/** What the trend reads of a run: the history's records have these fields, and more. */
export interface RunFigures {
  time: string
  result: 'passed' | 'failed' | 'skipped'
  durationMs: number
  sizeBytes?: number
  rows?: number
  tables?: number
  /** How the backup was written: a size compares with another written alike only. */
  format?: string
  compression?: string
  /** The recovery time: from the restore's start to a usable copy. */
  restoreMs?: number
  /** The recovery point: how old the copy's newest data was once the copy was ready. */
  backupAgeSeconds?: number
}

export interface Change {
  before: number
  now: number
  /** now - before */
  delta: number
  /** Percent of before; undefined when before is 0. */
  percent?: number
}

export interface Trend {
  /** The records the figures come from, oldest first, this run's last. */
  points: RunFigures[]
  /** This run against the last passing run before it, when there was one. */
  sinceLastPass?: {
    time: string
    size?: Change
    /** Why the size was not compared: the backups were written in another format or compression. */
    sizeNotCompared?: string
    rows?: Change
    tables?: Change
    duration: Change
    restore?: Change
    age?: Change
  }
  /** Runs that passed or failed (skipped runs are not counted). */
  counted: number
  failed: number
  /** Failed over counted, as a fraction. */
  failureRate: number
  /** Failed runs in a row at the end of the history, this one included. */
  consecutiveFailures: number
}
