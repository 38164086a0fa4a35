/**
 * Scans captured output (log lines, answers, audit records, webhook bodies) for secrets,
 * as they are and in the encodings a leak would likely take (JSON-escaped, base64,
 * percent-encoded). Returns every hit, labelled, so a failure says what leaked where.
 */

export interface SecretHit {
  readonly secret: string;
  readonly where: string;
  /** A short excerpt around the hit, with the secret masked. */
  readonly excerpt: string;
}

function variants(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), Buffer.from(secret, 'utf8').toString('base64')]);
  return [...out].filter((v) => v.length >= 8);
}

/**
 * `secrets`: name → value (values under 8 characters are refused: they would match by
 * chance). `sources`: where → text.
 */
export function scanForSecrets(secrets: ReadonlyMap<string, string>, sources: Iterable<readonly [where: string, text: string]>): SecretHit[] {
  const needles: { name: string; needle: string }[] = [];
  for (const [name, value] of secrets) {
    if (value.length < 8) throw new RangeError(`secret ${name} is too short to scan for reliably`);
    for (const needle of variants(value)) needles.push({ name, needle });
  }
  const hits: SecretHit[] = [];
  for (const [where, text] of sources) {
    for (const { name, needle } of needles) {
      const at = text.indexOf(needle);
      if (at === -1) continue;
      const excerpt = `${text.slice(Math.max(0, at - 60), at)}<${name}>${text.slice(at + needle.length, at + needle.length + 60)}`;
      hits.push({ secret: name, where, excerpt });
    }
  }
  return hits;
}
