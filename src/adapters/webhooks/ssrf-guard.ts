/**
 * Which webhook targets we send to (SSRF protection). Only http(s) URLs without
 * credentials, and only globally reachable addresses: every entry of the IANA IPv4 and
 * IPv6 Special-Purpose Address Registries that is not globally reachable is refused
 * (loopback, private, shared, link-local, documentation, benchmarking, IETF protocol
 * assignments, NAT64 local-use 64:ff9b:1::/48, Teredo and the rest of 2001::/23, the
 * deprecated 6to4 relay anycast 192.88.99.0/24, discard-only, …), and so are multicast,
 * reserved and IPv6 space outside global unicast 2000::/3, and cloud metadata addresses.
 * IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, translated, compatible, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) is judged by the IPv4 address it carries. `localhost` names: RFC 6761
 * §6.3, with any number of trailing dots. WEBHOOK_ALLOW_PRIVATE=true turns the address
 * rules off (loopback tests, in-cluster receivers); the scheme and credential rules stay.
 *
 * Why two checks: a subscriber chooses the URL, and a host name is only a promise about
 * an address. The URL is checked when the subscription is created (the literal host, and
 * what it resolves to then, for a clear 422), and again on every connection: the guarded
 * Agent resolves the name itself and drops blocked addresses before connecting, so a
 * name that later resolves elsewhere (DNS rebinding) still cannot reach private space.
 * IP literals skip DNS, so the dispatcher checks the literal before each attempt too.
 * Redirects are never followed (undici's request() does not), so a 3xx cannot bounce a
 * delivery into private space either.
 *
 * What a refusal says: only that the target is not allowed (and that
 * WEBHOOK_ALLOW_PRIVATE=true allows such addresses), never what a name resolved to or
 * which class of address it is: the subscriber must not learn the inside of the network
 * through it (a DNS oracle). The class and the address are for the operator's log
 * (`checkTarget().detail`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import type { TargetRefusal, WebhookTargetCheck } from '../../core/ports.js';

interface Rule {
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly what: string;
}

const rule = (cidr: string, what: string): Rule => {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { bytes: parseIp(address) as Uint8Array, prefix: Number(prefix), what };
};

// IANA IPv4 Special-Purpose Address Registry: the entries that are not globally
// reachable, plus multicast (its own registry) and 240/4 with the limited broadcast.
// Most specific first: the first match names the class (for the log).
const V4_RULES: readonly Rule[] = [
  rule('169.254.169.254/32', 'a cloud metadata address'),
  rule('0.0.0.0/8', 'an unspecified ("this network") address'),
  rule('10.0.0.0/8', 'a private address'),
  rule('100.64.0.0/10', 'a shared (CGNAT) address'),
  rule('127.0.0.0/8', 'a loopback address'),
  rule('169.254.0.0/16', 'a link-local address'),
  rule('172.16.0.0/12', 'a private address'),
  rule('192.0.0.0/24', 'an IETF protocol assignment address'),
  rule('192.0.2.0/24', 'a documentation address'),
  rule('192.88.99.0/24', 'a deprecated 6to4 relay anycast address'),
  rule('192.168.0.0/16', 'a private address'),
  rule('198.18.0.0/15', 'a benchmarking address'),
  rule('198.51.100.0/24', 'a documentation address'),
  rule('203.0.113.0/24', 'a documentation address'),
  rule('224.0.0.0/4', 'a multicast address'),
  rule('240.0.0.0/4', 'a reserved or broadcast address'),
];

/** Entries inside a refused block that the registry marks globally reachable. */
const V4_GLOBAL: readonly Rule[] = [rule('192.0.0.9/32', 'PCP anycast'), rule('192.0.0.10/32', 'TURN anycast')];

// IANA IPv6 Special-Purpose Address Registry: the entries that are not globally
// reachable (Teredo 2001::/32 and ORCHID lie inside 2001::/23), plus multicast,
// site-local and everything outside global unicast 2000::/3 (reserved by the IETF).
// ::/128 and ::1/128 are looked at first, then the IPv4-carrying prefixes (below).
const V6_EXACT: readonly Rule[] = [rule('::/128', 'an unspecified address'), rule('::1/128', 'a loopback address')];
const V6_RULES: readonly Rule[] = [
  rule('fd00:ec2::254/128', 'a cloud metadata address'),
  rule('64:ff9b:1::/48', 'a local-use NAT64 address'),
  rule('100::/64', 'a discard-only address'),
  rule('2001::/32', 'a Teredo address'),
  rule('2001::/23', 'an IETF protocol assignment address'),
  rule('2001:db8::/32', 'a documentation address'),
  rule('3fff::/20', 'a documentation address'),
  rule('5f00::/16', 'a segment routing (SRv6) address'),
  rule('fc00::/7', 'a unique local (private) address'),
  rule('fe80::/10', 'a link-local address'),
  rule('fec0::/10', 'a site-local address'),
  rule('ff00::/8', 'a multicast address'),
];

/** Entries inside 2001::/23 that the registry marks globally reachable. */
const V6_GLOBAL: readonly Rule[] = [
  rule('2001:1::1/128', 'PCP anycast'),
  rule('2001:1::2/128', 'TURN anycast'),
  rule('2001:1::3/128', 'DNS-SD SRP anycast'),
  rule('2001:3::/32', 'AMT'),
  rule('2001:4:112::/48', 'AS112-v6'),
  rule('2001:20::/28', 'ORCHIDv2'),
  rule('2001:30::/28', 'Drone Remote ID'),
];

const GLOBAL_UNICAST = rule('2000::/3', 'global unicast');

/** IPv6 prefixes that carry an IPv4 address, and where its 4 bytes sit. */
const V4_IN_V6: readonly (Rule & { readonly at: number })[] = [
  { ...rule('::ffff:0:0/96', 'IPv4-mapped'), at: 12 },
  { ...rule('::ffff:0:0:0/96', 'IPv4-translated'), at: 12 },
  { ...rule('64:ff9b::/96', 'NAT64'), at: 12 },
  { ...rule('::/96', 'IPv4-compatible'), at: 12 },
  { ...rule('2002::/16', '6to4'), at: 2 },
];

const BLOCKED_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** What every refusal of an address or a name says, whatever the address. */
export const NOT_ALLOWED = 'its host is not an allowed target (WEBHOOK_ALLOW_PRIVATE=true allows loopback, private and other special-purpose addresses)';

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

/** Why `address` may not be a webhook target (its class, for the log), or null when it may. */
export function refuseAddress(address: string): string | null {
  const bytes = parseIp(address);
  if (!bytes) return null;
  if (bytes.length === 4) return refuseV4(bytes);
  const exact = V6_EXACT.find((r) => matches(bytes, r));
  if (exact) return exact.what;
  const carrier = V4_IN_V6.find((r) => matches(bytes, r));
  if (carrier) {
    const v4 = bytes.subarray(carrier.at, carrier.at + 4);
    const inner = refuseV4(v4);
    return inner ? `${inner} (${carrier.what} ${v4.join('.')})` : null;
  }
  if (V6_GLOBAL.some((r) => matches(bytes, r))) return null;
  const v6 = V6_RULES.find((r) => matches(bytes, r));
  if (v6) return v6.what;
  return matches(bytes, GLOBAL_UNICAST) ? null : 'a reserved address (outside global unicast 2000::/3)';
}

function refuseV4(bytes: Uint8Array): string | null {
  if (V4_GLOBAL.some((r) => matches(bytes, r))) return null;
  return V4_RULES.find((r) => matches(bytes, r))?.what ?? null;
}

/** Thrown from the connection-time lookup when every address of a name is refused. The message names no address. */
export class BlockedTargetError extends Error {
  readonly code = 'ERR_WEBHOOK_TARGET_BLOCKED';
  constructor(
    message: string,
    /** What the name resolved to and why that is refused: for the operator's log only. */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'BlockedTargetError';
  }
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

export type Resolve = (hostname: string, family?: number) => Promise<ResolvedAddress[]>;

/** The SSRF rules of webhook targets: the URL, what its host resolves to, and every connection. */
export interface WebhookTargetPolicy extends WebhookTargetCheck {
  readonly allowPrivate: boolean;
  /** Why `url` may not be a webhook target judging by the URL alone (scheme, credentials, host name, IP literal), or null. Safe to show. */
  refuseUrl(url: string): string | null;
  /** refuseUrl, then what the host name resolves to now. A name that does not resolve is not refused here: delivery retries it. */
  checkTarget(url: string): Promise<TargetRefusal | null>;
  /** checkTarget's `reason` alone. */
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
  const checkUrl = (text: string): TargetRefusal | null => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return same('it is not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return same('only http:// and https:// URLs are accepted');
    if (url.username !== '' || url.password !== '') return same('it must not carry credentials');
    if (allowPrivate) return null;
    const host = url.hostname.replace(/\.+$/, '').toLowerCase();
    if (BLOCKED_NAMES.has(host) || host.endsWith('.localhost')) return { reason: NOT_ALLOWED, detail: `${host} names this machine or a metadata service` };
    const what = refuseAddress(host);
    return what ? { reason: NOT_ALLOWED, detail: `${host} is ${what}` } : null;
  };

  const lookup = ((hostname: string, options: { family?: number | string; all?: boolean }, callback: (...args: unknown[]) => void) => {
    const family = options.family === 'IPv6' || options.family === 6 ? 6 : options.family === 'IPv4' || options.family === 4 ? 4 : 0;
    resolve(hostname, family).then(
      (addresses) => {
        const allowed = allowPrivate ? addresses : addresses.filter(({ address }) => refuseAddress(address) === null);
        const first = allowed[0];
        if (!first) {
          const detail = refusedAddresses(hostname, addresses)[0] ?? `${hostname} did not resolve to any address`;
          callback(new BlockedTargetError(`${hostname} is not an allowed target`, detail));
          return;
        }
        if (options.all) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error),
    );
  }) as unknown as LookupFunction;

  const checkTarget = async (text: string): Promise<TargetRefusal | null> => {
    const refused = checkUrl(text);
    if (refused || allowPrivate) return refused;
    const host = new URL(text).hostname;
    if (parseIp(host)) return null;
    let addresses: ResolvedAddress[];
    try {
      addresses = await resolve(host);
    } catch {
      return null;
    }
    const detail = refusedAddresses(host, addresses)[0];
    return detail === undefined ? null : { reason: NOT_ALLOWED, detail };
  };

  return {
    allowPrivate,
    refuseUrl: (text) => checkUrl(text)?.reason ?? null,
    checkTarget,
    refuseTarget: async (text) => (await checkTarget(text))?.reason ?? null,
    lookup,
  };
}

function same(reason: string): TargetRefusal {
  return { reason, detail: reason };
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
