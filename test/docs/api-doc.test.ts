/**
 * docs/api.md is the contract: every route the app serves and every error code an answer
 * (or an audit record) can carry is on it. A route or a code added to the code without its
 * documentation fails here.
 *
 * The routes come from the OpenAPI document the app generates (every route with a schema)
 * and from the documentation plugin (/docs, /openapi.json). The error codes come from the
 * code itself: the core's lists (sync failure statuses, member error codes), and every
 * stable code the error classes and the error handler write (`code = '…'`, `error: '…'`,
 * `code: '…'`) in src/core/errors.ts, src/core/sync-record.ts and src/http/. Codes that
 * never reach an answer are named below, each with the code the error handler answers
 * instead, and checked to be mapped so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateOpenApi } from '../../scripts/openapi-document.js';
import { DataDirLockedError, InvalidCursorError, MEMBER_ERROR_CODES, PreconditionFailedError, StorageError } from '../../src/core/errors.js';
import { FAILURE_STATUSES } from '../../src/core/outcome.js';
import { toHttpError } from '../../src/http/plugins/error-handler.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

/** The stable codes written in `files`: class fields `code = '…'`, answer bodies `error: '…'`, audit errors `code: '…'`. */
function writtenCodes(files: readonly string[]): Set<string> {
  const codes = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/(?:\bcode(?:: string)? = |\berror: |\bcode: )'([a-z][a-z_]*)'/g)) codes.add(match[1] as string);
  }
  return codes;
}

/** Codes of errors that are never answered as they are: what the error handler answers instead. */
const NEVER_ANSWERED: Record<string, { error: unknown; answered: string }> = {
  // A lost race the retries did not absorb is answered (and recorded) as a conflict.
  precondition_failed: { error: new PreconditionFailedError('412', { status: 412 }), answered: 'conflict' },
  invalid_cursor: { error: new InvalidCursorError(), answered: 'invalid_request' },
  // Storage that cannot be used, or a DATA_DIR another process holds, stops the start (exit 74, 78); a request never sees them.
  storage_unavailable: { error: new StorageError('disk'), answered: 'internal_error' },
  data_dir_locked: { error: new DataDirLockedError('/data'), answered: 'internal_error' },
};

describe('docs/api.md', () => {
  it('when the app lists its routes, then docs/api.md names each as `METHOD /path`', async () => {
    const { document } = await generateOpenApi();
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const routes = [...Object.entries(paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)), 'GET /docs', 'GET /openapi.json'];
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const missing = routes.filter((route) => !doc.includes(`\`${route}\``));
    expect(missing, 'routes the app serves that docs/api.md does not name').toEqual([]);
  });

  it('when the code writes an error code, then docs/api.md names it, and a code never answered is answered as another that it names', () => {
    const written = writtenCodes(['src/core/errors.ts', 'src/core/sync-record.ts', ...sources('src/http')]);
    for (const code of [...FAILURE_STATUSES, ...MEMBER_ERROR_CODES]) written.add(code);
    for (const [code, { error, answered }] of Object.entries(NEVER_ANSWERED)) {
      expect(written.has(code), `${code} is listed as never answered, but the code no longer writes it`).toBe(true);
      expect(toHttpError(error).body.error, `${code} is answered as`).toBe(answered);
      written.delete(code);
    }
    expect(written.size).toBeGreaterThanOrEqual(30);
    const missing = [...written].filter((code) => !doc.includes(`\`${code}\``));
    expect(missing, 'error codes of the code that docs/api.md does not name').toEqual([]);
  });
});
