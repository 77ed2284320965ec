// Fetches an archive (or its checksum) over HTTP(S), through the runner's proxy settings, with
// retries and backoff on transient failures, hashing the bytes while they stream to disk.

import { HttpClient } from '@actions/http-client'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { VerificationError } from '../run/errors.js'

export interface RetryPolicy {
  attempts: number
  /** The first wait; each further wait doubles it. */
  baseDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 2000 }

/** A response that says "no such file": retrying cannot help. */
export class NotFoundError extends Error {
  constructor(readonly url: string) {
    super(`${url} answered 404 Not Found`)
  }
}

class TransientError extends Error {}

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET'
])

function client(): HttpClient {
  return new HttpClient('backup-verify', [], { allowRedirects: true, maxRedirects: 10, socketTimeout: 60_000 })
}

async function withRetries<T>(url: string, policy: RetryPolicy, log: (line: string) => void, attempt: () => Promise<T>): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt()
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? ''
      const transient =
        error instanceof TransientError || TRANSIENT_CODES.has(code) || /socket hang up|aborted|terminated/i.test(String(error))
      if (!transient || tried >= policy.attempts) {
        if (error instanceof NotFoundError || error instanceof VerificationError) throw error
        throw new VerificationError(
          'tools-download-failed',
          `Could not download ${url} after ${tried} attempt(s): ${error instanceof Error ? error.message : String(error)}`,
          'Check the network from the runner to that host, or point tools-url at a mirror.'
        )
      }
      const wait = policy.baseDelayMs * 2 ** (tried - 1)
      log(`Download of ${url} failed (${error instanceof Error ? error.message : String(error)}); retrying in ${wait} ms`)
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

async function open(url: string) {
  const response = await client().get(url)
  const status = response.message.statusCode ?? 0
  if (status === 200) return response
  response.message.resume()
  if (status === 404) throw new NotFoundError(url)
  if (TRANSIENT_STATUS.has(status)) throw new TransientError(`HTTP ${status}`)
  throw new VerificationError('tools-download-failed', `Could not download ${url}: HTTP ${status}`, 'Check tools-url.')
}

export async function fetchText(url: string, policy: RetryPolicy, log: (line: string) => void): Promise<string> {
  if (url.startsWith('file:')) return readLocal(url)
  return withRetries(url, policy, log, async () => (await open(url)).readBody())
}

async function readLocal(url: string): Promise<string> {
  try {
    return await readFile(fileURLToPath(url), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(url)
    throw error
  }
}

/** Streams the URL into `file` and returns the SHA-256 of the bytes written. */
export async function downloadFile(url: string, file: string, policy: RetryPolicy, log: (line: string) => void): Promise<string> {
  const transfer = async (source: NodeJS.ReadableStream) => {
    const hash = createHash('sha256')
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        done(null, chunk)
      }
    })
    await pipeline(source, hashing, createWriteStream(file))
    return hash.digest('hex')
  }
  if (url.startsWith('file:')) {
    const local = fileURLToPath(url)
    await stat(local).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new NotFoundError(url) : error
    })
    return transfer(createReadStream(local))
  }
  return withRetries(url, policy, log, async () => transfer((await open(url)).message))
}
