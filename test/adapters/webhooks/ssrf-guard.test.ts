import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createGuardedAgent, createWebhookTargetPolicy, refuseAddress, type Resolve } from '../../../src/adapters/webhooks/ssrf-guard.js';
import { startWebhookReceiver } from '../../helpers/webhook-receiver.js';

const strict = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '93.184.216.34', family: 4 }] });

describe('SSRF guard: addresses', () => {
  it.each([
    ['loopback IPv4', ['127.0.0.1', '127.255.255.254'], /loopback/],
    ['loopback IPv6', ['::1'], /loopback/],
    ['private 10/8', ['10.0.0.1', '10.255.255.255'], /private/],
    ['private 172.16/12', ['172.16.0.1', '172.31.255.255'], /private/],
    ['private 192.168/16', ['192.168.1.1'], /private/],
    ['unique local fc00::/7', ['fc00::1', 'fd12:3456::1'], /unique local/],
    ['link-local 169.254/16', ['169.254.1.1'], /link-local/],
    ['link-local fe80::/10', ['fe80::1', 'febf::1'], /link-local/],
    ['shared CGNAT 100.64/10', ['100.64.0.1', '100.127.255.255'], /CGNAT/],
    ['this network 0/8', ['0.0.0.0', '0.1.2.3'], /unspecified/],
    ['unspecified IPv6', ['::'], /unspecified/],
    ['metadata IPv4', ['169.254.169.254'], /metadata/],
    ['metadata IPv6', ['fd00:ec2::254'], /metadata/],
    ['IPv4-mapped IPv6', ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:192.168.0.1', '::ffff:169.254.169.254', '::ffff:100.64.0.1'], /IPv4-mapped/],
    ['NAT64 and 6to4 carrying private IPv4', ['64:ff9b::10.0.0.1', '2002:7f00:1::'], /(NAT64|6to4)/],
    ['multicast and reserved', ['224.0.0.1', '255.255.255.255', 'ff02::1'], /(multicast|reserved)/],
  ])('when the address is %s, then it is refused', (_name, addresses, why) => {
    for (const address of addresses) expect(refuseAddress(address), `${address}`).toMatch(why);
  });

  it('when the address is public, then it is accepted, also in IPv4-mapped form', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8']) {
      expect(refuseAddress(address), `${address}`).toBeNull();
    }
  });
});

describe('SSRF guard: URLs', () => {
  it.each([
    ['ftp://hooks.example.com/x', /only http/],
    ['file:///etc/passwd', /only http/],
    ['not a url', /not an absolute URL/],
    ['https://user:pass@hooks.example.com/x', /credentials/],
    ['http://localhost:8080/x', /localhost names this machine/],
    ['http://LOCALHOST./x', /localhost names this machine/],
    ['http://api.localhost/x', /names this machine/],
    ['http://metadata.google.internal/computeMetadata/v1/', /metadata/],
    ['http://127.0.0.1:9000/x', /loopback/],
    ['http://2130706433/x', /127\.0\.0\.1 is a loopback/],
    ['http://0x7f.1/x', /loopback/],
    ['http://[::1]/x', /loopback/],
    ['http://[::ffff:127.0.0.1]/x', /loopback.*IPv4-mapped/],
    ['http://[fe80::1]/x', /link-local/],
    ['http://169.254.169.254/latest/meta-data/', /metadata/],
    ['http://[fd00:ec2::254]/latest/meta-data/', /metadata/],
    ['http://10.1.2.3/x', /private/],
    ['http://100.100.100.200/x', /CGNAT/],
  ])('when the URL is %s, then it is refused', (url, why) => {
    expect(strict.refuseUrl(url)).toMatch(why);
  });

  it('when the URL is a public http(s) URL, then it is accepted', () => {
    expect(strict.refuseUrl('https://hooks.example.com/cxone?x=1')).toBeNull();
    expect(strict.refuseUrl('http://93.184.216.34:8080/x')).toBeNull();
  });

  it('when WEBHOOK_ALLOW_PRIVATE=true, then private targets are accepted but the scheme and credential rules stay', () => {
    const open = createWebhookTargetPolicy({ allowPrivate: true });
    expect(open.refuseUrl('http://127.0.0.1:9000/x')).toBeNull();
    expect(open.refuseUrl('http://localhost/x')).toBeNull();
    expect(open.refuseUrl('gopher://127.0.0.1/x')).toMatch(/only http/);
    expect(open.refuseUrl('http://u:p@127.0.0.1/x')).toMatch(/credentials/);
  });

  it('when a host name resolves to a private address at subscription time, then it is refused', async () => {
    const resolve: Resolve = async (host) => (host === 'internal.example.com' ? [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }] : [{ address: '93.184.216.34', family: 4 }]);
    const policy = createWebhookTargetPolicy({ allowPrivate: false, resolve });
    expect(await policy.refuseTarget('https://internal.example.com/h')).toBe('internal.example.com resolves to 10.0.0.7, a private address');
    expect(await policy.refuseTarget('https://public.example.com/h')).toBeNull();
  });

  it('when a host name does not resolve at subscription time, then it is accepted (the connection-time check still applies)', async () => {
    const policy = createWebhookTargetPolicy({
      allowPrivate: false,
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      },
    });
    expect(await policy.refuseTarget('https://not-yet.example.com/h')).toBeNull();
  });
});

describe('SSRF guard: at connection time', () => {
  it('when a name resolves to loopback only when connecting (DNS rebinding), then the guarded agent refuses to connect', async () => {
    const receiver = await startWebhookReceiver(200);
    const port = new URL(receiver.url).port;
    const policy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect(policy.refuseUrl(`http://rebind.example.com:${port}/hooks`)).toBeNull();
    const agent = createGuardedAgent(policy);
    onTestFinished(() => agent.close());
    const error = await request(`http://rebind.example.com:${port}/hooks`, { method: 'POST', body: '{}', dispatcher: agent }).catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/rebind\.example\.com resolves to 127\.0\.0\.1, a loopback address/);
    expect(receiver.received).toHaveLength(0);
  });

  it('when a name resolves to a public and a private address, then only the public one is offered to connect', async () => {
    const policy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '10.0.0.1', family: 4 }, { address: '93.184.216.34', family: 4 }] });
    const all = await new Promise((resolve, reject) => policy.lookup('mixed.example.com', { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
    expect(all).toEqual([{ address: '93.184.216.34', family: 4 }]);
    const one = await new Promise((resolve, reject) => policy.lookup('mixed.example.com', {}, (error, address) => (error ? reject(error) : resolve(address))));
    expect(one).toBe('93.184.216.34');
  });

  it('when WEBHOOK_ALLOW_PRIVATE=true, then the guarded agent connects to loopback', async () => {
    const receiver = await startWebhookReceiver(204);
    const port = new URL(receiver.url).port;
    const policy = createWebhookTargetPolicy({ allowPrivate: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const agent = createGuardedAgent(policy);
    onTestFinished(() => agent.close());
    const response = await request(`http://rebind.example.com:${port}/hooks`, { method: 'POST', body: '{}', dispatcher: agent });
    await response.body.dump();
    expect(response.statusCode).toBe(204);
    expect(receiver.received).toHaveLength(1);
  });
});
