// Whether an archive holds every WAL segment from a backup's start on, without a hole: recovery
// stops quietly at the first segment it cannot fetch, as if the archive ended there, and a copy
// then comes up older than the archive promised. Segments are named by timeline, log and segment.

interface Segment {
  name: string
  timeline: number
  log: number
  segment: number
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/

function parseSegment(name: string): Segment | undefined {
  const match = SEGMENT.exec(name)
  if (!match) return undefined
  return { name, timeline: parseInt(match[1], 16), log: parseInt(match[2], 16), segment: parseInt(match[3], 16) }
}

const hex = (value: number) => value.toString(16).toUpperCase().padStart(8, '0')
const segmentName = (timeline: number, log: number, segment: number) => `${hex(timeline)}${hex(log)}${hex(segment)}`

/**
 * The segments missing between a backup's first one and the newest of each timeline from it on:
 * on the backup's timeline from its start, on a later one from its first segment. How many
 * segments a log holds is read off a log the archive has moved past (256 for the default 16 MB).
 */
export function walGaps(names: Iterable<string>, from: string): string[] {
  const start = parseSegment(from)
  if (!start) return []
  const segments = [...names].map(parseSegment).filter((segment): segment is Segment => segment !== undefined)
  const byTimeline = new Map<number, Segment[]>()
  for (const segment of segments) {
    if (segment.timeline < start.timeline) continue
    if (segment.timeline === start.timeline && (segment.log < start.log || (segment.log === start.log && segment.segment < start.segment)))
      continue
    byTimeline.set(segment.timeline, [...(byTimeline.get(segment.timeline) ?? []), segment])
  }
  const logs = new Map<number, number>()
  for (const segment of segments) logs.set(segment.log, Math.max(logs.get(segment.log) ?? 0, segment.segment))
  const passed = [...logs.entries()].filter(([log]) => logs.has(log + 1)).map(([, last]) => last + 1)
  const perLog = passed.length > 0 ? Math.max(...passed) : 256
  const missing: string[] = []
  if (!(byTimeline.get(start.timeline) ?? []).some((segment) => segment.name === from)) missing.push(from)
  for (const [timeline, list] of byTimeline) {
    const sorted = [...new Map(list.map((segment) => [segment.name, segment])).values()].sort(
      (a, b) => a.log - b.log || a.segment - b.segment
    )
    let expected =
      timeline === start.timeline ? { log: start.log, segment: start.segment } : { log: sorted[0].log, segment: sorted[0].segment }
    for (const segment of sorted) {
      // Every name from the one expected up to this one is a hole (bounded: a report, not an enumeration).
      while (
        (expected.log < segment.log || (expected.log === segment.log && expected.segment < segment.segment)) &&
        missing.length < 1000
      ) {
        missing.push(segmentName(timeline, expected.log, expected.segment))
        expected =
          expected.segment + 1 >= perLog ? { log: expected.log + 1, segment: 0 } : { log: expected.log, segment: expected.segment + 1 }
      }
      expected = segment.segment + 1 >= perLog ? { log: segment.log + 1, segment: 0 } : { log: segment.log, segment: segment.segment + 1 }
    }
  }
  return [...new Set(missing)]
}
