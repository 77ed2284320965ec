// Which client version to fetch, and from where: the postgres-version and tools-url inputs.

import { InputError } from '../run/errors.js'

export type VersionRequest =
  { kind: 'auto' } | { kind: 'major'; major: number } | { kind: 'exact'; major: number; minor: number; release: number }

/** A build in the archive: "<major>.<minor>.<release>", where release counts rebuilds of one PostgreSQL version. */
export interface ArchiveVersion {
  major: number
  minor: number
  release: number
}

export const DEFAULT_TOOLS_URL =
  'https://github.com/theseus-rs/postgresql-binaries/releases/download/{version}/postgresql-{version}-{target}.tar.gz'
/** Where the default source lists its releases, to find the newest build of a major. */
export const DEFAULT_RELEASES_URL = 'https://api.github.com/repos/theseus-rs/postgresql-binaries/releases?per_page=100'
const PLACEHOLDERS = ['version', 'major', 'minor', 'target', 'platform', 'arch'] as const
type Placeholder = (typeof PLACEHOLDERS)[number]

const VERSION_FORMS = 'auto, a major version such as 17, or an exact version such as 17.2 (or 17.2.0)'

export function parseVersionRequest(input: string, text: string): VersionRequest {
  const value = text.trim().toLowerCase()
  if (value === '' || value === 'auto') return { kind: 'auto' }
  const match = /^(\d{1,3})(?:\.(\d{1,3})(?:\.(\d{1,3}))?)?$/.exec(value)
  if (!match || Number(match[1]) < 10) throw new InputError(input, text, `${VERSION_FORMS} (10 or newer)`)
  const major = Number(match[1])
  if (match[2] === undefined) return { kind: 'major', major }
  return { kind: 'exact', major, minor: Number(match[2]), release: Number(match[3] ?? 0) }
}

export function formatArchiveVersion(version: ArchiveVersion): string {
  return `${version.major}.${version.minor}.${version.release}`
}

/** Checks a tools-url template: http(s) or file, known placeholders only, and one that names the version. */
export function validateToolsUrl(input: string, template: string): string {
  const accepted = `an http(s) URL template with {version} (or {major} and {minor}) and usually {target}; placeholders: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`
  const value = template.trim()
  let parsed: URL
  try {
    parsed = new URL(value.replace(/\{(\w+)\}/g, 'x'))
  } catch {
    throw new InputError(input, template, accepted)
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) throw new InputError(input, template, accepted)
  const used = [...value.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
  if (used.some((name) => !(PLACEHOLDERS as readonly string[]).includes(name))) throw new InputError(input, template, accepted)
  if (!used.includes('version') && !(used.includes('major') && used.includes('minor'))) throw new InputError(input, template, accepted)
  return value
}

export function expandToolsUrl(template: string, version: ArchiveVersion, target: string, platform: string, arch: string): string {
  const values: Record<Placeholder, string> = {
    version: formatArchiveVersion(version),
    major: String(version.major),
    minor: String(version.minor),
    target,
    platform,
    arch
  }
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name as Placeholder] ?? whole)
}

/** The checksum is published beside the archive, as "<archive>.sha256". */
export function checksumUrlFor(archiveUrl: string): string {
  const url = new URL(archiveUrl)
  url.pathname = `${url.pathname}.sha256`
  return url.toString()
}

/**
 * Reads a SHA-256 from a checksum file: "hex  name" (sha256sum, shasum) or certutil's output
 * (a header line, the hex possibly in space-separated pairs, a trailer line).
 */
export function parseChecksumFile(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const first = line.trim().split(/\s+/)[0] ?? ''
    if (/^[0-9a-f]{64}$/i.test(first)) return first.toLowerCase()
    const joined = line.replace(/\s+/g, '')
    if (/^[0-9a-f]{64}$/i.test(joined)) return joined.toLowerCase()
  }
  return undefined
}

/** The newest build of a major among release tags such as "17.2.0". */
export function newestOfMajor(tags: string[], major: number): ArchiveVersion | undefined {
  return tags
    .map((tag) => /^v?(\d+)\.(\d+)\.(\d+)$/.exec(tag.trim()))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === major)
    .map((m) => ({ major: Number(m[1]), minor: Number(m[2]), release: Number(m[3]) }))
    .sort((a, b) => b.minor - a.minor || b.release - a.release)[0]
}
