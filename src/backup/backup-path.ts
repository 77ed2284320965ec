// Whether a path can be a backup at all: a regular file, or a folder of regular files.

import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'

const FILE_KINDS: Array<[keyof Stats, string]> = [
  ['isFIFO', 'a FIFO (named pipe)'],
  ['isSocket', 'a socket'],
  ['isCharacterDevice', 'a character device'],
  ['isBlockDevice', 'a block device']
]

/**
 * Why a path cannot be a backup, or undefined when it can: a backup is a regular file, or a folder
 * of regular files. A device or a pipe would be read forever, and files under /proc or /sys are
 * made up as they are read.
 */
export function backupPathProblem(file: string): string | undefined {
  let info: Stats
  try {
    info = statSync(file)
  } catch {
    return 'nothing is there'
  }
  let real = file
  try {
    real = realpathSync(file)
  } catch {
    // Checked by its kind alone.
  }
  const kind = FILE_KINDS.find(([test]) => (info[test] as () => boolean).call(info))
  if (kind) return `${file} is ${kind[1]}, which would be read forever`
  if (/^\/(proc|sys)(\/|$)|^\/dev\/(?!shm\/)/.test(real) || /^\\\\[.?]\\/.test(file))
    return `${real} is a file the system makes up as it is read, not a backup`
  if (info.isDirectory()) {
    const odd = readdirSync(file, { withFileTypes: true }).find(
      (entry) => !entry.isFile() && !(entry.isSymbolicLink() && statSync(path.join(file, entry.name), { throwIfNoEntry: false })?.isFile())
    )
    if (odd) return `the folder holds ${odd.name}, which is not a regular file (a directory-format backup holds only files)`
    return undefined
  }
  return info.isFile() ? undefined : `${file} is not a regular file`
}

/** Whether `where` is a folder (a physical backup is one: the folder pg_basebackup wrote). */
export async function isFolder(where: string): Promise<boolean> {
  const info = await stat(where).catch(() => undefined)
  return info?.isDirectory() === true
}
