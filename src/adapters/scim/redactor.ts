/**
 * The redactor: what the SCIM adapter runs over every piece of upstream error text
 * (SCIM `detail`, `scimType`, `message`; OAuth `error`, `error_description`; a plain-text
 * or HTML body) before the text is trimmed, collapsed or put anywhere: an error message,
 * a 502 body, /readyz, an audit record, a webhook, a log line.
 *
 * Why on the raw text: an excerpt cut at 300 characters can cut a secret in two, and
 * collapsing white space changes a secret that holds some; either way the secret no
 * longer matches and its pieces get through. Redacting first leaves nothing to cut.
 *
 * What it replaces with `[redacted]`:
 * - every secret it was built with (src/config.ts: the value of every setting marked
 *   `secret`), every secret added later (the token source adds the client secret, the
 *   Basic credential and each access token it obtains), each as is, percent-encoded,
 *   form-encoded, JSON-escaped and base64-encoded, also when white space or control
 *   characters were put between its characters (an upstream that folds long lines);
 * - anything that looks like a credential whoever made it: `Bearer <x>`, `Basic <x>`,
 *   JWT-shaped strings (`eyJ….….…`), and `access_token=`, `client_secret":"…"` and
 *   similar key-value pairs.
 */

export interface Redactor {
  /** `text` with every known secret and everything credential-shaped replaced by `[redacted]`. `extra`: secrets known only to this call. */
  redact(text: string, extra?: readonly string[]): string;
  /** Adds a secret learned at run time. Learned secrets are bounded: the oldest is forgotten first. */
  addSecret(secret: string): void;
}

export const REDACTED = '[redacted]';

/** Secrets shorter than this are only replaced where they appear exactly as they are (a shorter one would match by chance). */
const MIN_FUZZY_LENGTH = 8;
/** Shorter secrets are not replaced at all: they would blank out ordinary words. */
const MIN_LENGTH = 4;
/**
 * Longer secrets (a JWT access token can be kilobytes) are looked for as they are and in
 * their URL encodings only, without white space between their characters, to keep the
 * expression small; a JWT is caught by its shape anyway.
 */
const MAX_FUZZY_LENGTH = 512;
/** Access tokens obtained at run time that are remembered (older ones have long expired). */
const DEFAULT_MAX_LEARNED = 32;

const CREDENTIAL_PATTERNS: readonly [RegExp, string][] = [
  // Authorization schemes followed by a credential (also percent- or form-encoded: Bearer%20…, Bearer+…; at least 8 characters with a digit, a capital or a symbol, so that "basic authentication" stays).
  [/([Bb]earer|[Bb]asic|BEARER|BASIC)([\p{Cc}\s]+|%20|\+)(?=[A-Za-z0-9._~+/-]*[0-9A-Z._~+/])[A-Za-z0-9._~+/-]{8,}=*/gu, `$1$2${REDACTED}`],
  // A JWT (its header is base64url JSON, so it starts with "eyJ").
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // key=value and "key": "value" pairs naming a credential (also percent-encoded: key%3Dvalue).
  [
    /\b(access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|passwd|secret|api[_-]?key|apikey|token)(["']?[\p{Cc}\s]*(?:[:=]|%3[AD])[\p{Cc}\s]*["']?)(?!\[redacted\])[^\s"'&,;|<>)\]}]+/giu,
    `$1$2${REDACTED}`,
  ],
];

export function createRedactor(secrets: Iterable<string> = [], options: { maxLearned?: number } = {}): Redactor {
  const maxLearned = options.maxLearned ?? DEFAULT_MAX_LEARNED;
  const fixed = new Set<string>();
  for (const secret of secrets) if (secret.length >= MIN_LENGTH) fixed.add(secret);
  const learned = new Set<string>();
  let pattern: RegExp | null | undefined;

  const compiled = (): RegExp | null => {
    if (pattern === undefined) pattern = compile([...fixed, ...learned]);
    return pattern;
  };

  return {
    redact(text, extra = []) {
      let out = text;
      const known = compiled();
      if (known) out = out.replace(known, REDACTED);
      const more = extra.filter((secret) => secret.length >= MIN_LENGTH && !fixed.has(secret) && !learned.has(secret));
      if (more.length > 0) out = out.replace(compile(more) as RegExp, REDACTED);
      for (const [regex, replacement] of CREDENTIAL_PATTERNS) out = out.replace(regex, replacement);
      return out;
    },
    addSecret(secret) {
      if (secret.length < MIN_LENGTH || fixed.has(secret)) return;
      if (learned.has(secret)) learned.delete(secret);
      learned.add(secret);
      while (learned.size > maxLearned) learned.delete(learned.values().next().value as string);
      pattern = undefined;
    },
  };
}

/** The forms a secret takes when an upstream echoes it (a Standard Webhooks secret: its key part too). */
function forms(secret: string): string[] {
  const key = /^whsec_(.+)$/.exec(secret)?.[1];
  if (key !== undefined) return [...forms(key), ...encodings(secret)];
  return encodings(secret);
}

function encodings(secret: string): string[] {
  const out = new Set([secret, encodeURIComponent(secret), new URLSearchParams([['v', secret]]).toString().slice(2), JSON.stringify(secret).slice(1, -1)]);
  if (secret.length <= MAX_FUZZY_LENGTH) {
    const base64 = Buffer.from(secret, 'utf8').toString('base64');
    out.add(base64).add(base64.replace(/=+$/, '')).add(Buffer.from(secret, 'utf8').toString('base64url'));
  }
  return [...out].filter((form) => form.length >= MIN_LENGTH);
}

const GAP = '[\\p{Cc}\\s]*';

/** One regex matching any form of any of the secrets, longest first, white space allowed between characters of the longer ones. */
function compile(secrets: readonly string[]): RegExp | null {
  const alternatives = new Set<string>();
  for (const form of secrets.flatMap(forms).toSorted((a, b) => b.length - a.length)) {
    const compact = [...form.replace(/[\p{Cc}\s]+/gu, '')];
    if (compact.length >= MIN_FUZZY_LENGTH && compact.length <= MAX_FUZZY_LENGTH) alternatives.add(compact.map(escape).join(GAP));
    else alternatives.add([...form].map(escape).join(''));
  }
  if (alternatives.size === 0) return null;
  return new RegExp([...alternatives].join('|'), 'gu');
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
