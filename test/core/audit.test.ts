import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { ChainVerifier, chainHash, GENESIS_HASH, hmacSha256Hex, sealRecord, sha256Hex, type AuditEntry, type ChainHead } from '../../src/core/audit.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { AuditUnavailableError, UpstreamError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { MemberRef } from '../../src/core/membership.js';
import { groupResourceForWrite } from '../../src/core/scim-group.js';
import { syncGroup, type SyncRequest } from '../../src/core/sync-group.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });

function setup() {
  const directory = new InMemoryDirectory().addUser('a').addUser('b').addUser('off', false).addGroup('t', [user('a')]);
  const audit = new MemoryAuditLog();
  const metrics = new RecordingMetrics();
  let n = 0;
  const deps = { directory, clock: new FakeClock(), locks: new KeyedLock(), audit, metrics, newSyncId: () => `s${++n}`, newEventId: () => `e${n}`, maxDepth: 3, maxConflictRetries: 3, writeMode: 'put' as const, patchMaxOperations: 100, attributes: { entitlementMap: {}, concurrency: 4 } };
  const run = (members: MemberRef[], extra: Partial<SyncRequest> = {}) =>
    syncGroup(deps, { groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'req-1', ...extra });
  return { directory, audit, metrics, run };
}

describe('audit trail of syncGroup', () => {
  it('when syncs end in every way, then each attempt writes exactly one record with its status', async () => {
    const { directory, audit, run } = setup();
    await run([user('a'), user('b')]); // applied
    await run([user('a'), user('b')]); // unchanged
    await run([user('a')], { dryRun: true }); // dry_run
    await run([user('off')]).catch(() => {}); // validation_failed
    await run([], { groupId: 'missing' }).catch(() => {}); // group_not_found
    directory.beforeReplace = () => directory.touch('t');
    await run([user('a')]).catch(() => {}); // conflict
    directory.beforeReplace = null;
    directory.getGroup = async () => {
      throw new UpstreamError('boom', { status: 500 });
    };
    await run([user('a')]).catch(() => {}); // upstream_error
    expect(audit.records.map((r) => r.status)).toEqual(['applied', 'unchanged', 'dry_run', 'validation_failed', 'group_not_found', 'conflict', 'upstream_error']);
    expect(audit.verify()).toEqual({ ok: true, records: 7 });
  });

  it('when a sync is applied, then the record holds the docs/api.md fields and the hash of the resource that was PUT', async () => {
    const { directory, audit, run } = setup();
    const result = await run([user('a'), user('b')]);
    const record = audit.records[0];
    expect(record).toMatchObject({
      syncId: result.syncId,
      requestId: 'req-1',
      actor: 'okta',
      groupId: 't',
      status: 'applied',
      added: [user('b')],
      removed: [],
      memberCount: 2,
      etagBefore: 'W/"1"',
      etagAfter: 'W/"2"',
      upstreamRequests: 3,
      errors: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      prevHash: GENESIS_HASH,
    });
    const put = groupResourceForWrite({ id: 't', displayName: 'Group t', members: directory.membersOf('t'), extra: {} });
    expect(record?.payloadSha256).toBe(sha256Hex(canonicalJson(put)));
  });

  it('when validation fails, then the record lists every member error and a failed event carries them', async () => {
    const { audit, run } = setup();
    await run([user('off'), user('ghost')]).catch(() => {});
    expect(audit.records[0]?.errors.map((e) => e.code)).toEqual(['user_inactive', 'user_not_found']);
    expect(audit.events).toEqual([
      {
        id: expect.any(String),
        type: 'group.sync.failed',
        timestamp: '2026-01-01T00:00:00.000Z',
        data: { syncId: 's1', groupId: 't', error: 'validation_failed', message: '2 members failed validation', errors: expect.arrayContaining([expect.objectContaining({ code: 'user_inactive' })]), backend: 'scim-groups' },
      },
    ]);
  });

  it('when syncs complete, then group.sync.completed is emitted for applied and unchanged, and nothing for a dry run', async () => {
    const { audit, run } = setup();
    await run([user('a'), user('b')]);
    await run([user('a'), user('b')]);
    await run([user('a')], { dryRun: true });
    await run([user('off')], { dryRun: true }).catch(() => {});
    expect(audit.events.map((e) => [e.type, e.data.status])).toEqual([
      ['group.sync.completed', 'applied'],
      ['user.attributes.synced', undefined],
      ['group.sync.completed', 'unchanged'],
    ]);
    expect(audit.events[0]?.data).toEqual({ syncId: 's1', groupId: 't', status: 'applied', added: [user('b')], removed: [], memberCount: 2, consistencyRate: 1, latencyMs: 0, backend: 'scim-groups' });
  });

  it('when the audit record cannot be written, then the sync reports AuditUnavailableError instead of success', async () => {
    const { audit, run } = setup();
    audit.append = async () => {
      throw new Error('disk full');
    };
    const error = await run([user('a'), user('b')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as AuditUnavailableError).syncId).toBe('s1');
  });

  it('when syncs end, then metrics observe status, duration, consistency and validation codes', async () => {
    const { metrics, run } = setup();
    await run([user('a'), user('b')]);
    await run([user('off')]).catch(() => {});
    expect(metrics.observations).toEqual([
      { status: 'applied', durationSeconds: 0, consistencyRate: 1, validationCodes: [], attributeOutcomes: ['not_managed'], groupsInconsistent: 0 },
      { status: 'validation_failed', durationSeconds: 0, consistencyRate: null, validationCodes: ['user_inactive'], attributeOutcomes: [], groupsInconsistent: 0 },
    ]);
  });
});

function entry(n: number): AuditEntry {
  return {
    syncId: `s${n}`, requestId: 'r', actor: 'a', groupId: 'g', status: 'applied', added: [], removed: [], memberCount: n,
    payloadSha256: 'x', etagBefore: null, etagAfter: null, writeMode: 'put', latencyMs: 1, upstreamRequests: 2, errors: [], attributes: null, createdAt: '2026-01-01T00:00:00.000Z',
  };
}

function chain() {
  const records = [sealRecord(entry(1), GENESIS_HASH)];
  records.push(sealRecord(entry(2), records[0]?.hash as string));
  records.push(sealRecord(entry(3), records[1]?.hash as string));
  return records;
}

describe('ChainVerifier', () => {
  const verify = (records: ReturnType<typeof chain>, head?: ChainHead | null, counter?: number) => {
    const verifier = new ChainVerifier();
    for (const r of records) if (!verifier.add(r)) break;
    return verifier.verdict(head, counter);
  };

  it('when nothing was touched, then the chain verifies', () => {
    const records = chain();
    expect(verify(records, { seq: 3, hash: records[2]?.hash as string })).toEqual({ ok: true, records: 3 });
  });

  it('when a record is edited, then verification names it', () => {
    const records = chain();
    records[1] = { ...(records[1] as (typeof records)[number]), memberCount: 99 };
    expect(verify(records)).toMatchObject({ ok: false, firstBrokenSyncId: 's2', reason: expect.stringMatching(/edited/) });
  });

  it('when a record is deleted, then verification names the record after the gap', () => {
    const records = chain();
    records.splice(1, 1);
    expect(verify(records)).toMatchObject({ ok: false, firstBrokenSyncId: 's3' });
  });

  it('when the newest record is deleted, then the remembered head catches it', () => {
    const records = chain();
    const head = { seq: 3, hash: records[2]?.hash as string };
    expect(verify(records.slice(0, 2), head)).toMatchObject({ ok: false, failure: 'truncated' });
  });

  it('when records skip sequence numbers, then verification reports a gap naming the missing numbers', () => {
    const records = chain();
    const verifier = new ChainVerifier();
    expect(verifier.add(records[0] as (typeof records)[number], 1)).toBe(true);
    expect(verifier.add(records[1] as (typeof records)[number], 3)).toBe(false);
    expect(verifier.verdict()).toMatchObject({ ok: false, failure: 'gap', firstBrokenSyncId: 's2', reason: expect.stringContaining('record 2 is missing') });
  });

  it('when records exist but the head is missing, or none exist but the counter says they did, then verification fails', () => {
    expect(verify(chain(), null)).toMatchObject({ ok: false, failure: 'head_missing' });
    expect(verify([], null, 5)).toMatchObject({ ok: false, failure: 'emptied', reason: expect.stringContaining('5 records were written') });
    expect(verify([], null, 0)).toEqual({ ok: true, records: 0 });
  });

  it('when a chain is keyed, then its hashes are HMAC-SHA256 under the key, and a record re-sealed as plain fails', () => {
    const key = 'k'.repeat(32);
    const first = sealRecord(entry(1), GENESIS_HASH, key);
    expect(first.hash).toBe(hmacSha256Hex(key, canonicalJson({ ...entry(1), prevHash: GENESIS_HASH })));
    const keyed = new ChainVerifier({ keyedSince: 1, key });
    expect(keyed.add(first)).toBe(true);
    const downgraded = sealRecord(entry(2), first.hash);
    expect(keyed.add(downgraded)).toBe(false);
    expect(keyed.verdict()).toMatchObject({ ok: false, failure: 'edited', reason: expect.stringContaining('re-sealed without the key') });
    const withoutKey = new ChainVerifier({ keyedSince: 1 });
    expect(withoutKey.add(first)).toBe(true);
    expect(withoutKey.verdict()).toEqual({ ok: true, records: 1, unverifiedKeyedRecords: 1 });
  });

  it('when keys are built in another order, then the hash is the same', () => {
    const e = entry(1);
    const reordered = Object.fromEntries(Object.entries(e).toReversed()) as unknown as AuditEntry;
    expect(chainHash(reordered, GENESIS_HASH)).toBe(chainHash(e, GENESIS_HASH));
  });
});
