/** PostgreSQL advisory lock keys: a bigint from the SHA-256 of a name, as a decimal string (JavaScript numbers cannot hold it). */
import { createHash } from 'node:crypto';

export function advisoryKey(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest().readBigInt64BE(0).toString();
}
