// The index and key definitions waiting to be built, taken the way the scheduler wants them: of the
// tables whose rows are all in, the one with the most work left first. Kept in heaps, so that a dump
// of tens of thousands of tables costs a logarithm per definition, not a pass over every table.

import type { DefinitionJob } from './planner.js'

/** What the queue asks of the scheduler about a table and the jobs before a definition. */
export interface DefinitionReadiness {
  /** Rows of the table still to load: its definitions wait for them. */
  rowsPending(table: string): boolean
  /** The bytes of the table's rows, its weight with the number of definitions left. */
  rowBytes(table: string): number
  /** Index builds running on the table (they share it), or a key being added (it has it alone). */
  building(table: string): { indexes: number; exclusive: boolean } | undefined
  /** A job that runs in the dump's order, before this one, has not finished. */
  serialBefore(index: number): boolean
}

interface Lane {
  table: string
  /** The table's definitions not started, in the dump's order. */
  jobs: DefinitionJob[]
  /** When the lane was opened: of two tables with as much work, the earlier goes first. */
  opened: number
  /** Raised on every change: an entry of an older version is stale. */
  version: number
}

interface Entry {
  lane: Lane
  version: number
  weight: number
  /** The job index of the lane's next definition when the entry was made. */
  head: number
}

export class DefinitionQueue {
  private readonly lanes = new Map<string, Lane>()
  /** Lanes that may be ready, the most work first (entries are checked again when taken). */
  private readonly candidates = new Heap<Entry>((a, b) => a.weight > b.weight || (a.weight === b.weight && a.lane.opened < b.lane.opened))
  /** Lanes whose next definition waits for a job in the dump's order, the earliest first. */
  private readonly afterSerial = new Heap<Entry>((a, b) => a.head < b.head)
  private opened = 0

  constructor(private readonly readiness: DefinitionReadiness) {}

  add(job: DefinitionJob): void {
    let lane = this.lanes.get(job.table)
    if (!lane) this.lanes.set(job.table, (lane = { table: job.table, jobs: [], opened: this.opened++, version: 0 }))
    lane.jobs.push(job)
    this.offer(lane)
  }

  /** Something that decides whether the table's next definition may start changed: its rows are in, a build on it ended. */
  changed(table: string): void {
    const lane = this.lanes.get(table)
    if (lane) this.offer(lane)
  }

  /** Jobs in the dump's order finished: definitions that waited for them may start. */
  serialAdvanced(): void {
    for (let entry = this.afterSerial.peek(); entry; entry = this.afterSerial.peek()) {
      if (entry.version === entry.lane.version && this.readiness.serialBefore(entry.head)) break
      this.afterSerial.pop()
      if (entry.version === entry.lane.version) this.candidates.push(entry)
    }
  }

  /** The next definition that may start now, taken off its lane; none when every one waits. */
  next(): DefinitionJob | undefined {
    for (let entry = this.candidates.pop(); entry; entry = this.candidates.pop()) {
      const { lane } = entry
      // Stale, or waiting: a lane is offered again when its rows are in or a build on it ends.
      if (entry.version !== lane.version || this.readiness.rowsPending(lane.table)) continue
      const head = lane.jobs[0]
      const building = this.readiness.building(lane.table)
      if (building && (building.exclusive || (!head.shared && building.indexes > 0))) continue
      if (this.readiness.serialBefore(head.index)) {
        this.afterSerial.push(entry)
        continue
      }
      lane.jobs.shift()
      if (lane.jobs.length === 0) this.lanes.delete(lane.table)
      // Another index of the same table may be built beside this one.
      else this.offer(lane)
      return head
    }
    return undefined
  }

  private offer(lane: Lane): void {
    lane.version++
    const weight = (this.readiness.rowBytes(lane.table) + 1) * lane.jobs.length
    this.candidates.push({ lane, version: lane.version, weight, head: lane.jobs[0].index })
  }
}

/** A binary heap: pop() gives the entry that goes before every other. */
class Heap<T> {
  private readonly items: T[] = []

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    let at = items.push(item) - 1
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (!this.before(items[at], items[parent])) break
      ;[items[at], items[parent]] = [items[parent], items[at]]
      at = parent
    }
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      for (let at = 0; ;) {
        const left = 2 * at + 1
        const right = left + 1
        let first = at
        if (left < items.length && this.before(items[left], items[first])) first = left
        if (right < items.length && this.before(items[right], items[first])) first = right
        if (first === at) break
        ;[items[at], items[first]] = [items[first], items[at]]
        at = first
      }
    }
    return top
  }
}
