/** Configurations an operator can get wrong without noticing: refused at start, with one line naming the variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { spawnService } from './helpers/service-process.js';
import { tempDir } from './helpers/temp-dir.js';

const tenant = { CXONE_CLIENT_ID: 'client', CXONE_CLIENT_SECRET: 'super-secret-value', SYNC_API_TOKENS: 'okta:okta-token-1234567890' };

function failure(env: Record<string, string>): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return (caught as Error).message;
}

describe('first-run and operator traps', () => {
  it('when NODE_ENV=production and no upstream is set, then the start is refused, naming CXONE_BASE_URL and SIMULATOR=embedded', () => {
    expect(failure({ NODE_ENV: 'production' })).toMatch(/^CXONE_BASE_URL: required when NODE_ENV=production .*SIMULATOR=embedded/);
  });

  it('when NODE_ENV=production asks for the simulator with SIMULATOR=embedded, then it starts against it; outside production nothing is needed', () => {
    expect(loadConfig({ NODE_ENV: 'production', SIMULATOR: 'embedded' }).cxoneBaseUrl).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'development' }).cxoneBaseUrl).toBeUndefined();
    expect(loadConfig({}).simulator).toBeUndefined();
  });

  it('when the CLI (which serves nothing) runs under NODE_ENV=production without an upstream, then configuration does not refuse it', () => {
    expect(loadConfig({ NODE_ENV: 'production' }, { serving: false }).cxoneBaseUrl).toBeUndefined();
  });

  it('when SIMULATOR=embedded and CXONE_BASE_URL are both set, then the start is refused', () => {
    expect(failure({ SIMULATOR: 'embedded', CXONE_BASE_URL: 'https://acme.api.nicecxone.com', ...tenant })).toMatch(/^SIMULATOR: /);
    expect(failure({ SIMULATOR: 'yes' })).toMatch(/^SIMULATOR: /);
  });

  it.each([
    ['CXONE_BASE_URL', { CXONE_BASE_URL: 'http://acme.api.nicecxone.com' }],
    ['CXONE_BASE_URL', { CXONE_BASE_URL: 'http://10.1.2.3:8081' }],
    ['CXONE_TOKEN_URL', { CXONE_BASE_URL: 'https://acme.api.nicecxone.com', CXONE_TOKEN_URL: 'http://auth.example.com/token' }],
  ])('when %s is plain http to a host that is not loopback, then the start is refused unless CXONE_ALLOW_INSECURE_HTTP=true', (name, urls) => {
    const message = failure({ ...tenant, ...urls });
    expect(message).toMatch(new RegExp(`^${name}: http://.* is plain http and not loopback: the client secret and tokens would travel in clear; .*CXONE_ALLOW_INSECURE_HTTP=true`));
    expect(message).not.toContain('super-secret-value');
    expect(loadConfig({ ...tenant, ...urls, CXONE_ALLOW_INSECURE_HTTP: 'true' }).cxoneAllowInsecureHttp).toBe(true);
  });

  it.each(['http://127.0.0.1:8081', 'http://localhost:8081', 'http://[::1]:8081', 'https://acme.api.nicecxone.com'])('when the upstream is %s (loopback or https), then plain http is no problem', (url) => {
    expect(loadConfig({ ...tenant, CXONE_BASE_URL: url, CXONE_TOKEN_URL: `${url}/oauth/token` }).cxoneBaseUrl).toBe(url);
  });

  it('when the service is started with NODE_ENV=production and no upstream, then it exits 78 with one line and never listens', async () => {
    const child = spawnService({ NODE_ENV: 'production', DATA_DIR: tempDir() });
    let stderr = '';
    let stdout = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cxone-scim-sync: configuration error: CXONE_BASE_URL: required when NODE_ENV=production/)]);
    expect(stdout).not.toContain('listening');
  });
});
