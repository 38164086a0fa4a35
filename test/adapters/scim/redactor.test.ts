import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../../src/adapters/scim/redactor.js';

const SECRET = 'Cs3cr3t+Q9v/odd&chars=and spaces:100%-7f1c';

describe('redactor', () => {
  it.each([
    ['as is', SECRET],
    ['percent-encoded', encodeURIComponent(SECRET)],
    ['form-encoded', new URLSearchParams([['v', SECRET]]).toString().slice(2)],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
    ['split by a line break', `${SECRET.slice(0, 10)}\n   ${SECRET.slice(10)}`],
    ['with its white space collapsed', SECRET.replace(' ', '')],
    ['split by control characters', `${SECRET.slice(0, 5)}\u0000\t${SECRET.slice(5)}`],
  ])('when a known secret appears %s, then it is replaced', (_how, form) => {
    const redactor = createRedactor([SECRET]);
    const out = redactor.redact(`before ${form} after`);
    expect(out).toBe('before [redacted] after');
  });

  it('when a Standard Webhooks secret is known, then its key part alone is replaced too', () => {
    const key = Buffer.from('k9Jq2mWv7Rt4Xz8Lp3Nb6Hc1Fd5Gs0Ya').toString('base64');
    expect(createRedactor([`whsec_${key}`]).redact(`x ${key} y whsec_${key}`)).toBe('x [redacted] y [redacted]');
  });

  it('when text looks like a credential, then it is replaced whoever made it; ordinary words are left alone', () => {
    const redactor = createRedactor();
    expect(redactor.redact('Authorization: Bearer mub-f7G2h8J3k9L4m0N5p1Q6')).toBe('Authorization: Bearer [redacted]');
    expect(redactor.redact('Bearer%20mub-f7G2h8J3k9L4m0N5p1Q6 / Bearer+mub-f7G2h8J3k9L4m0N5p1Q6')).toBe('Bearer%20[redacted] / Bearer+[redacted]');
    expect(redactor.redact('got Basic aG9zdGlsZS1jbGllbnQ6c2VjcmV0')).toBe('got Basic [redacted]');
    expect(redactor.redact('jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.Tq8Wm3Zr6Yv1 end')).toBe('jwt [redacted] end');
    expect(redactor.redact('{"access_token": "abc123", "client_secret":"s3cr3t"} token=xyz&x=1 password%3Dhunter2')).toBe(
      '{"access_token": "[redacted]", "client_secret":"[redacted]"} token=[redacted]&x=1 password%3D[redacted]',
    );
    expect(redactor.redact('basic authentication failed for the bearer token; token_type must be Bearer')).toBe('basic authentication failed for the bearer token; token_type must be Bearer');
  });

  it('when secrets are learned at run time, then they are replaced, and only the newest are kept', () => {
    const redactor = createRedactor([], { maxLearned: 2 });
    redactor.addSecret('learned-token-0001');
    redactor.addSecret('learned-token-0002');
    redactor.addSecret('learned-token-0003');
    expect(redactor.redact('learned-token-0001 learned-token-0002 learned-token-0003')).toBe('learned-token-0001 [redacted] [redacted]');
  });

  it('when a secret is long (a kilobyte access token), then it is still replaced, as is and URL-encoded', () => {
    const long = randomBytes(1500).toString('base64');
    const redactor = createRedactor();
    redactor.addSecret(long);
    expect(redactor.redact(`a ${long} b ${encodeURIComponent(long)} c`)).toBe('a [redacted] b [redacted] c');
  });

  it('when a secret is given for one call only, then that call replaces it', () => {
    expect(createRedactor().redact('x per-request-token-1 y', ['per-request-token-1'])).toBe('x [redacted] y');
  });

  it('when a secret is shorter than 4 characters, then it is not replaced (it would blank out ordinary text)', () => {
    expect(createRedactor(['abc']).redact('abc abcdef')).toBe('abc abcdef');
  });
});
