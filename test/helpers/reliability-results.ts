/**
 * The figures of a reliability suite (test/fault, test/crash): written as JSON to a results
 * directory outside the work tree, so CI never dirties git, and printed so that the test
 * output shows what was survived. RELIABILITY_RESULTS_DIR chooses the directory (CI can
 * keep it as an artifact); default: $TMPDIR/cxone-scim-sync-reliability.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function resultsDir(): string {
  return process.env.RELIABILITY_RESULTS_DIR ?? join(tmpdir(), 'cxone-scim-sync-reliability');
}

/** Writes `<name>.json` and prints it; returns the file's path. */
export function reportResults(name: string, figures: Record<string, unknown>): string {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const text = `${JSON.stringify({ suite: name, finishedAt: new Date().toISOString(), node: process.version, ...figures }, null, 2)}\n`;
  writeFileSync(file, text);
  console.log(`\n== ${name} results (${file})\n${text}`);
  return file;
}
