// The settings of a throwaway server that receives a restore: a load nobody keeps, so nothing is
// made durable, nothing runs in the background, and index builds get the machine's memory and cores.
// Every setting goes on the server's command line, where no file can override it.

/** What the server may take of the machine. */
export interface Machine {
  memoryBytes: number
  cores: number
}

const MiB = 1024 * 1024

/** Settings that make the server a private, socket-only one, whatever it is tuned for. */
export function privateSettings(socketDirectory: string, port: number, connections: number): Record<string, string> {
  return {
    port: String(port),
    listen_addresses: '',
    unix_socket_directories: socketDirectory,
    unix_socket_permissions: '0700',
    max_connections: String(connections),
    ssl: 'off',
    logging_collector: 'off',
    log_destination: 'stderr',
    lc_messages: 'C',
    cluster_name: 'backup-verify',
    // Nothing the runner's shared libraries or huge pages could change.
    shared_preload_libraries: '',
    huge_pages: 'off'
  }
}

/**
 * A restore's server: no WAL kept beyond what a crash of this very server would need (and with
 * wal_level minimal, none for a table created and loaded in one transaction), no fsync, checkpoints
 * far apart, no autovacuum (the comparison reads every row once, right after), memory for index
 * builds sized to the machine.
 */
export function restoreSettings(machine: Machine): Record<string, string> {
  const memory = Math.max(machine.memoryBytes, 512 * MiB)
  const megabytes = (bytes: number) => `${Math.floor(bytes / MiB)}MB`
  const workers = Math.max(0, Math.min(machine.cores - 1, 8))
  return {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    wal_level: 'minimal',
    max_wal_senders: '0',
    archive_mode: 'off',
    wal_buffers: '16MB',
    checkpoint_timeout: '1h',
    // WAL recycled at each checkpoint: far apart, but not more than the runner's disk can hold.
    max_wal_size: '4GB',
    autovacuum: 'off',
    shared_buffers: megabytes(Math.min(memory / 8, 1024 * MiB)),
    maintenance_work_mem: megabytes(Math.min(memory / 8, 1024 * MiB)),
    work_mem: '32MB',
    max_parallel_maintenance_workers: String(workers),
    max_parallel_workers: String(Math.max(workers, 2)),
    max_worker_processes: String(Math.max(workers, 2) + 2),
    jit: 'off',
    // Parallel index builds share memory in files of the data folder: a container's /dev/shm is often 64 MB.
    ...(process.platform === 'win32' ? {} : { dynamic_shared_memory_type: 'mmap' })
  }
}

/** The settings of restoreSettings that a durable server would never run with, in the summary's words. */
export const NOT_DURABLE = ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'wal_level = minimal', 'autovacuum = off']

/** -c name=value for each setting. */
export function commandLine(settings: Record<string, string>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])
}
