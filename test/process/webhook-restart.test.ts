/**
 * Process-level: the real service (src/main.ts under tsx) as a child process on port 0,
 * against its embedded simulator, with a DATA_DIR that outlives it.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/adapters/storage/sqlite-store.js';
import { seedIds } from '../../src/simulator/seed.js';
import { spawnService, startService } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startWebhookReceiver, type ReceivedWebhook } from '../helpers/webhook-receiver.js';

const TOKEN = 'okta-process-token-0001';
const SECRET = `whsec_${Buffer.from('process-test-webhook-secret-0001').toString('base64')}`;

describe('process: webhook delivery across a restart', () => {
  it('when the service stops before a webhook is delivered, then started again on the same DATA_DIR it delivers it with the same webhook-id', { timeout: 60_000 }, async () => {
    const receiver = await startWebhookReceiver(500);
    const env = {
      DATA_DIR: tempDir(),
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_PRIVATE: 'true',
    };

    const first = await startService({ ...env, WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s,1s,1s' });
    const sync = await fetch(`${first.url}/groups/${seedIds.acdGroups.contactCenterAgents}/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ members: [{ value: seedIds.users.aliceSmith, type: 'User' }] }),
    });
    expect(sync.status).toBe(200);
    const { syncId } = (await sync.json()) as { syncId: string };
    const completed = (r: ReceivedWebhook) => (JSON.parse(r.body) as { type: string }).type === 'group.sync.completed';
    await receiver.waitFor((all) => all.some(completed)); // the first attempt, answered 500
    expect(await first.stop()).toBe(0);
    const failed = receiver.received.filter(completed);

    receiver.respond(200);
    const second = await startService({ ...env, WEBHOOK_RETRY_SCHEDULE: '1h' });
    const received = (await receiver.waitFor((all) => all.filter(completed).length > failed.length, 20_000)).filter(completed);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const delivered = received.at(-1);
    const payload = new Webhook(SECRET).verify(delivered?.body ?? '', delivered?.headers as Record<string, string>);
    expect(payload).toMatchObject({ type: 'group.sync.completed', data: { syncId, status: 'applied' } });

    const verify = await fetch(`${second.url}/audit/verify`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await verify.json()).toEqual({ ok: true, records: 1 });
    expect(await second.stop()).toBe(0);
    expect(second.stderr()).not.toContain(SECRET);
  });

  it('when DATA_DIR holds a corrupt database, then the service does not start and says why in one line', { timeout: 30_000 }, async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, DATABASE_FILE), 'garbage '.repeat(1000));
    const child = spawnService({ DATA_DIR: dataDir });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(74);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cxone-scim-sync: storage error: .*cxone-scim-sync\.db is corrupt or not a SQLite database/)]);
  });
});
