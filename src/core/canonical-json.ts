/**
 * Canonical JSON: object keys sorted by code unit, no white space, as in RFC 8785 for the
 * values we hash (strings, finite numbers, booleans, null, arrays, plain objects).
 * The same data always gives the same text, whatever order its keys were built in.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for non-finite numbers');
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, inner]) => inner !== undefined)
    .toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
}

/**
 * SHA-256 (hex) of canonicalJson(value), fed to the hash in chunks: a 100,000-member
 * group is megabytes of JSON, and the audit trail only needs its digest.
 */
export function canonicalSha256(value: unknown): string {
  const hash = createHash('sha256');
  let pending: string[] = [];
  let size = 0;
  const write = (text: string) => {
    pending.push(text);
    size += text.length;
    if (size >= 65_536) {
      hash.update(pending.join(''), 'utf8');
      pending = [];
      size = 0;
    }
  };
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') {
      write(canonicalJson(node));
      return;
    }
    if (Array.isArray(node)) {
      write('[');
      node.forEach((item, index) => {
        if (index > 0) write(',');
        visit(item);
      });
      write(']');
      return;
    }
    const entries = Object.entries(node as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    write('{');
    entries.forEach(([key, inner], index) => {
      write(`${index > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      visit(inner);
    });
    write('}');
  };
  visit(value);
  hash.update(pending.join(''), 'utf8');
  return hash.digest('hex');
}
