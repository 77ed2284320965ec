// Throughput and memory of the one-pass backup inspection (SHA-256 + plain-dump scan) against
// `sha256sum` reading the same bytes, in the same run. Usage: npm run bench:inspect [-- MiB]
import { spawn } from 'node:child_process'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InspectingStream, plainObserver } from '../build/src/backup/inspect.js'

const mebibytes = Number(process.argv[2] ?? 512)
const row = Buffer.from('12345\tCustomer name ünïcødé\t2026-01-01 00:00:00+00\t{"a": 1, "b": [1, 2, 3]}\t499.99\n')
const block = Buffer.concat(Array(Math.ceil(1048576 / row.length)).fill(row))
const head = Buffer.from('--\n-- PostgreSQL database dump\n--\n\nCOPY public.t (a, b, c, d, e) FROM stdin;\n')
const tail = Buffer.from('\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n')
function* dump() {
  yield head
  for (let i = 0; i < mebibytes; i++) yield block
  yield tail
}
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9

const startInspect = process.hrtime.bigint()
const inspector = new InspectingStream(plainObserver(false))
await pipeline(Readable.from(dump()), inspector, new Writable({ write: (_chunk, _encoding, done) => done() }))
const inspectSeconds = seconds(startInspect)
const { sizeBytes, observed: scan } = inspector.result()

const startRaw = process.hrtime.bigint()
const sha256sum = spawn('sha256sum', ['-'], { stdio: ['pipe', 'ignore', 'inherit'] })
await pipeline(Readable.from(dump()), sha256sum.stdin)
await new Promise((resolve) => sha256sum.on('close', resolve))
const rawSeconds = seconds(startRaw)

const rate = (s) => `${(sizeBytes / 1048576 / s).toFixed(0)} MiB/s`
console.log(`bytes:                 ${sizeBytes} (${scan.copyBlocks} COPY blocks, trailer found: ${scan.hasTrailer})`)
console.log(`inspection (hash+scan): ${inspectSeconds.toFixed(2)} s, ${rate(inspectSeconds)}`)
console.log(`sha256sum alone:        ${rawSeconds.toFixed(2)} s, ${rate(rawSeconds)}`)
console.log(`ratio inspection/raw:  ${(inspectSeconds / rawSeconds).toFixed(2)}x`)
console.log(`max RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
