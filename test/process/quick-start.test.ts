/**
 * Process-level: the quick start of the README on a fresh data directory. With no tenant and
 * no token configured, the service starts the embedded simulator (CXone as published: no SCIM
 * /Groups), prints a curl to try, and that curl syncs an ACD group through the admin API.
 */
import { describe, expect, it } from 'vitest';
import { startService } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the quick start', () => {
  it('when the service starts with nothing configured, then the curl it prints syncs the ACD group (applied, then unchanged) and /readyz names acd-groups', { timeout: 60_000 }, async () => {
    const service = await startService({ DATA_DIR: tempDir() });
    await service.waitForLog((entry) => entry.msg === 'membership backend');
    const banner = service.stderr();
    const curl = /curl -s -X POST (\S+) \\\n\s+-H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' \\\n\s+-d '(.+)'/.exec(banner);
    if (curl === null) throw new Error(`no curl in the banner: ${banner}`);
    const [, url, token, body] = curl as unknown as [string, string, string, string];
    expect(url).toBe(`${service.url}/groups/5001/sync`);

    const send = async () => {
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const first = await send();
    expect(first).toMatchObject({ status: 200, body: { groupId: '5001', status: 'applied', memberCount: 3, consistencyRate: 1, writeMode: 'admin-api', backend: 'acd-groups' } });
    const second = await send();
    expect(second).toMatchObject({ status: 200, body: { status: 'unchanged', backend: 'acd-groups' } });
    const ready = await fetch(`${service.url}/readyz`);
    expect(await ready.json()).toMatchObject({ backend: { setting: 'auto', name: 'acd-groups' } });
    // For the README's figures (not asserted: they follow the simulator's paging).
    console.log(JSON.stringify({ first: first.body, second: second.body }));
    expect(await service.stop()).toBe(0);
  });
});
