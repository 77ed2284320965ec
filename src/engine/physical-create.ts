// A new physical backup (method: physical, no backup-file): the Create phase runs pg_basebackup into
// the run's folder between two readings of the source database, which the Restore phase holds the
// copy to (see physical/source-comparison.ts).

import { describeBytes } from '../run/bytes.js'
import { VerificationError } from '../run/errors.js'
import { backupTooSmall } from '../create/dump.js'
import { recognisePhysical } from '../physical/layout.js'
import { runBasebackup } from '../physical/basebackup.js'
import { readSourceState, writtenBetween, type SourceAround } from '../physical/source-comparison.js'
import { Connected } from './connected.js'
import type { Verification } from './verification.js'

/** Runs the Create phase; returns the backup's folder and the source around it. */
export async function createPhysical(v: Verification): Promise<{ folder: string; source: SourceAround }> {
  const { settings, run, result } = v
  return v.phases.run(
    'Create',
    async (done) => {
      const connected = await Connected.open(
        run,
        settings,
        v.workspace,
        { env: v.env, toolCache: v.options.toolCache, retry: v.options.retry },
        result
      )
      try {
        const database = (await connected.source.query<{ name: string }>('SELECT current_database() AS name')).rows[0].name
        const before = await readSourceState(connected.source, settings.verifyLevel)
        const folder = v.workspace.path('base-backup')
        await runBasebackup(run, {
          tools: connected.tools,
          env: connected.env,
          folder,
          compression: settings.compression,
          verbose: settings.verbose
        })
        const made = await recognisePhysical(folder)
        if (!made) throw new VerificationError('dump-failed', `pg_basebackup wrote no base backup into ${folder}.`)
        if (settings.alerts.mode === 'fail' && made.sizeBytes < settings.minSizeBytes) {
          throw backupTooSmall('Base backup', made.sizeBytes, settings.minSizeBytes)
        }
        // Statistics reach the shared counters when a session goes idle: a write just before now has been counted.
        await new Promise((resolve) => setTimeout(resolve, 1100))
        const after = await readSourceState(connected.source, settings.verifyLevel)
        // An unlogged table is named as such, whether it was written to or not.
        const unlogged = [...new Set([...before.unlogged, ...after.unlogged])]
        const written = writtenBetween(before, after).filter((table) => !unlogged.includes(table))
        if (written.length > 0) {
          run.warn(
            `The source was written to while the backup ran: ${written.length} table(s) changed (${written.slice(0, 10).join(', ')}` +
              `${written.length > 10 ? ', …' : ''}); the copy is compared exactly only on the tables that stayed quiet.`
          )
        }
        done(`pg_basebackup ${connected.tools.version.text}, tar format, WAL streamed; ${describeBytes(made.sizeBytes)}`)
        return { folder, source: { database, before: before.inventory, after: after.inventory, written, unlogged } }
      } finally {
        await connected.close()
      }
    },
    'Create: pg_basebackup writes a base backup'
  )
}
