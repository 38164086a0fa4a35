/**
 * Once per test run: src/ transpiled to .test-dist-<pid>/ (test/helpers/compiled-source.ts)
 * for the tests that start the CLI, the service or the simulator as child processes, and
 * removed at the end. Type checking is the type check's job (`npm run typecheck`); this
 * only strips types, with the transpiler tsx uses, file by file (no bundling: module
 * boundaries, import.meta.url and JSON imports behave as in src/ and dist/).
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { COMPILED_PREFIX, ROOT } from '../helpers/compiled-source.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Directories left by runs that were killed before their teardown. */
function removeAbandoned(): void {
  for (const name of readdirSync(ROOT)) {
    if (!name.startsWith(COMPILED_PREFIX)) continue;
    const pid = Number(name.slice(COMPILED_PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) rmSync(join(ROOT, name), { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  removeAbandoned();
  const src = join(ROOT, 'src');
  const out = join(ROOT, `${COMPILED_PREFIX}${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  const files = filesUnder(src);
  await build({
    entryPoints: files.filter((file) => file.endsWith('.ts')),
    outdir: out,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    // Node 20 needs the JSON import's attribute (esbuild drops it for that target by default).
    supported: { 'import-attributes': true },
    logLevel: 'error',
  });
  for (const file of files.filter((f) => f.endsWith('.json'))) cpSync(file, join(out, relative(src, file)));
  project.provide('compiledSourceDir', out);
  return () => rmSync(out, { recursive: true, force: true });
}
