/**
 * The PostgreSQL cluster of this test run (test/setup/postgres.global.ts), for the tests
 * that need one: `describe.skipIf(!postgres.available)`. A skip is loud, and under
 * REQUIRE_POSTGRES=1 the run has failed before any test (the global setup refuses).
 */
import { inject } from 'vitest';
import type { PostgresInfo } from './postgres-cluster.js';

export { createDatabase } from './postgres-cluster.js';

export function postgresUnderTest(): PostgresInfo {
  const info = inject('postgres');
  if (!info.available) process.stderr.write(`\n!!!!!!!!!! ${info.reason}\n`);
  return info;
}
