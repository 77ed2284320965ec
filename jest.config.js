// ESM TypeScript through ts-jest, as two projects: `unit` needs no server and answers in seconds;
// `server` starts real PostgreSQL servers (and holds the slow server-free tests), so it gets time.
const common = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] }
}

export default {
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/__tests__/unit'], testMatch: ['**/*.test.ts'] },
    { ...common, displayName: 'server', roots: ['<rootDir>/__tests__/server'], testMatch: ['**/*.test.ts'] }
  ],
  // Every skipped test is listed at the end with why (__tests__/support/skips.ts).
  reporters: ['default', '<rootDir>/__tests__/support/skip-reporter.cjs'],
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: true
}
