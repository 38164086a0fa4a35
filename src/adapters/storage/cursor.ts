/** Opaque keyset cursors of the paged reads (GET /audit, deliveries): base64url of `<prefix>:<sequence number>`. */
import { InvalidCursorError } from '../../core/errors.js';

export function encodeCursor(prefix: string, seq: number): string {
  return Buffer.from(`${prefix}:${seq}`, 'utf8').toString('base64url');
}

/** The sequence number of a cursor this store issued under `prefix`; InvalidCursorError for anything else. */
export function decodeCursor(prefix: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([a-z]+):(\d{1,15})$/.exec(text);
  if (!match || match[1] !== prefix) throw new InvalidCursorError();
  return Number(match[2]);
}
