import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/core/canonical-json.js';
import type { MemberRef } from '../../src/core/membership.js';
import type { GroupWrite } from '../../src/core/ports.js';
import { groupResourceForWrite, groupWriteJson, groupWriteSha256 } from '../../src/core/scim-group.js';
import { SCIM_SCHEMAS } from '../../src/core/scim-schemas.js';

const GROUP_SCHEMA = SCIM_SCHEMAS.group;

const write = (members: MemberRef[], extra: Record<string, unknown> = {}): GroupWrite => ({ id: 'g1', displayName: 'Engineering', members, extra });

describe('groupWriteJson (the PUT body the audit record hashes)', () => {
  it('when the group has extensions, odd keys and members with and without display, then it is the canonical JSON of the resource', () => {
    const cases: GroupWrite[] = [
      write([]),
      write([{ value: 'u1', type: 'User', display: 'Ann "A" É' }, { value: 'g2', type: 'Group' }]),
      write([{ value: 'u1', type: 'User' }], {
        schemas: [GROUP_SCHEMA, 'urn:example:ext'],
        externalId: 'ext-1',
        'urn:example:ext': { z: 1, a: [{ 10: 'x', 9: 'y' }], members: [] },
        ...(JSON.parse('{"__proto__":{"x":1}}') as object),
        abc: { members: [] },
        meta: { version: 'W/"1"' },
        id: 'ignored',
        members: [{ value: 'ignored' }],
      }),
    ];
    for (const item of cases) expect(groupWriteJson(item)).toBe(canonicalJson(groupResourceForWrite(item)));
  });

  it('when members carry a display name, then the body sends each member as value and type only', () => {
    const body = JSON.parse(groupWriteJson(write([{ value: 'u1', type: 'User', display: 'Ann' }, { value: 'g2', type: 'Group', display: 'Team' }])));
    expect(body.members).toEqual([{ type: 'User', value: 'u1' }, { type: 'Group', value: 'g2' }]);
    expect(groupResourceForWrite(write([{ value: 'u1', type: 'User', display: 'Ann' }])).members).toEqual([{ value: 'u1', type: 'User' }]);
  });

  it('when a member carries keys a member does not have, then they are not sent', () => {
    const member = { value: 'u1', type: 'User', $ref: 'https://x/Users/u1', extra: 1 } as MemberRef;
    expect(JSON.parse(groupWriteJson(write([member]))).members).toEqual([{ type: 'User', value: 'u1' }]);
  });

  it('when the group has no schemas, then it says it is a Group; what the sync owns wins over what was read', () => {
    const body = JSON.parse(groupWriteJson(write([], { id: 'other', displayName: 'Old', meta: { version: '1' } })));
    expect(body).toEqual({ schemas: [GROUP_SCHEMA], id: 'g1', displayName: 'Engineering', members: [] });
  });

  it('when the write was serialised, then its digest is taken from that text; otherwise it is made', () => {
    const sent = write([{ value: 'u1', type: 'User', display: 'Ann' }]);
    const json = groupWriteJson(sent);
    expect(groupWriteSha256(sent)).toBe(sha256Hex(json));
    const stringify = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
      calls++;
      return stringify(...args);
    }) as typeof JSON.stringify;
    try {
      groupWriteSha256(sent);
    } finally {
      JSON.stringify = stringify;
    }
    expect(calls).toBe(0);
    const unsent = write([{ value: 'u2', type: 'User' }]);
    expect(groupWriteSha256(unsent)).toBe(sha256Hex(groupWriteJson(unsent)));
  });
});
