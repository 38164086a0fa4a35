/**
 * Validation that cannot be talked past: what a sync request may hold, how member errors
 * are bounded, and that every request reaching the sync use case is audited.
 */
import { describe, expect, it } from 'vitest';
import type { MemberRef } from '../../src/core/membership.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';

type App = Awaited<ReturnType<typeof buildTestApp>>['app'];

const user = (value: string): MemberRef => ({ value, type: 'User' });

function post(app: App, groupId: string, payload: unknown, query = '', headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: `/groups/${groupId}/sync${query}`,
    headers: { 'content-type': 'application/json', ...bearer(), ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('member errors are bounded', () => {
  it('when 100,000 unknown users are sent, then the 422 lists 1,000 errors with errorsOmitted, and the audit record and the event carry the same bounded list', async () => {
    const { app, audit } = await buildTestApp({ directory: new InMemoryDirectory().addGroup('g1') });
    const members = Array.from({ length: 100_000 }, (_, i) => user(`u-${String(i).padStart(6, '0')}`));
    const res = await post(app, 'g1', { members });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/^100000 members failed validation/), errorsOmitted: 99_000 });
    expect(body.errors).toHaveLength(1000);
    expect(body.errors[0]).toEqual({ code: 'user_not_found', member: user('u-000000'), message: expect.any(String) });
    expect(body.errors[999].member).toEqual(user('u-000999'));
    expect(res.body.length).toBeLessThan(200_000);

    const [record] = audit.records;
    expect(record).toMatchObject({ status: 'validation_failed', memberCount: 100_000, errorsOmitted: 99_000 });
    expect(record?.errors).toHaveLength(1000);
    expect(JSON.stringify(record).length).toBeLessThan(200_000);

    const [event] = audit.events;
    expect(event).toMatchObject({ type: 'group.sync.failed', data: { error: 'validation_failed', errorsOmitted: 99_000 } });
    expect(event?.data.errors).toHaveLength(1000);
    expect(JSON.stringify(event).length).toBeLessThan(200_000);
  });

  it('when at most 1,000 members fail, then every one is listed and there is no errorsOmitted', async () => {
    const { app, audit } = await buildTestApp({ directory: new InMemoryDirectory().addGroup('g1') });
    const res = await post(app, 'g1', { members: Array.from({ length: 1000 }, (_, i) => user(`u-${i}`)) });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveLength(1000);
    expect(res.json()).not.toHaveProperty('errorsOmitted');
    expect(audit.records[0]).not.toHaveProperty('errorsOmitted');
  });
});
