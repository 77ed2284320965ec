// Phase 3 as the engine runs it: the restore (started here, or by the Create phase when streamed),
// the restored database inspected before it is dropped, and the comparison with the reference.

import type { CreatedBackup } from '../backup/on-disk.js'
import { compareInventories, describeComparison, requireSameInventory } from '../compare/compare.js'
import { readDatabaseInventory, type Inventory } from '../compare/inventory.js'
import { shrinkageProblems } from '../report/receipt.js'
import { describeHarmless } from '../restore/errors.js'
import { changedAfterValidation, restoreBackup, type Restored } from '../restore/restore.js'
import type { RestoreRequest } from '../restore/context.js'
import { temporaryDatabaseName } from '../restore/temporary-database.js'
import { VerificationError } from '../run/errors.js'
import type { Connected } from './connected.js'
import type { StreamControls } from './streamed-restore.js'
import type { Verification } from './verification.js'

/** A restore into a new temporary database; its inventory is read before it is dropped. */
export function startRestore(
  v: Verification,
  connected: Connected,
  backup: RestoreRequest['backup'],
  streamed?: StreamControls
): Promise<Restored<Inventory>> {
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
    stallMs: v.options.stallMs,
    written: streamed?.written,
    relay: streamed?.relay,
    signal: streamed?.signal,
    onBackupRead: streamed?.onBackupRead,
    onDropped: () => (result.restoreDatabase = { name: databaseName, dropped: true }),
    afterRestore: v.options.hooks?.afterRestore
  }
  return restoreBackup(v.run, request, (database) =>
    readDatabaseInventory(connected.restoreServer.target, database, settings.verifyLevel, settings.jobs)
  )
}

/**
 * The restore's result against its reference: the dumped snapshot's inventory, the receipt's, or
 * none (an existing backup without a receipt of its own, which is described, not compared).
 */
export async function restorePhase(
  v: Verification,
  restore: () => Promise<Restored<Inventory>>,
  validated: CreatedBackup,
  reference: Inventory | undefined,
  referenceKind: 'snapshot' | 'receipt'
): Promise<void> {
  const { settings, result, run } = v
  await v.phases.run('Restore', async (done) => {
    const { inspected, restoredChecksum, ignoredErrors } = await restore()
    // A streamed restore that planned from the Create phase's own read has no second checksum: the
    // file was read again once the restore had read it (Validate), and every range it re-read was checked.
    if (restoredChecksum !== undefined && restoredChecksum !== validated.sha256)
      throw changedAfterValidation(restoredChecksum, validated.sha256)
    const comparison = compareInventories(reference, inspected, validated.sequences ?? [], referenceKind, settings.verifyLevel)
    run.log(describeComparison(comparison, reference, inspected))
    result.tables = comparison
    result.inventory = reference ?? inspected
    if (ignoredErrors.total > 0) result.ignoredRestoreErrors = { total: ignoredErrors.total, detail: describeHarmless(ignoredErrors) }
    const receipt = v.references.receipt
    if (receipt && settings.maxShrinkPercent !== undefined) {
      const rows = inspected.content.reduce((sum, entry) => sum + (entry.rows ?? 0), 0)
      const shrunk = shrinkageProblems(receipt, validated.sizeBytes, rows, settings.maxShrinkPercent)
      if (shrunk.length > 0)
        throw new VerificationError(
          'restore-mismatch',
          `More than max-shrink (${settings.maxShrinkPercent}%) since the receipt: ${shrunk.join('; ')}`
        )
    }
    requireSameInventory(comparison)
    const streamed = result.backup?.streamed === true
    done(
      `restored into ${result.restoreDatabase?.name}${streamed ? ' while pg_dump wrote' : ''}; ` +
        `${comparison.restored.length} of ${comparison.source.length} tables`
    )
  })
}
