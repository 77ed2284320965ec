// The platform as the archives of relocatable PostgreSQL builds name it: a Rust target triple.

import { VerificationError } from '../run/errors.js'

export type Libc = 'gnu' | 'musl'

const LINUX: Record<string, [string, string]> = {
  x64: ['x86_64-unknown-linux-gnu', 'x86_64-unknown-linux-musl'],
  arm64: ['aarch64-unknown-linux-gnu', 'aarch64-unknown-linux-musl'],
  arm: ['armv7-unknown-linux-gnueabihf', 'armv7-unknown-linux-musleabihf'],
  ia32: ['i686-unknown-linux-gnu', 'i686-unknown-linux-musl'],
  ppc64: ['powerpc64le-unknown-linux-gnu', 'powerpc64le-unknown-linux-musl'],
  s390x: ['s390x-unknown-linux-gnu', 's390x-unknown-linux-musl']
}
const DARWIN: Record<string, string> = { x64: 'x86_64-apple-darwin', arm64: 'aarch64-apple-darwin' }
const WINDOWS: Record<string, string> = { x64: 'x86_64-pc-windows-msvc', arm64: 'aarch64-pc-windows-msvc' }

export function targetTriple(platform: NodeJS.Platform, arch: string, libc: Libc = 'gnu'): string {
  const triple =
    platform === 'linux'
      ? LINUX[arch]?.[libc === 'musl' ? 1 : 0]
      : platform === 'darwin'
        ? DARWIN[arch]
        : platform === 'win32'
          ? WINDOWS[arch]
          : undefined
  if (!triple) {
    throw new VerificationError(
      'tools-missing',
      `No prebuilt PostgreSQL client is known for ${platform}/${arch}.`,
      'Install the client tools yourself and set PGBIN, or point tools-url at archives built for this platform.'
    )
  }
  return triple
}

/** glibc or musl (Alpine): Node reports the glibc version it runs on, and none under musl. */
export function detectLibc(): Libc {
  if (process.platform !== 'linux') return 'gnu'
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
  return header?.glibcVersionRuntime ? 'gnu' : 'musl'
}
