// Phase 1 as the engine runs it: connected, the room checked, the source's inventory taken in the
// snapshot pg_dump dumps, the dump written, and (streamed) the restore following it as it grows.

import { describeCompression, restoreJobs, backupExtension } from '../backup/formats.js'
import type { CreatedBackup } from '../backup/on-disk.js'
import type { Inventory } from '../compare/inventory.js'
import type { RestoredInspection } from '../compare/restored.js'
import { SourceSnapshot } from '../compare/snapshot.js'
import { openSession } from '../connection/session.js'
import { backupFileName, createBackup } from '../create/dump.js'
import { checkRoomForBackup } from '../create/room.js'
import { describeReadError, VerificationError } from '../run/errors.js'
import { Connected } from './connected.js'
import { startRestore } from './restore-phase.js'
import type { SafetyFacts } from '../report/result.js'
import { StreamedRestore } from './streamed-restore.js'
import type { Verification } from './verification.js'
import { noteNewestData } from './evidence.js'

/** What a run holds that must be let go of at its end, whatever happened. */
export interface Held {
  connected?: Connected
  streamed?: StreamedRestore<RestoredInspection>
  /** An existing backup's receipt was written for it: the restore is compared with the receipt. */
  describedByReceipt?: boolean
  /** What vouches for the backup, once Validate knows; undefined: nothing does. */
  trustedBy?: SafetyFacts['trustedBy']
}

export interface Created {
  backup: CreatedBackup
  /** The source's inventory, read in the dumped snapshot. */
  inventory: Inventory
}

export async function createPhase(v: Verification, held: Held): Promise<Created> {
  const { settings, run, result } = v
  if (settings.connection.kind !== 'postgres') throw new Error('only a PostgreSQL source can be dumped')
  const target = settings.connection.target
  return v.phases.run('Create', async (done) => {
    const connected = (held.connected = await Connected.open(
      run,
      settings,
      v.workspace,
      { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry },
      result
    ))
    const expectedBytes = await checkRoomForBackup(connected.source, v.workspace.folder, settings.format, settings.compression, run.log)
    const backupPath = v.workspace.path(backupFileName(target.database, v.started, backupExtension(settings.format, settings.compression)))
    const compression = describeCompression(settings.compression, settings.format)
    const jobs = settings.format === 'directory' ? settings.jobs : 1
    run.log(`Backup: ${backupPath} (${settings.format} format, compression ${compression}${jobs > 1 ? `, ${jobs} parallel jobs` : ''})`)
    // The inventory is read in the snapshot pg_dump dumps, so writes during the dump change neither;
    // the snapshot is opened only now, to hold the source's horizon back no longer than needed.
    const snapshot = await SourceSnapshot.open(await openSession(target, target.database, { signal: run.signal, report: run.warn }))
    noteNewestData(v, new Date(), 'the snapshot pg_dump dumped')
    try {
      const inventory = snapshot.inventory(settings.verifyLevel, connected.restoreServer.major)
      inventory.catch(() => {})
      // Streamed: the restore follows the file while pg_dump writes it, each at its own pace.
      const streamed = settings.pipeline && settings.format === 'plain'
      if (streamed) {
        const parallel = restoreJobs(settings.format, settings.compression, settings.jobs) > 1
        const backup = { path: backupPath, format: settings.format, compression: settings.compression }
        held.streamed = new StreamedRestore(parallel, (controls) => startRestore(v, connected, backup, { untrusted: false }, controls))
        run.log(`Streaming: psql restores into ${result.restoreDatabase?.name} while pg_dump writes`)
      }
      let created: CreatedBackup
      let source: Inventory
      try {
        created = await createBackup(run, {
          tools: connected.tools,
          env: connected.env,
          backupPath,
          format: settings.format,
          compression: settings.compression,
          jobs: settings.jobs,
          // With alert-mode warn, min-size warns when the run ends instead of failing here.
          minSizeBytes: settings.alerts.mode === 'warn' ? 0 : settings.minSizeBytes,
          snapshot: snapshot.id,
          expectedBytes,
          relay: held.streamed?.relay,
          scan: { content: settings.verifyLevel === 'data' }
        })
        held.streamed?.dumped(created.sizeBytes)
        source = { ...(await inventory), outputSettings: connected.outputSettings }
      } catch (error) {
        await held.streamed?.abandon(error)
        // A count that failed ends the snapshot's transaction, and pg_dump then fails to import the
        // snapshot: the count's error is the cause to report.
        const countFailure = await inventory.then(
          () => undefined,
          (failure: unknown) => failure
        )
        const described = countFailure === undefined ? undefined : describeReadError(countFailure)
        throw described instanceof VerificationError ? described : error
      }
      result.backup = {
        path: backupPath,
        sizeBytes: created.sizeBytes,
        sha256: created.sha256,
        format: settings.format,
        compression,
        jobs: restoreJobs(settings.format, settings.compression, settings.jobs),
        files: created.manifest?.entries.length,
        streamed,
        kept: false
      }
      done(
        `pg_dump ${connected.tools.version.text}, ${settings.format} format, ${created.sizeBytes} ` +
          `bytes${streamed ? ', streamed into psql' : ''}`
      )
      return { backup: created, inventory: source }
    } finally {
      // Only as long as needed: pg_dump has finished with the snapshot, and its locks would block writers.
      await snapshot.close()
    }
  })
}
