// Byte sizes as users write them ("10240", "10KB", "10 KiB", "5MB").

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3
}

export const SIZE_FORMS =
  'a whole number of bytes or a number with a unit: B, KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB ' +
  '(powers of 1024), e.g. 1024, 10KB, 10 KiB, 5MB'

/** Parses a size; returns undefined when the text is not one (the caller names the input in its error). */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  if (!match) return undefined
  const factor = UNITS[match[2].toLowerCase()]
  if (factor === undefined) return undefined
  const bytes = Math.round(Number(match[1]) * factor)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}
