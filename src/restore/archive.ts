// A custom, directory or tar archive restored by pg_restore into the temporary database, in parallel
// where the format allows. When the client is newer than the server, pg_restore writes a script
// instead, which psql replays without the settings the server does not know. Afterwards the archive
// must still have its checksum.

import { pipeline } from 'node:stream/promises'
import type { BackupFormat } from '../backup/formats.js'
import { backupChecksum } from '../backup/archive/manifest.js'
import { startHeartbeat } from '../run/heartbeat.js'
import { errorLines, readerStopped, runTool } from '../tools/process.js'
import { SettingsFilter } from './compat.js'
import type { RestoreContext } from './context.js'
import { restoreFailure, serverGone } from './errors.js'
import { reportFiltered } from './psql.js'
import { runGated } from './plain.js'

/** pg_restore -j works for custom and directory archives; plain and tar restore in one session. */
function restoreArguments(
  format: BackupFormat,
  jobs: number,
  databaseName: string,
  archive: string,
  verbose: boolean,
  strict = false
): string[] {
  const args = ['--no-password', ...(strict ? ['--exit-on-error'] : []), `--dbname=${databaseName}`]
  if ((format === 'custom' || format === 'directory') && jobs > 1) args.push(`--jobs=${jobs}`)
  if (verbose) args.push('--verbose')
  args.push(archive)
  return args
}

export async function restoreArchive(replay: RestoreContext): Promise<string> {
  const { run, request } = replay
  const { backup } = request
  if (request.archiveThroughPsql)
    run.log(
      'Nothing vouches for the archive: its script is restored through psql, as the gate read it (not by pg_restore itself, in parallel)'
    )
  if (replay.unknownSettings.length > 0 || request.archiveThroughPsql) {
    const filter = new SettingsFilter(replay.unknownSettings)
    const [script] = await Promise.all([
      runTool(request.tools.pgRestore, ['--file=-', backup.path], {
        env: replay.env,
        signal: replay.signal,
        // psql stopping at an error stops the script's pipe: psql's exit tells why, pg_restore then stops too.
        consumeStdout: (stdout) =>
          pipeline(stdout, filter).catch((error: unknown) => {
            if (!readerStopped(error)) throw error
          })
      }),
      runGated(replay, filter, "psql (replaying pg_restore's script)")
    ])
    if (script.exitCode !== 0) {
      const lines = errorLines(run.redactor.redact(script.stderr))
      throw restoreFailure(
        'pg_restore',
        `Restore failed: pg_restore exited with code ${script.exitCode}: ${lines.join(' | ')}`,
        lines,
        script.stderr
      )
    }
    reportFiltered(replay, filter.removed)
  } else {
    const args = restoreArguments(backup.format, request.jobs, request.databaseName, backup.path, run.verbose, request.strict)
    const stopHeartbeat = startHeartbeat(run, 'pg_restore restoring')
    const before = replay.sorter.result().total
    const ran = await runTool(request.tools.pgRestore, args, {
      env: replay.env,
      signal: replay.signal,
      onLine: run.verbose ? (line) => run.log(run.redactor.redact(line)) : undefined,
      onErrorLine: (line) => replay.sorter.line(run.redactor.redact(line))
    }).finally(stopHeartbeat)
    // Without --exit-on-error pg_restore exits 1 when it ignored errors; those are sorted afterwards.
    const onlySortedErrors = !request.strict && ran.exitCode === 1 && replay.sorter.result().total > before
    if (ran.exitCode !== 0 && (!onlySortedErrors || serverGone(ran.stderr))) {
      const lines = errorLines(run.redactor.redact(ran.stderr))
      throw restoreFailure(
        'pg_restore',
        `Restore failed: pg_restore stopped at the first error (exit code ${ran.exitCode}): ${lines.join(' | ') || 'no error message'}`,
        lines,
        ran.stderr,
        request.strict && replay.sorter.onlyHarmless()
      )
    }
  }
  return backupChecksum(backup.path, backup.format, replay.signal)
}
