import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GroupBusyError, MEMBER_ERROR_CODES, UpstreamError, UpstreamUnavailableError, ValidationFailedError, WriteNotAppliedError } from '../../src/core/errors.js';
import { FAILURE_STATUSES } from '../../src/core/outcome.js';
import { ALL_SCIM_ERROR_CODES, MEMBER_SCIM_TYPES, SCIM_ERROR_MAP, toScimError } from '../../src/http/scim/error-map.js';
import { UnauthorizedError } from '../../src/http/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

/** The stable codes the code writes (as test/docs/api-doc.test.ts finds them). */
function writtenCodes(): Set<string> {
  const codes = new Set<string>(FAILURE_STATUSES);
  for (const file of ['src/core/errors.ts', 'src/core/sync-record.ts', ...sources('src/http')]) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/(?:\bcode(?:: string)? = |\berror: |\bcode: )'([a-z][a-z_]*)'/g)) codes.add(match[1] as string);
  }
  return codes;
}

describe('the SCIM error table', () => {
  it('when the service writes an error code, then the table gives it an HTTP status (and each member code a scimType)', () => {
    const table = SCIM_ERROR_MAP as Record<string, { status: number } | undefined>;
    const codes = writtenCodes();
    // Member codes are answered inside validation_failed; the rest must each have an entry.
    for (const code of MEMBER_ERROR_CODES) codes.delete(code);
    // Entries of an audit record's errors, never an answer's code.
    for (const code of ['member_missing', 'member_extra', 'agent_failed']) codes.delete(code);
    expect(codes.size).toBeGreaterThanOrEqual(30);
    expect([...codes].filter((code) => table[code] === undefined), 'codes without a SCIM form').toEqual([]);
    expect(MEMBER_ERROR_CODES.filter((code) => MEMBER_SCIM_TYPES[code] === undefined)).toEqual([]);
    expect(ALL_SCIM_ERROR_CODES.filter((code) => (table[code]?.status ?? 0) < 400)).toEqual([]);
    // The places kept for the mass-removal guard and the quarantine.
    expect(SCIM_ERROR_MAP.removal_guard).toEqual({ status: 409, scimType: 'mutability' });
    expect(SCIM_ERROR_MAP.group_quarantined).toEqual({ status: 503 });
  });

  it('when members fail validation, then the answer is 400 invalidValue and its detail names each member and why', () => {
    const error = new ValidationFailedError([
      { code: 'user_not_found', member: { value: 'u-404', type: 'User' }, message: 'no such user' },
      { code: 'user_inactive', member: { value: 'u-off', type: 'User' }, message: 'inactive' },
    ]);
    error.syncId = 'sync-1';
    const answer = toScimError(error);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidValue' });
    expect(answer.body.detail).toContain('User "u-404": user_not_found');
    expect(answer.body.detail).toContain('User "u-off": user_inactive');
    expect(answer.body.detail).toContain('sync-1');
  });

  it('when the upstream did not apply a write, then 502 names the missing members', () => {
    const error = new WriteNotAppliedError('not held', { missing: [{ value: 'a', type: 'User' }], extra: [], missingCount: 1, extraCount: 0, consistencyRate: 0.5 });
    const answer = toScimError(error);
    expect(answer.status).toBe(502);
    expect(answer.body.detail).toContain('missing: User "a"');
  });

  it('when the upstream refuses a value as taken (409 uniqueness, e.g. a rename to another group\'s name), then 409 uniqueness with its detail; any other upstream 409 stays 502', () => {
    const taken = toScimError(Object.assign(new UpstreamError('displayName "Support" is taken', { status: 409, scimType: 'uniqueness' }), { syncId: 'sync-1' }));
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect(taken.body.detail).toContain('"Support" is taken');
    expect(taken.body.detail).toContain('sync-1');
    expect(toScimError(new UpstreamError('refused', { status: 409 })).status).toBe(502);
  });

  it('when the answer asks the caller to wait or to authenticate, then its header is kept', () => {
    expect(toScimError(new GroupBusyError(10, 5))).toMatchObject({ status: 429, headers: { 'retry-after': '5' } });
    expect(toScimError(new UpstreamUnavailableError('down', 7))).toMatchObject({ status: 503, headers: { 'retry-after': '7' } });
    expect(toScimError(new UnauthorizedError('no token', 'Bearer realm="x"'))).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="x"' } });
  });

  it('when the error is not the service\'s own, then 500 without internals', () => {
    const answer = toScimError(new Error('secret stack detail'));
    expect(answer).toMatchObject({ status: 500, body: { status: '500' } });
    expect(answer.body.detail).not.toContain('secret');
  });
});
