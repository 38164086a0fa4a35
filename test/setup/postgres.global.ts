/**
 * Once per test run: a throwaway PostgreSQL cluster (test/helpers/postgres-cluster.ts),
 * stopped and removed at the end. The tests read it with postgresUnderTest()
 * (test/helpers/postgres.ts). Without PostgreSQL's binaries its tests are skipped, and
 * this says so loudly; with REQUIRE_POSTGRES=1 (CI) the run fails instead.
 */
import type { TestProject } from 'vitest/node';
import { findPostgresBinaries, startPostgresCluster, type PostgresInfo } from '../helpers/postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const required = process.env.REQUIRE_POSTGRES === '1';
  const bin = findPostgresBinaries();
  if (bin === undefined) {
    const reason = 'PostgreSQL is not installed (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin): the PostgreSQL tests are SKIPPED. Install Debian\'s `postgresql` package to run them.';
    if (required) throw new Error(`REQUIRE_POSTGRES=1, but ${reason}`);
    process.stderr.write(`\n\n!!!!!!!!!! ${reason}\n\n`);
    project.provide('postgres', { available: false, reason });
    return () => {};
  }
  const cluster = await startPostgresCluster(bin);
  project.provide('postgres', { available: true, url: cluster.url, version: cluster.version });
  return () => cluster.stop();
}
