import * as fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalSha256 } from '../../src/core/canonical-json.js';

/** The definition, written the slow and obvious way: keys sorted by code unit, recursively. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite');
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, inner]) => inner !== undefined)
    .toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${reference(inner)}`).join(',')}}`;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonicalJson', () => {
  it('when given any JSON value, then it equals the key-sorted text of the definition', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '0', '10', '9', 'a', 'B', 'é', '\uD83D\uDE00', '\uFFFF'));
    const json = fc.letrec((tie) => ({
      node: fc.oneof({ maxDepth: 4 }, fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(tie('node'), { maxLength: 5 }), fc.dictionary(key, tie('node'), { maxKeys: 6 })),
    }));
    fc.assert(
      fc.property(json.node, (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('when keys are out of order, integer-like, or "__proto__", then they come out in code-unit order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 0, y: undefined }], c: 'é' } })).toBe('{"a":{"c":"é","d":[2,{"z":0}]},"b":1}');
    expect(canonicalJson({ 9: 'n', 10: 't', a: 1 })).toBe('{"10":"t","9":"n","a":1}');
    expect(canonicalJson(JSON.parse('{"z":1,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"z":1}');
    expect(canonicalJson({ '\uFFFF': 1, '\uD83D\uDE00': 2 })).toBe('{"\uD83D\uDE00":2,"\uFFFF":1}');
  });

  it('when a value is undefined, then it is null in an array and left out of an object', () => {
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson({ a: undefined })).toBe('{}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('when a number is not finite, then it refuses it rather than writing null', () => {
    expect(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] })).toThrow(TypeError);
    expect(() => canonicalJson({ 1: Number.NaN })).toThrow(TypeError);
  });

  it('when the input is already in canonical order, then it is left as it was', () => {
    const members = [{ display: 'A', type: 'User', value: 'a' }];
    const value = { members, schemas: ['s'] };
    canonicalJson(value);
    expect(Object.keys(value)).toEqual(['members', 'schemas']);
    expect(value.members).toBe(members);
  });
});

describe('canonicalSha256', () => {
  it('when hashing any value, then it is the SHA-256 of canonicalJson', () => {
    const values = [
      null,
      'x',
      { b: 1, a: [true, null, { d: 'é', c: undefined }] },
      { members: Array.from({ length: 5000 }, (_, i) => ({ value: `u${i}`, type: 'User', display: `User "${i}"` })), schemas: ['s'] },
    ];
    for (const value of values) expect(canonicalSha256(value)).toBe(sha256(reference(value)));
  });
});
