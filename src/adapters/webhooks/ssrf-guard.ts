/**
 * Which webhook targets we send to (SSRF protection). Only http(s) URLs without
 * credentials; never loopback, private, link-local, shared (CGNAT), unspecified,
 * multicast, reserved or cloud metadata addresses, in IPv4, in IPv6, or as IPv4 inside
 * IPv6 (mapped ::ffff:a.b.c.d, translated, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).
 * Address classes: RFC 6890 and the IANA special-purpose registries; `localhost` names:
 * RFC 6761 §6.3. WEBHOOK_ALLOW_PRIVATE=true turns the address rules off (loopback tests,
 * in-cluster receivers); the scheme and credential rules stay.
 *
 * Why two checks: a subscriber chooses the URL, and a host name is only a promise about
 * an address. The URL is checked when the subscription is created (the literal host, and
 * what it resolves to then, for a clear 422), and again on every connection: the guarded
 * Agent resolves the name itself and drops blocked addresses before connecting, so a
 * name that later resolves elsewhere (DNS rebinding) still cannot reach private space.
 * IP literals skip DNS, so the dispatcher checks the literal before each attempt too.
 * Redirects are never followed (undici's request() does not), so a 3xx cannot bounce a
 * delivery into private space either.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';
import { Agent } from 'undici';

interface Rule {
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly what: string;
}

const rule = (cidr: string, what: string): Rule => {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { bytes: parseIp(address) as Uint8Array, prefix: Number(prefix), what };
};

// Most specific first: the first match names the class in the refusal.
const V4_RULES: readonly Rule[] = [
  rule('169.254.169.254/32', 'a cloud metadata address'),
  rule('0.0.0.0/8', 'an unspecified ("this network") address'),
  rule('10.0.0.0/8', 'a private address'),
  rule('100.64.0.0/10', 'a shared (CGNAT) address'),
  rule('127.0.0.0/8', 'a loopback address'),
  rule('169.254.0.0/16', 'a link-local address'),
  rule('172.16.0.0/12', 'a private address'),
  rule('192.0.0.0/24', 'an IETF protocol assignment address'),
  rule('192.168.0.0/16', 'a private address'),
  rule('198.18.0.0/15', 'a benchmarking address'),
  rule('224.0.0.0/4', 'a multicast address'),
  rule('240.0.0.0/4', 'a reserved or broadcast address'),
];

const V6_RULES: readonly Rule[] = [
  rule('::/128', 'an unspecified address'),
  rule('::1/128', 'a loopback address'),
  rule('fd00:ec2::254/128', 'a cloud metadata address'),
  rule('fc00::/7', 'a unique local (private) address'),
  rule('fe80::/10', 'a link-local address'),
  rule('fec0::/10', 'a site-local address'),
  rule('ff00::/8', 'a multicast address'),
];

/** IPv6 prefixes that carry an IPv4 address, and where its 4 bytes sit. */
const V4_IN_V6: readonly (Rule & { readonly at: number })[] = [
  { ...rule('::ffff:0:0/96', 'IPv4-mapped'), at: 12 },
  { ...rule('::ffff:0:0:0/96', 'IPv4-translated'), at: 12 },
  { ...rule('64:ff9b::/96', 'NAT64'), at: 12 },
  { ...rule('::/96', 'IPv4-compatible'), at: 12 },
  { ...rule('2002::/16', '6to4'), at: 2 },
];

const BLOCKED_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** 4 or 16 bytes, or null when `text` is not an IP address. Accepts `[v6]` and a `%zone`. */
export function parseIp(text: string): Uint8Array | null {
  const host = (text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text).split('%')[0] as string;
  if (isIPv4(host)) return Uint8Array.from(host.split('.').map(Number));
  if (!isIPv6(host)) return null;
  const gap = host.indexOf('::');
  const head = hextets(gap === -1 ? host : host.slice(0, gap));
  const tail = gap === -1 ? [] : hextets(host.slice(gap + 2));
  const all = gap === -1 ? head : [...head, ...Array.from({ length: 8 - head.length - tail.length }, () => 0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** The 16-bit groups of one side of an IPv6 "::", a trailing dotted IPv4 counting as two. */
function hextets(part: string): number[] {
  if (part === '') return [];
  return part.split(':').flatMap((group) => {
    if (!group.includes('.')) return [Number.parseInt(group, 16)];
    const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
    return [(a << 8) | b, (c << 8) | d];
  });
}

function matches(bytes: Uint8Array, { bytes: net, prefix }: Rule): boolean {
  if (bytes.length !== net.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if (((bytes[bit / 8] as number) & mask) !== ((net[bit / 8] as number) & mask)) return false;
  }
  return true;
}

/** Why `address` may not be a webhook target, or null when it may. */
export function refuseAddress(address: string): string | null {
  const bytes = parseIp(address);
  if (!bytes) return null;
  if (bytes.length === 4) return V4_RULES.find((r) => matches(bytes, r))?.what ?? null;
  const v6 = V6_RULES.find((r) => matches(bytes, r));
  if (v6) return v6.what;
  for (const carrier of V4_IN_V6) {
    if (!matches(bytes, carrier)) continue;
    const v4 = bytes.subarray(carrier.at, carrier.at + 4);
    const inner = V4_RULES.find((r) => matches(v4, r));
    if (inner) return `${inner.what} (${carrier.what} ${v4.join('.')})`;
  }
  return null;
}

/** Thrown from the connection-time lookup when every address of a name is refused. */
export class BlockedTargetError extends Error {
  readonly code = 'ERR_WEBHOOK_TARGET_BLOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

export type Resolve = (hostname: string, family?: number) => Promise<ResolvedAddress[]>;

export interface WebhookTargetPolicy {
  readonly allowPrivate: boolean;
  /** Why `url` may not be a webhook target judging by the URL alone (scheme, credentials, host name, IP literal), or null. */
  refuseUrl(url: string): string | null;
  /** refuseUrl, then what the host name resolves to now. A name that does not resolve is not refused here: delivery retries it. */
  refuseTarget(url: string): Promise<string | null>;
  /** A net.connect `lookup` that resolves and drops refused addresses. */
  readonly lookup: LookupFunction;
}

export interface WebhookTargetPolicyOptions {
  readonly allowPrivate: boolean;
  /** Default: the system resolver (dns.lookup, all addresses). */
  readonly resolve?: Resolve;
}

function refusedAddresses(hostname: string, addresses: readonly ResolvedAddress[]): string[] {
  return addresses.flatMap(({ address }) => {
    const what = refuseAddress(address);
    return what ? [`${hostname} resolves to ${address}, ${what}`] : [];
  });
}

const systemResolve: Resolve = (hostname, family) => dnsLookup(hostname, { all: true, family: family ?? 0 });

export function createWebhookTargetPolicy({ allowPrivate, resolve = systemResolve }: WebhookTargetPolicyOptions): WebhookTargetPolicy {
  const refuseUrl = (text: string): string | null => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'it is not an absolute URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http:// and https:// URLs are accepted';
    if (url.username !== '' || url.password !== '') return 'it must not carry credentials';
    if (allowPrivate) return null;
    const host = url.hostname.replace(/\.$/, '').toLowerCase();
    if (BLOCKED_NAMES.has(host) || host.endsWith('.localhost')) return `${host} names this machine or a metadata service`;
    const what = refuseAddress(host);
    return what ? `${host} is ${what}` : null;
  };

  const lookup = ((hostname: string, options: { family?: number | string; all?: boolean }, callback: (...args: unknown[]) => void) => {
    const family = options.family === 'IPv6' || options.family === 6 ? 6 : options.family === 'IPv4' || options.family === 4 ? 4 : 0;
    resolve(hostname, family).then(
      (addresses) => {
        const allowed = allowPrivate ? addresses : addresses.filter(({ address }) => refuseAddress(address) === null);
        const first = allowed[0];
        if (!first) {
          callback(new BlockedTargetError(refusedAddresses(hostname, addresses)[0] ?? `${hostname} did not resolve to any address`));
          return;
        }
        if (options.all) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error),
    );
  }) as unknown as LookupFunction;

  return {
    allowPrivate,
    refuseUrl,
    async refuseTarget(text) {
      const refused = refuseUrl(text);
      if (refused || allowPrivate) return refused;
      const host = new URL(text).hostname;
      if (parseIp(host)) return null;
      let addresses: ResolvedAddress[];
      try {
        addresses = await resolve(host);
      } catch {
        return null;
      }
      return refusedAddresses(host, addresses)[0] ?? null;
    },
    lookup,
  };
}

/**
 * An undici Agent whose connections go only to addresses the policy accepts. Connect
 * timeout, keep-alive and pool size suit webhook delivery (many origins, few requests).
 */
export function createGuardedAgent(policy: WebhookTargetPolicy, options: { connectTimeoutMs?: number } = {}): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    connections: 4,
    connect: { timeout: options.connectTimeoutMs ?? 5_000, lookup: policy.lookup },
  });
}
