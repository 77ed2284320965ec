// The engine streams, so little is alive at a time; but V8 sizes its heap for speed, and on a
// database of tens of thousands of tables (definitions, jobs and fingerprints read in bursts) the
// heap grew to two or three times what was alive: 295 MiB at 20,000 tables, against 174 MiB once
// V8 is asked to favour size (docs/performance.md, "Many tables"). An action cannot choose the
// Node flags it runs with, so each entry point sets this one first, before the run allocates.

import { setFlagsFromString } from 'node:v8'

export function favourSmallHeap(): void {
  setFlagsFromString('--optimize-for-size')
}
