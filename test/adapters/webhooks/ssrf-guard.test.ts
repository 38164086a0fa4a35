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
  ])('when the URL is %s, then it is refused, and the detail for the log says why', async (url, why) => {
    expect(strict.refuseUrl(url)).not.toBeNull();
    expect((await strict.checkTarget(url))?.detail).toMatch(why);
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
    expect(await policy.refuseTarget('https://internal.example.com/h')).toMatch(/not an allowed target/);
    expect((await policy.checkTarget('https://internal.example.com/h'))?.detail).toBe('internal.example.com resolves to 10.0.0.7, a private address');
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
    expect(String((error as Error).message)).toMatch(/rebind\.example\.com is not an allowed target/);
    expect(String((error as Error).message)).not.toContain('127.0.0.1');
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

describe('SSRF guard: the IANA special-purpose registries', () => {
  // Every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries that is not
  // globally reachable, and the forms that carry an IPv4 address, by an address inside it.
  it.each([
    ['NAT64 local-use 64:ff9b:1::/48', ['64:ff9b:1::a00:1', '64:ff9b:1::808:808', '64:ff9b:1:ffff::1']],
    ['Teredo 2001::/32', ['2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0:808:808::1']],
    ['the rest of 2001::/23', ['2001:2::1', '2001:10::1', '2001:1::4', '2001:1ff::1']],
    ['6to4 relay anycast 192.88.99.0/24', ['192.88.99.1', '192.88.99.2', '192.88.99.255']],
    ['documentation', ['192.0.2.1', '198.51.100.7', '203.0.113.200', '2001:db8::1', '3fff::1', '3fff:fff::1']],
    ['IETF protocol assignments 192.0.0.0/24', ['192.0.0.1', '192.0.0.8', '192.0.0.170', '192.0.0.171', '192.0.0.255']],
    ['benchmarking', ['198.18.0.1', '198.19.255.254', '2001:2::5']],
    ['discard-only 100::/64, dummy 100:0:0:1::/64 and SRv6 5f00::/16', ['100::1', '100:0:0:1::1', '5f00::1']],
    ['limited broadcast', ['255.255.255.255']],
    ['6to4 carrying a special-purpose IPv4 address', ['2002:c058:6301::1', '2002:c000:201::1', '2002:a9fe:a9fe::1', '2002:0:1::1']],
    ['NAT64 carrying a special-purpose IPv4 address', ['64:ff9b::192.88.99.1', '64:ff9b::203.0.113.1', '64:ff9b::c0a8:1']],
    ['IPv4-mapped carrying a special-purpose IPv4 address', ['::ffff:192.88.99.1', '::ffff:198.51.100.1']],
    ['outside global unicast 2000::/3', ['4000::1', '1::1', '8000::1', 'e000::1']],
  ])('when the address is %s, then it is refused', (_name, addresses) => {
    for (const address of addresses) expect(refuseAddress(address), `${address}`).not.toBeNull();
  });

  it('when the address is one the registries mark globally reachable, or carries a public IPv4 address, then it is accepted', () => {
    for (const address of ['192.0.0.9', '192.0.0.10', '192.31.196.1', '192.52.193.1', '192.175.48.1', '2001:1::1', '2001:1::2', '2001:1::3', '2001:3::1', '2001:4:112::1', '2001:20::1', '2001:30::1', '2620:4f:8000::1', '2002:808:808::1', '64:ff9b::8.8.8.8', '2001:4860:4860::8888']) {
      expect(refuseAddress(address), `${address}`).toBeNull();
    }
  });

  it.each(['http://localhost../x', 'http://LOCALHOST.../x', 'http://localhost.%2e/x', 'http://api.localhost../x', 'http://[64:ff9b:1::a00:1]/x', 'http://[2001::a00:1]/x', 'http://192.88.99.1/x'])(
    'when the URL is %s, then it is refused',
    (url) => {
      expect(strict.refuseUrl(url)).not.toBeNull();
    },
  );

  it('when a literal address is refused, then the text says only that it is not an allowed target, and that WEBHOOK_ALLOW_PRIVATE=true allows it', () => {
    for (const url of ['http://127.0.0.1/x', 'http://10.0.0.1/x', 'http://[::1]/x', 'http://localhost/x', 'http://169.254.169.254/x']) {
      const refused = strict.refuseUrl(url) ?? '';
      expect(refused, `${url}`).toMatch(/not an allowed target/);
      expect(refused, `${url}`).toMatch(/WEBHOOK_ALLOW_PRIVATE=true/);
    }
  });

  it('when a host name resolves to a refused address, then the refusal does not say what it resolves to, nor its class (no DNS oracle)', async () => {
    const addresses = ['10.9.8.7', '127.0.0.1', '169.254.169.254', 'fd00::1234', '64:ff9b:1::a00:1', '192.88.99.1'];
    const texts = new Set<string>();
    for (const address of addresses) {
      const policy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }] });
      const refused = (await policy.refuseTarget('https://internal.example.com/h')) ?? '';
      expect(refused, `${address}`).toMatch(/not an allowed target/);
      expect(refused, `${address}`).not.toContain(address);
      expect(refused, `${address}`).not.toMatch(/resolves/);
      texts.add(refused);
    }
    // One text, whatever the address: it tells nothing about the network behind the name.
    expect([...texts]).toHaveLength(1);
    expect(strict.refuseUrl('http://10.9.8.7/h')).toBe([...texts][0]);
  });

  it('when a name resolves to a refused address only when connecting, then the connection error does not say what it resolves to', async () => {
    const policy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '10.11.12.13', family: 4 }] });
    const error = await new Promise<Error>((resolve) => policy.lookup('rebind.example.com', {}, (e) => resolve(e as Error)));
    expect(error.message).toMatch(/not an allowed target/);
    expect(error.message).not.toContain('10.11.12.13');
    expect(error.message).not.toMatch(/private|resolves/);
  });
});
