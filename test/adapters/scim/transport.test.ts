import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, contentLength, readBody } from '../../../src/adapters/scim/transport.js';

const stream = (...parts: (string | Buffer)[]) => Readable.from(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));

describe('readBody', () => {
  const text = `{"members":[${Array.from({ length: 3000 }, (_, i) => `{"value":"u${i}","display":"Zoë ${i} 😀"}`).join(',')}]}`;
  const bytes = Buffer.from(text, 'utf8');
  // Chunks cut at odd places, through multi-byte characters.
  const chunks = Array.from({ length: Math.ceil(bytes.length / 997) }, (_, i) => bytes.subarray(i * 997, (i + 1) * 997));

  it('when the length is announced, absent, too small or too large, then the text is the same', async () => {
    for (const announced of [bytes.length, undefined, 10, bytes.length * 3]) {
      expect(await readBody(stream(...chunks), 1024 * 1024, false, announced)).toBe(text);
    }
  });

  it('when the body is empty, then it is the empty string', async () => {
    expect(await readBody(stream(), 100, false, 0)).toBe('');
    expect(await readBody(stream(), 100)).toBe('');
  });

  it('when the body passes the limit, then it fails, whatever length was announced', async () => {
    for (const announced of [undefined, 100, bytes.length]) {
      await expect(readBody(stream(...chunks), 5000, false, announced)).rejects.toBeInstanceOf(BodyTooLargeError);
    }
  });

  it('when truncating, then it keeps exactly the first `limit` bytes', async () => {
    const head = await readBody(stream(...chunks), 5000, true);
    expect(head).toBe(bytes.subarray(0, 5000).toString('utf8'));
    expect(await readBody(stream('abc', 'def'), 4, true)).toBe('abcd');
  });
});

describe('contentLength', () => {
  it('when the header is a plain number, then that is the length; otherwise unknown', () => {
    expect(contentLength('16600000')).toBe(16_600_000);
    expect(contentLength(['12', '13'])).toBe(12);
    for (const bad of [undefined, '', '-1', '1e3', ' 12', '0x10', '99999999999999999']) expect(contentLength(bad)).toBeUndefined();
  });
});
