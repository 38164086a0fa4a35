import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, signingKey, webhookHeaders } from '../../../src/adapters/webhooks/signing.js';

const body = JSON.stringify({ type: 'group.sync.completed', timestamp: '2026-01-01T00:00:00.000Z', data: { syncId: 's1' } });

describe('Standard Webhooks signing', () => {
  it('when a whsec_ secret signs a body, then the standardwebhooks package verifies it', () => {
    const secret = generateSecret();
    const headers = webhookHeaders(signingKey(secret), 'msg_1', Date.now(), body);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('when WEBHOOK_SECRET is not a whsec_ value, then its raw bytes are the key (verify with format: raw)', () => {
    const secret = 'a-raw-shared-secret-of-some-length';
    const headers = webhookHeaders(signingKey(secret), 'msg_2', Date.now(), body);
    expect(new Webhook(secret, { format: 'raw' }).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('when the body, id or timestamp is changed, then verification fails', () => {
    const secret = generateSecret();
    const headers = webhookHeaders(signingKey(secret), 'msg_3', Date.now(), body);
    const hook = new Webhook(secret);
    expect(() => hook.verify(body.replace('s1', 's2'), headers)).toThrow('No matching signature found');
    expect(() => hook.verify(body, { ...headers, 'webhook-id': 'msg_4' })).toThrow('No matching signature found');
    expect(() => hook.verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) })).toThrow('No matching signature found');
  });

  it('when the timestamp is set, then it is in whole seconds', () => {
    expect(webhookHeaders(signingKey(generateSecret()), 'm', 1_767_225_600_999, body)['webhook-timestamp']).toBe('1767225600');
  });
});
