/** The simulator's HTTP plumbing shared by its route families: writing an answer, reading a bounded body. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ScimError } from './scim-error.js';

/** The hard cap on any request body. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function writeResponse(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>, contentType: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined || status === 204 || status === 304 ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  if (text !== '') out['content-type'] ??= contentType;
  out['content-length'] = Buffer.byteLength(text);
  res.writeHead(status, out);
  res.end(text);
}

function tooLarge(max: number, headers?: Record<string, string>): ScimError {
  return new ScimError(413, `the request body exceeds ${max} bytes`, undefined, headers);
}

/**
 * The request body, at most `limit` bytes. Past the hard cap the connection is closed at
 * once; past a lower `limit` (the maxRequestBytes capability) the body is read to its end
 * first, so that the client gets the 413 rather than a reset while it is still sending.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(tooLarge(MAX_BODY_BYTES, { connection: 'close' }));
        return;
      }
      if (size > limit) {
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      if (size > limit) reject(tooLarge(limit));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}
