/**
 * SCIM filter expressions (RFC 7644 §3.4.2.2). A string compValue is a JSON string, so
 * JSON.stringify escapes `"`, `\` and control characters exactly as the grammar wants.
 */

export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/** `id eq "a" or id eq "b" …` */
export function anyOfFilter(attribute: string, values: readonly string[]): string {
  return values.map((value) => eqFilter(attribute, value)).join(' or ');
}

/**
 * A query string; each value percent-encoded with encodeURIComponent (spaces as %20, not +).
 * Commas stay literal (RFC 3986 sub-delims) so that `attributes=id,active` reads as such.
 */
export function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) parts.push(`${key}=${encodeURIComponent(String(value)).replace(/%2C/g, ',')}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
