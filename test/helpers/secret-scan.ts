/**
 * Scans captured output (log lines, answers, audit records, webhook bodies) for secrets,
 * as they are and in the encodings a leak would likely take (JSON-escaped, base64,
 * percent-encoded). Returns every hit, labelled, so a failure says what leaked where.
 *
 * Two stricter checks are opt-in (ScanOptions): `ignoreWhitespace` also finds a secret
 * whose characters reached the output with white space between them (an upstream that
 * folded it across lines, an excerpt that collapsed its white space), and `fragments`
 * finds any piece of a secret that long (an excerpt that cut a secret in two).
 */

export interface SecretHit {
  readonly secret: string;
  readonly where: string;
  /** A short excerpt around the hit, with the secret masked. */
  readonly excerpt: string;
}

export interface ScanOptions {
  /** Also match the secret with any white space (raw or JSON-escaped) between its characters. */
  readonly ignoreWhitespace?: boolean;
  /** Also match every piece of the secret this long (at least 8), as is. */
  readonly fragments?: number;
}

function variants(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), Buffer.from(secret, 'utf8').toString('base64')]);
  return [...out].filter((v) => v.length >= 8);
}

/** The text without white space, raw or as JSON escapes (\n, \t, \r, \u0009 …). */
function squash(text: string): string {
  return text.replace(/\\[nrtfb]|\\u00[01][0-9a-fA-F]|\\u0020|[\p{Cc}\s]/gu, '');
}

/**
 * `secrets`: name → value (values under 8 characters are refused: they would match by
 * chance). `sources`: where → text.
 */
export function scanForSecrets(secrets: ReadonlyMap<string, string>, sources: Iterable<readonly [where: string, text: string]>, options: ScanOptions = {}): SecretHit[] {
  const needles: { name: string; needle: string; squashed: boolean }[] = [];
  for (const [name, value] of secrets) {
    if (value.length < 8) throw new RangeError(`secret ${name} is too short to scan for reliably`);
    const forms = new Set<string>();
    for (const needle of variants(value)) {
      forms.add(needle);
      needles.push({ name, needle, squashed: false });
    }
    if (options.ignoreWhitespace) {
      for (const form of forms) {
        const squashed = squash(form);
        if (squashed.length >= 8) needles.push({ name: `${name} (white space ignored)`, needle: squashed, squashed: true });
      }
    }
    const size = options.fragments;
    if (size !== undefined) {
      if (size < 8) throw new RangeError('fragments shorter than 8 characters would match by chance');
      for (let at = 1; at + size < value.length; at++) needles.push({ name: `${name} (a ${size}-character piece)`, needle: value.slice(at, at + size), squashed: false });
    }
  }
  const hits: SecretHit[] = [];
  for (const [where, raw] of sources) {
    let squashedText: string | undefined;
    for (const { name, needle, squashed } of needles) {
      const text = squashed ? (squashedText ??= squash(raw)) : raw;
      const at = text.indexOf(needle);
      if (at === -1) continue;
      const excerpt = `${text.slice(Math.max(0, at - 60), at)}<${name}>${text.slice(at + needle.length, at + needle.length + 60)}`;
      hits.push({ secret: name, where, excerpt });
    }
  }
  return hits;
}
