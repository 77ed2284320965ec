// A download server on 127.0.0.1 laid out like the default source of client tools
// (/<version>/postgresql-<version>-<target>.tar.gz and .sha256), serving an archive built at test
// time from the client tools installed on this machine.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { ClientTools } from '../../src/tools/locate.js'

export interface ClientArchive {
  /** "15.18.0": the version as the default source names its builds. */
  version: string
  name: string
  bytes: Buffer
  sha256: string
}

export async function buildClientArchive(tools: ClientTools, target: string): Promise<ClientArchive> {
  const version = `${tools.version.major}.${tools.version.minor}.0`
  const name = `postgresql-${version}-${target}`
  const work = await mkdtemp(path.join(os.tmpdir(), 'backup-verify-archive-'))
  try {
    await mkdir(path.join(work, name, 'bin'), { recursive: true })
    for (const tool of [tools.pgDump, tools.pgRestore, tools.psql]) {
      await copyFile(tool, path.join(work, name, 'bin', path.basename(tool)))
    }
    execFileSync('tar', ['-czf', `${name}.tar.gz`, name], { cwd: work })
    const bytes = await readFile(path.join(work, `${name}.tar.gz`))
    return { version, name, bytes, sha256: createHash('sha256').update(bytes).digest('hex') }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

export type Behaviour = 'serve' | 'reset' | 'not-found'

export interface ArchiveServer {
  /** The tools-url template that points here. */
  template: string
  /** Requests received, by path. */
  requests: string[]
  /** What to do with the next requests of a path: the first entries are used up, the last one stays. */
  behave(pathname: string, ...behaviours: Behaviour[]): void
  close(): Promise<void>
}

export async function startArchiveServer(files: Record<string, Buffer | string>): Promise<ArchiveServer> {
  const requests: string[] = []
  const plans = new Map<string, Behaviour[]>()
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    requests.push(pathname)
    const plan = plans.get(pathname)
    const behaviour = plan ? (plan.length > 1 ? plan.shift()! : plan[0]) : 'serve'
    const body = files[pathname]
    if (behaviour === 'reset') return request.socket.destroy()
    if (behaviour === 'not-found' || body === undefined) {
      response.writeHead(404).end('Not Found')
      return
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    template: `http://127.0.0.1:${port}/{version}/postgresql-{version}-{target}.tar.gz`,
    requests,
    behave: (pathname, ...behaviours) => void plans.set(pathname, behaviours),
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/** The files of one archive, at the paths the template expands to. */
export function archiveFiles(archive: ClientArchive, checksum = archive.sha256): Record<string, Buffer | string> {
  return {
    [`/${archive.version}/${archive.name}.tar.gz`]: archive.bytes,
    [`/${archive.version}/${archive.name}.tar.gz.sha256`]: `${checksum}  ${archive.name}.tar.gz\n`
  }
}
