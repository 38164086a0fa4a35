/**
 * The baseline: the naive sync this project replaces, run inside the benchmark process
 * against the same simulator over HTTP. Per sync it gets a token, GETs the group, GETs
 * every desired member one by one (/Users/{id}) to check that it exists and is active,
 * then PUTs the whole membership (with If-Match, so it is at least correct). Nothing is
 * cached, batched or diffed: it costs (members + 3) sequential requests whatever changed.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export interface BaselineResult {
  readonly ms: number;
  readonly requests: number;
  /** Members refused by the check (unknown or inactive); nothing is written then. */
  readonly invalid: number;
  readonly written: boolean;
}

export class NaiveSyncClient {
  private readonly pool: Pool;
  private readonly basic: string;

  constructor(
    readonly baseUrl: string,
    clientId: string,
    clientSecret: string,
  ) {
    this.pool = new Pool(baseUrl, { connections: 1, headersTimeout: 120_000, bodyTimeout: 120_000, keepAliveTimeout: 60_000 });
    this.basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  }

  private async send(method: string, path: string, headers: Record<string, string>, body?: string) {
    const response = await this.pool.request({ method: method as 'GET', path, headers, body: body ?? null });
    const text = await response.body.text();
    return { status: response.statusCode, etag: response.headers.etag as string | undefined, text };
  }

  private async token(): Promise<Record<string, string>> {
    const token = await this.send(
      'POST',
      '/oauth/token',
      { authorization: `Basic ${this.basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      'grant_type=client_credentials&scope=provisioning%3Aread%20provisioning%3Awrite',
    );
    if (token.status !== 200) throw new Error(`baseline: token endpoint answered ${token.status}`);
    return { authorization: `Bearer ${(JSON.parse(token.text) as { access_token: string }).access_token}`, accept: 'application/scim+json' };
  }

  async sync(groupId: string, desiredUserIds: readonly string[]): Promise<BaselineResult> {
    const started = performance.now();
    let requests = 0;

    requests++;
    const auth = await this.token();

    requests++;
    const group = await this.send('GET', `/scim/v2/Groups/${encodeURIComponent(groupId)}`, auth);
    if (group.status !== 200) throw new Error(`baseline: GET group answered ${group.status}`);
    const displayName = (JSON.parse(group.text) as { displayName: string }).displayName;

    let invalid = 0;
    for (const id of desiredUserIds) {
      requests++;
      const user = await this.send('GET', `/scim/v2/Users/${encodeURIComponent(id)}`, auth);
      if (user.status === 404) invalid++;
      else if (user.status !== 200) throw new Error(`baseline: GET user answered ${user.status}`);
      else if ((JSON.parse(user.text) as { active?: boolean }).active === false) invalid++;
    }
    if (invalid > 0) return { ms: performance.now() - started, requests, invalid, written: false };

    requests++;
    const body = JSON.stringify({ schemas: [GROUP_SCHEMA], id: groupId, displayName, members: desiredUserIds.map((value) => ({ value, type: 'User' })) });
    const put = await this.send(
      'PUT',
      `/scim/v2/Groups/${encodeURIComponent(groupId)}`,
      { ...auth, 'content-type': 'application/scim+json', ...(group.etag ? { 'if-match': group.etag } : {}) },
      body,
    );
    if (put.status !== 200) throw new Error(`baseline: PUT group answered ${put.status}: ${put.text.slice(0, 300)}`);
    return { ms: performance.now() - started, requests, invalid, written: true };
  }

  /** Benchmark set-up, not timed: writes a membership directly (token, GET, PUT), unchecked. */
  async replaceMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    const auth = await this.token();
    const group = await this.send('GET', `/scim/v2/Groups/${encodeURIComponent(groupId)}?attributes=displayName`, auth);
    if (group.status !== 200) throw new Error(`set-up: GET group answered ${group.status}`);
    const displayName = (JSON.parse(group.text) as { displayName: string }).displayName;
    const body = JSON.stringify({ schemas: [GROUP_SCHEMA], id: groupId, displayName, members: userIds.map((value) => ({ value, type: 'User' })) });
    const put = await this.send('PUT', `/scim/v2/Groups/${encodeURIComponent(groupId)}?attributes=id`, { ...auth, 'content-type': 'application/scim+json' }, body);
    if (put.status !== 200) throw new Error(`set-up: PUT group answered ${put.status}: ${put.text.slice(0, 300)}`);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
