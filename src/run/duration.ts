// Durations as users write them ("5m", "300s", "1h30m", "1.5m", "7d", "250ms"), one form for every
// input; a bare number keeps the unit the input has always had (minutes for timeout, else seconds).

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000
}

/** What a duration input expects, for its error: the forms, and the unit a bare number is in. */
export function durationForms(bareUnit: 'seconds' | 'minutes' = 'seconds'): string {
  return `a duration such as 90s, 5m, 1h30m, 7d or 250ms (a bare number is ${bareUnit})`
}

/**
 * Milliseconds, or undefined when the text is not a duration (the caller names the input in its
 * error). One form for every input; a bare number keeps the input's own unit (seconds unless told).
 */
export function parseDuration(text: string, bareUnitMs = 1000): number | undefined {
  const value = text.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * bareUnitMs)
  if (!/^(\d+(\.\d+)?\s*(ms|sec|s|min|m|h|d)\s*)+$/.test(value)) return undefined
  let total = 0
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)/g)) total += Number(match[1]) * UNIT_MS[match[2]]
  return Math.round(total)
}

/** "6m 12s", "1.20 s", "350 ms": how long, as the alerts and the trend say it. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const totalSeconds = Math.round(ms / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  return [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', seconds ? `${seconds}s` : ''].filter(Boolean).join(' ')
}

/** An age in whole seconds: "0 s", "42 s", "1h 2m 5s". */
export function formatAge(seconds: number): string {
  return seconds < 60 ? `${seconds} s` : formatDuration(seconds * 1000)
}

/** "1 minute", "30 seconds", "1 hour 30 minutes", "600 ms": a limit in words, as a time-out is told. */
export function durationInWords(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const totalSeconds = Math.round(ms / 1000)
  const parts: [number, string][] = [
    [Math.floor(totalSeconds / 86_400), 'day'],
    [Math.floor((totalSeconds % 86_400) / 3600), 'hour'],
    [Math.floor((totalSeconds % 3600) / 60), 'minute'],
    [totalSeconds % 60, 'second']
  ]
  return parts
    .filter(([count]) => count > 0)
    .map(([count, unit]) => `${count} ${unit}${count === 1 ? '' : 's'}`)
    .join(' ')
}
