import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // One test file per core. Vitest's default keeps a core free (numCpus - 1), which on a
    // 2-core CI machine runs the files one at a time while most of them wait on child
    // processes, sockets and PostgreSQL rather than compute.
    maxWorkers: '100%',
    // Once per run: a throwaway PostgreSQL cluster for the PostgreSQL store's tests (skipped loudly
    // without its binaries), and src/ transpiled for the tests that start child processes.
    globalSetup: ['test/setup/postgres.global.ts', 'test/setup/compiled-source.global.ts'],
  },
});
