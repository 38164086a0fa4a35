/**
 * The source as the child-process tests run it: src/ transpiled once per test run by
 * test/setup/compiled-source.global.ts into a directory at the same depth as src/ (as
 * `npm run build` puts dist/), so paths the code finds relative to itself (package.json,
 * seed.json) resolve as they do from src/ and from dist/. A child started from there loads
 * plain JavaScript instead of transpiling every module again under tsx (about half a
 * second of CPU per process). Each run has its own directory, so two runs side by side
 * never remove each other's.
 */
import { join } from 'node:path';
import { inject } from 'vitest';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const COMPILED_PREFIX = '.test-dist-';

declare module 'vitest' {
  export interface ProvidedContext {
    compiledSourceDir: string;
  }
}

/** The node arguments that run `src/<entry>.ts` as compiled for this test run. */
export function entryArgs(entry: 'main' | 'cli' | 'simulator/main'): string[] {
  return [join(inject('compiledSourceDir'), `${entry}.js`)];
}
