// One verification by the engine (built into build/ by `npm run bench`), in a process of its own so
// that its peak memory can be read. Prints one JSON line.
import { loadSettings } from '../../build/src/inputs/inputs.js'
import { verifyBackup } from '../../build/src/engine/verify.js'
import { favourSmallHeap } from '../../build/src/run/heap.js'

// As the action and the command line run it.
favourSmallHeap()
const inputs = JSON.parse(process.argv[2])
const settings = loadSettings({ get: (name) => inputs[name] ?? '', environment: process.env, workingDirectory: process.cwd() })
const quiet = { info() {}, warning: (m) => process.stderr.write(`warning: ${m}\n`), group: (_n, fn) => fn(), mask() {} }
const started = process.hrtime.bigint()
const result = await verifyBackup({ settings, reporter: quiet })
const ms = Number(process.hrtime.bigint() - started) / 1e6
process.stdout.write(
  `${JSON.stringify({
    ms,
    status: result.status,
    error: result.error?.message,
    sizeBytes: result.backup?.sizeBytes,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    // The engine's own CPU time (the servers and client tools it runs are apart).
    cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
    startupMs: result.restoreServer?.kind === 'throwaway' ? result.restoreServer.startupMs : undefined,
    restoreMs: result.physical?.repository?.restoreMs
  })}\n`
)
