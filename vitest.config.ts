import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // A throwaway PostgreSQL cluster for the tests of the PostgreSQL store (skipped loudly without its binaries).
    globalSetup: ['test/setup/postgres.global.ts', 'test/setup/compiled-source.global.ts'],
  },
});
