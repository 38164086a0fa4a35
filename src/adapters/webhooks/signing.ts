/**
 * Standard Webhooks signing (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * headers webhook-id, webhook-timestamp (seconds) and webhook-signature
 * `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`, where the key is the
 * base64-decoded part of a `whsec_` secret. Receivers verify with any Standard Webhooks
 * library; our tests do so with the `standardwebhooks` package, not with this code.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new subscription secret: `whsec_` + base64 of 32 random bytes (the spec asks for 24–64). */
export function generateSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * The HMAC key of a secret. A `whsec_` secret is base64 after the prefix; any other
 * value (WEBHOOK_SECRET may be "raw") is used as its UTF-8 bytes, which receivers
 * verify with `new Webhook(secret, { format: 'raw' })`.
 */
export function signingKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) return Buffer.from(secret, 'utf8');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length === 0) throw new Error('a whsec_ secret must hold base64 key bytes after the prefix');
  return key;
}

export function sign(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** The request headers of one delivery attempt. The id stays the same on every attempt; the timestamp does not. */
export function webhookHeaders(key: Buffer, id: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(key, id, timestamp, body),
  };
}
