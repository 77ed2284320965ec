// Phase 3 as the engine runs it: the restore (started here, or by the Create phase when streamed),
// the restored database inspected before it is dropped, and the comparison with the reference.

import type { CreatedBackup } from '../backup/on-disk.js'
import { compareInventories, describeComparison, requireSameInventory, type TableComparison } from '../compare/compare.js'
import { majorOfVersion } from '../backup/made-by.js'
import { dumpInventory, withDumpContent } from '../compare/dump-reference.js'
import type { Inventory } from '../compare/inventory.js'
import { inspectRestored, type ReadBackPlan, type RestoredInspection } from '../compare/restored.js'
import { majorOf, openSession } from '../connection/session.js'
import { judgeTeamChecks, runTeamChecks } from './team-checks.js'
import { noteCopyReady } from './evidence.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { compareSinceReceipt, shrinkageProblems } from '../records/since-receipt.js'
import { describeSinceReceipt } from '../report/since-receipt.js'
import { describeHarmless } from '../restore/errors.js'
import { changedAfterValidation, restoreBackup, type Restored } from '../restore/restore.js'
import type { RestoreRequest } from '../restore/context.js'
import { temporaryDatabaseName } from '../restore/temporary-database.js'
import { VerificationError } from '../run/errors.js'
import type { Connected } from './connected.js'
import type { StreamControls } from './streamed-restore.js'
import type { ContentReference, Verification } from './verification.js'

/** A restore into a new temporary database; its inventory is read before it is dropped. */
export function startRestore(
  v: Verification,
  connected: Connected,
  backup: RestoreRequest['backup'],
  /** Whether anything vouches for the backup: this run made it, or a checksum or receipt. */
  safety: Pick<RestoreRequest, 'untrusted' | 'archiveThroughPsql'>,
  streamed?: StreamControls
): Promise<Restored<RestoredInspection>> {
  const { settings, result } = v
  const databaseName = temporaryDatabaseName(new Date())
  result.restoreDatabase = { name: databaseName, dropped: false }
  const request: RestoreRequest = {
    server: connected.restoreServer,
    tools: connected.tools,
    backup,
    databaseName,
    jobs: settings.jobs,
    strict: settings.strict,
    untrusted: safety.untrusted,
    archiveThroughPsql: safety.archiveThroughPsql,
    stallMs: v.options.stallMs,
    written: streamed?.written,
    relay: streamed?.relay,
    signal: streamed?.signal,
    onBackupRead: streamed?.onBackupRead,
    onDropped: () => (result.restoreDatabase = { name: databaseName, dropped: true }),
    afterRestore: v.options.hooks?.afterRestore
  }
  const { target } = connected.restoreServer
  const restoreStarted = Date.now()
  return restoreBackup(v.run, request, async (database) => {
    noteCopyReady(v, Date.now() - restoreStarted)
    const checked = (inspection: Promise<RestoredInspection>) =>
      inspection.then(async (inspected) => {
        await runTeamChecks(v, database, () => openSession(target, database, { signal: v.run.signal, report: v.run.warn }))
        return inspected
      })
    if (settings.verifyLevel !== 'data') return checked(inspectRestored(target, database, settings.verifyLevel, settings.jobs))
    const { dump, reference } = await v.contentReference.promise
    const plan: ReadBackPlan | undefined = dump && {
      dump,
      settings: reference?.outputSettings,
      sqlTables: new Set(reference?.content.filter((entry) => entry.fingerprint?.startsWith('sql:')).map((entry) => entry.table)),
      sourceMajor: reference ? majorOf(reference.serverVersionNumber) : majorOfVersion(dump.sourceVersion),
      generatedValues: (reference?.generatedValues?.length ?? 0) > 0,
      splitBytes: v.options.readBackSplitBytes,
      progress: { done: 0, total: 0 }
    }
    const counted = plan?.progress
    const stopHeartbeat = startHeartbeat(v.run, 'reading the rows back', {
      done: () => counted?.done ?? 0,
      total: () => counted?.total || undefined,
      unit: 'rows'
    })
    return checked(inspectRestored(target, database, settings.verifyLevel, settings.jobs, plan).finally(stopHeartbeat))
  })
}

/**
 * What the restore is compared with. A new backup: the source's inventory from the dumped snapshot,
 * its content the dump's own rows. An existing backup: its receipt, when written for it; else, at
 * the data level, the rows the backup itself holds; else nothing (it is described, not compared).
 */
function chooseReference(
  v: Verification,
  mode: 'new' | 'existing',
  inspection: RestoredInspection,
  known: ContentReference,
  dumpedSequences: Array<{ sequence: string; value: string }>
): { reference?: Inventory; kind: Exclude<TableComparison['reference'], 'none'> } {
  const content = v.settings.verifyLevel === 'data' ? known.dump : undefined
  if (mode === 'new') {
    // Sequences are not transactional: the values the dump sets are the source's, recorded for a receipt.
    const source = { ...(known.reference as Inventory), sequences: dumpedSequences }
    return { reference: content ? withDumpContent(source, content, inspection.names) : source, kind: 'snapshot' }
  }
  if (known.reference) return { reference: known.reference, kind: 'receipt' }
  if (content) return { reference: dumpInventory(content, inspection.names, inspection.inventory), kind: 'backup' }
  return { kind: 'receipt' }
}

const SINCE_RECEIPT_HINT =
  'A newer backup may hold more rows, changed values and new tables or objects; it may not lose a table or an object, ' +
  'change a definition, or lose more rows than max-shrink allows. If the change is intended (a migration, a purge), ' +
  'use the receipt this run wrote (report-path) as the reference from now on.'

/**
 * The restore's result against its reference: the dumped snapshot's inventory, the receipt's, or
 * none (an existing backup without a receipt of its own, which is described, not compared).
 */
export async function restorePhase(
  v: Verification,
  restore: () => Promise<Restored<RestoredInspection>>,
  validated: CreatedBackup,
  mode: 'new' | 'existing'
): Promise<void> {
  const { settings, result, run } = v
  await v.phases.run('Restore', async (done) => {
    const { inspected: inspection, restoredChecksum, ignoredErrors } = await restore()
    const inspected = inspection.inventory
    const known = await v.contentReference.promise
    const { reference, kind: referenceKind } = chooseReference(v, mode, inspection, known, validated.sequences ?? [])
    const unread = settings.verifyLevel === 'data' ? (known.dump?.unreadCopies ?? []) : []
    if (unread.length > 0) {
      run.warn(
        `${unread.length} COPY statement(s) of the backup are not as pg_dump writes them, so their rows were not ` +
          `fingerprinted; their tables are compared by row count only: ${unread.map((text) => JSON.stringify(text)).join(', ')}`
      )
    }
    // A streamed restore that planned from the Create phase's own read has no second checksum: the
    // file was read again once the restore had read it (Validate), and every range it re-read was checked.
    if (restoredChecksum !== undefined && restoredChecksum !== validated.sha256)
      throw changedAfterValidation(restoredChecksum, validated.sha256)
    const comparison = compareInventories(reference, inspected, validated.sequences ?? [], referenceKind, settings.verifyLevel)
    run.log(describeComparison(comparison, reference, inspected))
    for (const words of comparison.leftOut) run.log(`Left out of the comparison: ${words}`)
    result.tables = comparison
    // The receipt records what a later run compares with: an existing backup's restored inventory, not its bare rows.
    result.inventory = referenceKind === 'backup' ? inspected : (reference ?? inspected)
    if (ignoredErrors.total > 0) result.ignoredRestoreErrors = { total: ignoredErrors.total, detail: describeHarmless(ignoredErrors) }
    // Another backup's receipt (a new backup's is always another's): held to it table by table, once the restore is proved.
    const receipt = v.references.receipt
    const maxShrink = settings.maxShrinkPercent
    const thisBackup = {
      sizeBytes: validated.sizeBytes,
      sha256: validated.sha256,
      format: result.backup?.format ?? validated.format,
      compression: result.backup?.compression ?? '',
      restored: inspected,
      dump: settings.verifyLevel === 'data' ? known.dump : undefined
    }
    const other = receipt !== undefined && (mode === 'new' || receipt.backup?.sha256 !== validated.sha256)
    const since = receipt && maxShrink !== undefined && other ? compareSinceReceipt(receipt, thisBackup, maxShrink) : undefined
    if (since) {
      result.sinceReceipt = since
      for (const [label, text] of describeSinceReceipt(since)) run.log(`${label}: ${text}`)
    }
    // The receipt of this very backup: compared exactly below; its totals held to max-shrink all the same.
    const shrunk = receipt && maxShrink !== undefined && !other ? shrinkageProblems(receipt, thisBackup, maxShrink) : []
    if (shrunk.length > 0)
      throw new VerificationError('restore-mismatch', `More than max-shrink (${maxShrink}%) since the receipt: ${shrunk.join('; ')}`)
    requireSameInventory(comparison)
    if (since && since.problems.length > 0)
      throw new VerificationError(
        'receipt-mismatch',
        `Since the receipt of another backup: ${since.problems.join('. ')}.`,
        SINCE_RECEIPT_HINT
      )
    judgeTeamChecks(v)
    const streamed = result.backup?.streamed === true
    done(
      `restored into ${result.restoreDatabase?.name}${streamed ? ' while pg_dump wrote' : ''}; ` +
        `${comparison.restored.length} of ${comparison.source.length} tables`
    )
  })
}
