import * as fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readGroupAnswer, readGroupBody } from '../../../src/adapters/scim/group-body.js';
import { parseGroup, ShapeError } from '../../../src/adapters/scim/scim-resources.js';
import { BodyTooLargeError } from '../../../src/adapters/scim/transport.js';

/** The body cut into byte chunks at the given points (through multi-byte characters too). */
function chunked(text: string, cuts: readonly number[] = []): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].toSorted((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) parts.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return Readable.from(parts);
}

/** What reading the whole text would give: the group, or the error's class. */
function whole(text: string): unknown {
  try {
    return text.trim() === '' ? null : parseGroup(JSON.parse(text));
  } catch (error) {
    return error instanceof SyntaxError || error instanceof ShapeError ? ShapeError : error;
  }
}

async function streamed(text: string, cuts: readonly number[] = []): Promise<unknown> {
  try {
    return await readGroupBody(chunked(text, cuts), 64 * 1024 * 1024, undefined, 0);
  } catch (error) {
    return error instanceof ShapeError ? ShapeError : error;
  }
}

const awkward = fc.oneof(fc.string(), fc.constantFrom('"', '\\', '\\"', '{', '}', '[', ']', ',', ':', 'members', '"members":[', 'é', '😀', '\u2028'));
const member = fc.record(
  { value: awkward, type: fc.constantFrom('User', 'Group', 'user', undefined), display: fc.option(awkward, { nil: undefined }), $ref: fc.option(fc.constantFrom('https://x/scim/v2/Groups/g9', 'https://x/scim/v2/Users/u1'), { nil: undefined }) },
  { requiredKeys: ['value'] },
);
const extension = fc.dictionary(fc.oneof(awkward, fc.constant('members')), fc.oneof(awkward, fc.array(fc.dictionary(awkward, awkward, { maxKeys: 2 }), { maxLength: 2 })), { maxKeys: 3 });
const group = fc.record({
  schemas: fc.constant(['urn:ietf:params:scim:schemas:core:2.0:Group']),
  id: fc.oneof(fc.uuid(), awkward),
  displayName: awkward,
  members: fc.option(fc.array(member, { maxLength: 40 }), { nil: undefined }),
  'urn:example:ext': fc.option(extension, { nil: undefined }),
  meta: fc.option(fc.record({ version: fc.constantFrom('W/"1"', '"a\\"b"'), lastModified: fc.constant('2026-11-28T00:00:00Z') }), { nil: undefined }),
});

describe('readGroupBody, streaming', () => {
  it('when any group arrives in any chunks and any layout, then it reads what JSON.parse and parseGroup read', async () => {
    await fc.assert(
      fc.asyncProperty(group, fc.constantFrom(undefined, 2, '\t'), fc.array(fc.nat(), { maxLength: 12 }), async (value, indent, cuts) => {
        const text = JSON.stringify(value, null, indent);
        expect(await streamed(text, cuts)).toEqual(whole(text));
      }),
      { numRuns: 600 },
    );
  });

  it('when the body is damaged anywhere, then it refuses exactly what JSON.parse refuses', async () => {
    const base = JSON.stringify({ id: 'g', displayName: 'd', members: [{ value: 'a"b', type: 'User' }, { value: 'c', display: '[x]' }, { value: 'e' }], x: { members: [1] } }, null, 1);
    await fc.assert(
      fc.asyncProperty(fc.nat(base.length), fc.nat(3), fc.constantFrom('', ',', ']', '[', '}', '{', '"', '\\', ' ', 'x', ':'), fc.array(fc.nat(), { maxLength: 6 }), async (at, drop, insert, cuts) => {
        const text = base.slice(0, at) + insert + base.slice(at + drop);
        expect(await streamed(text, cuts)).toEqual(whole(text));
      }),
      { numRuns: 1500 },
    );
  });

  it('when the members array has an empty element or a trailing comma, then the body is refused', async () => {
    for (const members of ['[,]', '[{"value":"a"},]', '[{"value":"a"},,{"value":"b"}]', '[{"value":"a"} {"value":"b"}]', '[{"value":"a"}']) {
      const text = `{"id":"g","displayName":"d","members":${members}}`;
      for (let cut = 0; cut <= text.length; cut++) expect(await streamed(text, [cut])).toBe(ShapeError);
    }
    expect(await streamed('{"id":"g","displayName":"d","members":[ ]}')).toEqual(whole('{"id":"g","displayName":"d","members":[]}'));
  });

  it('when "members" comes twice, or with escapes in its name, then the last one counts, as in JSON.parse', async () => {
    for (const text of [
      '{"id":"g","displayName":"d","members":[{"value":"a"}],"members":[{"value":"b"}]}',
      '{"id":"g","displayName":"d","members":[{"value":"a"}],"members":null}',
      '{"id":"g","displayName":"d","members":null,"members":[{"value":"b"}]}',
      '{"id":"g","displayName":"d","\\u006dembers":[{"value":"a"}]}',
    ]) {
      expect(await streamed(text, [10, 40])).toEqual(whole(text));
    }
  });

  it('when a member is not one, then the error names it by its index across batches', async () => {
    const members = Array.from({ length: 5000 }, (_, i) => (i === 4321 ? { value: 7 } : { value: `u${i}`, type: 'User' }));
    const text = JSON.stringify({ id: 'g', displayName: 'd', members });
    const cuts = Array.from({ length: 40 }, (_, i) => i * 4099);
    await expect(readGroupBody(chunked(text, cuts), 64 * 1024 * 1024, undefined, 0)).rejects.toThrow('members[4321] has no string "value"');
  });

  it('when the body is empty, then there is no group', async () => {
    expect(await streamed('')).toBeNull();
    expect(await readGroupBody(chunked(''), 100, 0)).toBeNull();
  });

  it('when the body passes the limit, then it fails and stops reading', async () => {
    const text = JSON.stringify({ id: 'g', displayName: 'd', members: Array.from({ length: 1000 }, (_, i) => ({ value: `u${i}` })) });
    const body = chunked(text, Array.from({ length: 20 }, (_, i) => i * 1000));
    await expect(readGroupBody(body, 5000, undefined, 0)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(body.destroyed).toBe(true);
  });

  it('when the length is known and small, then it reads it whole, with the same result', async () => {
    const text = JSON.stringify({ id: 'g', displayName: 'd', members: [{ value: 'a', type: 'User', display: 'A' }], meta: { version: 'W/"2"' } });
    expect(await readGroupBody(chunked(text, [5, 17]), 1024, Buffer.byteLength(text))).toEqual(whole(text));
    expect(await readGroupBody(chunked(text, [5, 17]), 1024, Buffer.byteLength(text), 1)).toEqual(whole(text));
  });

  it('when an answer is read, then it says whether members were there; skipping them leaves the group without members but with its meta', async () => {
    const members = Array.from({ length: 30_000 }, (_, i) => ({ value: `user-${i}`, type: 'User' }));
    const big = JSON.stringify({ id: 'g1', displayName: 'G', members, meta: { version: 'W/"9"' } });
    for (const [text, threshold] of [[big, 0], [big, Number.MAX_SAFE_INTEGER], [JSON.stringify({ id: 'g1', displayName: 'G', meta: { version: 'W/"9"' } }), 0]] as const) {
      const bytes = Buffer.byteLength(text);
      const full = await readGroupAnswer(chunked(text, [7, 1000, 70_000]), 64 * 1024 * 1024, bytes, { thresholdBytes: threshold });
      const skipped = await readGroupAnswer(chunked(text, [7, 1000, 70_000]), 64 * 1024 * 1024, bytes, { thresholdBytes: threshold, skipMembers: true });
      const hasMembers = text.includes('"members"');
      expect(full?.hasMembers).toBe(hasMembers);
      expect(full?.group.members).toHaveLength(hasMembers ? 30_000 : 0);
      expect(skipped?.group).toMatchObject({ id: 'g1', members: [], meta: { version: 'W/"9"' } });
    }
  });
});
