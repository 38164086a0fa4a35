import { describe, expect, it } from 'vitest';
import { chainMacs } from '../../../src/core/audit.js';
import { checkChainNotes, parseAnchor, parseBreaks, toDelivery, toTakenClaim, type ChainNotes } from '../../../src/adapters/storage/store-rows.js';

const noNotes: ChainNotes = { anchor: undefined, checkpointRow: undefined, headHash: undefined, headSeq: undefined, headMac: undefined, counter: 0 };

describe('the rows both stores read', () => {
  it('when a delivery row carries epoch milliseconds (as SQLite and the PostgreSQL pool both return them), then its times are ISO and only a pending one has a next attempt', () => {
    const attempts = [{ delivery_id: 7, attempt: 1, at: 1_000, status_code: 500, error: null, duration_ms: 12 }];
    const pending = toDelivery({ id: 7, event_id: 'evt_1', type: 'group.sync.completed', status: 'pending', next_attempt_at: 2_000, created_at: 0 }, attempts);
    const failed = toDelivery({ id: 7, event_id: 'evt_1', type: 'group.sync.completed', status: 'failed', next_attempt_at: 2_000, created_at: 0 }, []);

    expect(pending).toEqual({
      id: 7,
      eventId: 'evt_1',
      eventType: 'group.sync.completed',
      status: 'pending',
      nextAttemptAt: '1970-01-01T00:00:02.000Z',
      createdAt: '1970-01-01T00:00:00.000Z',
      attempts: [{ attempt: 1, at: '1970-01-01T00:00:01.000Z', statusCode: 500, error: null, durationMs: 12 }],
    });
    expect(failed.nextAttemptAt).toBeNull();
  });

  it('when the key anchor or the note of breaks is unreadable, then the anchor matches no key and the note is itself a break', () => {
    expect(parseAnchor(undefined)).toBeUndefined();
    expect(parseAnchor('{not json')).toEqual({ since: 1, from: 1, mac: '' });
    expect(parseBreaks(undefined)).toEqual([]);
    expect(parseBreaks('{not json')).toEqual([{ seq: 0, failure: 'cut', reason: 'the record of earlier breaks in the chain is unreadable' }]);
  });

  it('when the chain notes do not match AUDIT_HMAC_KEY, then they fail before any record is walked; without a key and notes, the walk starts at the genesis', () => {
    const key = 'k'.repeat(32);
    expect(checkChainNotes(noNotes, key)).toMatchObject({ verdict: { ok: false, failure: 'not_keyed', firstBrokenSyncId: '(chain metadata)' } });
    const anchor = { since: 1, from: 1, mac: chainMacs.anchor(key, 1, 1) };
    const forged = { id: 1, first_seq: 5, prev_hash: 'a'.repeat(64), pruned: 4, created_at: '2026-01-01T00:00:00.000Z', mac: null };
    expect(checkChainNotes({ ...noNotes, anchor, checkpointRow: forged }, key)).toMatchObject({ verdict: { failure: 'checkpoint_invalid' } });
    expect(checkChainNotes(noNotes, undefined)).toEqual({ checkpoint: undefined, head: null });
  });

  it('when an idempotency key is held, then a completed one answers its stored response and any other is still processing', () => {
    const response = { statusCode: 200, contentType: 'application/json', body: '{"ok":true}' };
    expect(toTakenClaim({ fingerprint: 'f', status: 'completed', response: JSON.stringify(response) })).toEqual({ claimed: false, fingerprint: 'f', state: 'completed', response });
    expect(toTakenClaim({ fingerprint: 'f', status: 'completed', response: null })).toEqual({ claimed: false, fingerprint: 'f', state: 'processing' });
    expect(toTakenClaim({ fingerprint: 'f', status: 'processing', response: null })).toEqual({ claimed: false, fingerprint: 'f', state: 'processing' });
  });
});
