/**
 * What the SCIM front door changes outside a sync is audited in the tamper-evident chain:
 * a group created, a group's externalId set, a user created, replaced, patched and
 * deactivated. One record per write, with the SCIM token's name as actor, the resource id,
 * the attributes it set (a user's by name only, never their values) and the outcome; the
 * chain verifies (GET /audit/verify and `audit verify`), GET /audit lists and filters them,
 * and no secret or personal value is in them. The service as main.ts composes it, on SQLite.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/cli/commands/audit.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { buildFullApp } from '../helpers/full-app.js';
import { scanForSecrets } from '../helpers/secret-scan.js';

const SCIM_TOKEN = 'okta-scim-token-000000001';
const ADMIN_TOKEN = 'admin-token-0000000000001';
const CLIENT = { clientId: 'sync', clientSecret: 'cxone-client-secret-value' };
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PASSWORD = 'Pa55word-that-must-not-travel';

describe('the audit records of the SCIM front door', () => {
  it('when groups and users are written through /scim/v2, then each write is one record of its kind with the token\'s name, the resource and the attributes set, the chain verifies, and no secret or personal value is recorded', async () => {
    const full = await buildFullApp({
      env: { SCIM_API_TOKENS: `okta-scim:${SCIM_TOKEN}`, ADMIN_API_TOKENS: `ops:${ADMIN_TOKEN}`, MEMBERSHIP_BACKEND: 'scim-groups' },
      ...CLIENT,
      simulator: { scimGroups: true },
      dispatch: false,
    });
    const call = (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
      full.app.inject({ method, url, headers: { authorization: `Bearer ${SCIM_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    const changes = async () => (await full.store.listRecords({ limit: 100 })).items.filter((r) => r.status.startsWith('scim_')).toReversed();

    // Groups: a create, then an externalId changed alone.
    const created = await call('POST', '/scim/v2/Groups', { displayName: 'Night Shift', externalId: 'okta-00g1', members: [] });
    expect(created.statusCode).toBe(201);
    const groupId = created.json<{ id: string }>().id;
    expect(await changes()).toMatchObject([{ status: 'scim_group_created', actor: 'okta-scim', resourceType: 'Group', resourceId: groupId, groupId, attributes: ['displayName', 'externalId'], displayName: 'Night Shift', externalId: 'okta-00g1', outcome: 'applied' }]);
    expect((await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'externalId', value: 'okta-00g2' }] })).statusCode).toBe(204);
    expect((await changes()).at(-1)).toMatchObject({ status: 'scim_group_external_id_set', actor: 'okta-scim', resourceId: groupId, groupId, attributes: ['externalId'], externalId: 'okta-00g2', outcome: 'applied' });

    // Users: create (with a password CXone does not take), replace, patch, deactivate.
    const email = 'night.agent@example.com';
    const user = await call('POST', '/scim/v2/Users', { schemas: [USER], userName: email, name: { givenName: 'Nightingale', familyName: 'Agentova' }, emails: [{ value: email, type: 'work', primary: true }], active: true, password: PASSWORD });
    expect(user.statusCode).toBe(201);
    const userId = user.json<{ id: string }>().id;
    expect((await call('PUT', `/scim/v2/Users/${userId}`, { schemas: [USER], userName: email, name: { givenName: 'Nightingale', familyName: 'Agentova-Reyes' }, emails: [{ value: email, type: 'work', primary: true }], active: true })).statusCode).toBe(200);
    const patched = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'night.agent2@example.com' }, { op: 'replace', path: 'name.familyName', value: 'Reyes-Agentova' }] });
    expect(patched.statusCode).toBe(200);
    expect((await call('DELETE', `/scim/v2/Users/${userId}`)).statusCode).toBe(204);
    // A write CXone refuses is recorded too, as failed.
    expect((await call('PATCH', '/scim/v2/Users/no-such-user', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).statusCode).toBe(404);

    const users = (await changes()).filter((r) => r.status.startsWith('scim_user_'));
    expect(users).toMatchObject([
      { status: 'scim_user_created', actor: 'okta-scim', resourceType: 'User', resourceId: userId, attributes: ['active', 'emails', 'name', 'password', 'userName'], outcome: 'applied' },
      { status: 'scim_user_replaced', actor: 'okta-scim', resourceId: userId, attributes: ['active', 'emails', 'name', 'userName'], outcome: 'applied' },
      { status: 'scim_user_patched', actor: 'okta-scim', resourceId: userId, attributes: ['emails', 'name'], outcome: 'applied' },
      { status: 'scim_user_deactivated', actor: 'okta-scim', resourceId: userId, attributes: ['active'], outcome: 'applied' },
      { status: 'scim_user_patched', resourceId: 'no-such-user', attributes: ['active'], outcome: 'failed', error: 'http_404' },
    ]);
    for (const record of users) expect(record).not.toHaveProperty('groupId');

    // The chain verifies, over HTTP and with the CLI; GET /audit lists them and filters by group.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await full.app.inject({ method: 'GET', url: '/audit/verify', headers: admin })).json()).toMatchObject({ ok: true });
    const listed = (await full.app.inject({ method: 'GET', url: '/audit?limit=100', headers: admin })).json<{ items: { status: string; attributes?: string[] }[] }>();
    expect(listed.items.filter((r) => r.status.startsWith('scim_')).map((r) => r.status)).toEqual(
      ['scim_user_patched', 'scim_user_deactivated', 'scim_user_patched', 'scim_user_replaced', 'scim_user_created', 'scim_group_external_id_set', 'scim_group_created'],
    );
    expect(listed.items.find((r) => r.status === 'scim_user_created')?.attributes).toContain('password');
    const byGroup = (await full.app.inject({ method: 'GET', url: `/audit?groupId=${groupId}`, headers: admin })).json<{ items: { status: string }[] }>();
    expect(byGroup.items.map((r) => r.status)).toEqual(expect.arrayContaining(['scim_group_external_id_set', 'scim_group_created', 'unchanged']));
    expect(byGroup.items.every((r) => !r.status.startsWith('scim_user_'))).toBe(true);
    await full.app.close();
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const code = await auditCommand(['verify', '--data-dir', full.dataDir], { stdout: out, stderr: new PassThrough(), stdin: new PassThrough(), env: {} });
    expect(printed).toMatch(/^ok: the audit chain of \d+ records is intact/);
    expect(code).toBe(0);

    // Neither tokens nor the CXone client secret nor the user's values are in the trail.
    const secrets = new Map([
      ['SCIM token', SCIM_TOKEN],
      ['admin token', ADMIN_TOKEN],
      ['CXone client secret', CLIENT.clientSecret],
      ['password', PASSWORD],
      ['e-mail', email],
      ['new e-mail', 'night.agent2@example.com'],
      ['given name', 'Nightingale'],
      ['family name', 'Reyes-Agentova'],
    ]);
    const trail = (await full.store.listRecords({ limit: 100 })).items.map((r, i) => [`record ${i} (${r.status})`, JSON.stringify(r)] as const);
    expect(scanForSecrets(secrets, trail)).toEqual([]);
    expect(seedIds.users.aliceSmith).toBeDefined();
  });
});
