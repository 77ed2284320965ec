// A temporary folder of the run's own, with a name that says whose it is: the run's workspace, and
// the copy of a physical backup when the server's account cannot reach the workspace.

import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A new empty folder `<prefix>XXXXXX` in `root` (the system's temporary folder by default). */
export async function makeTemporaryFolder(prefix: string, root: string = os.tmpdir()): Promise<string> {
  return mkdtemp(path.join(root, prefix))
}
