// Reads the version a PostgreSQL client tool reports about itself.

export interface ToolVersion {
  /** 15 for 15.18, 18 for 18beta1, 9.6 for 9.6.24. */
  major: number
  minor: number
  /** The version as printed: "15.18", "18beta1", "9.6.24". */
  text: string
}

/**
 * Understands every form seen in the wild: "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)",
 * "pg_dump (PostgreSQL) 17.2 (Homebrew)", "pg_dump.exe (PostgreSQL) 16.4", "pg_dump (PostgreSQL) 18beta1",
 * "psql (PostgreSQL) 9.6.24".
 */
export function parseToolVersion(output: string): ToolVersion | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:alpha|beta|rc|devel)\d*)?/i.exec(output)
  if (!match) return undefined
  const [, first, second, third, pre] = match
  const text = match[0].replace(/^\(PostgreSQL\)\s+/i, '')
  const one = Number(first)
  if (one >= 10) return { major: one, minor: pre ? 0 : Number(second ?? 0), text }
  return { major: one + Number(second ?? 0) / 10, minor: Number(third ?? 0), text }
}

export function compareVersions(a: ToolVersion, b: ToolVersion): number {
  return a.major - b.major || a.minor - b.minor
}
