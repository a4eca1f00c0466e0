/**
 * Which proxies may tell us the client's address and scheme (X-Forwarded-For / X-Forwarded-Proto), and what the client's
 * address therefore is. Shared by the API (which trusts the panel's proxy) and the panel's server (which may trust a
 * front TLS proxy). Node-only (node:net), no other dependencies: the panel's server imports it as
 * `@mailroom/core/forwarded`.
 */
import { BlockList, isIP } from 'node:net';

/** Request headers through which a client can claim an address, scheme or host; a proxy we run drops them all. */
export const CLIENT_ADDRESS_HEADERS = ['forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip'] as const;

/** True for every header a client could use to forge its address, scheme or host (the above and any `x-forwarded-*`). */
export function isForwardingHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith('x-forwarded-') || (CLIENT_ADDRESS_HEADERS as readonly string[]).includes(n);
}

/** An IP literal in canonical form (IPv4-mapped IPv6 as plain IPv4, no brackets), or undefined when it is not one. */
export function normalizeIp(raw: string | undefined | null): string | undefined {
  if (!raw) return undefined;
  let v = raw.trim();
  if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1);
  if (/^::ffff:/i.test(v) && isIP(v.slice(7)) === 4) v = v.slice(7);
  if (!isIP(v)) return undefined;
  return v.toLowerCase();
}

export interface TrustedProxies {
  /** The setting as given, for logs. */
  readonly spec: string;
  /** Whether `ip` (any spelling normalizeIp accepts) is one of the trusted proxies. */
  has(ip: string | undefined): boolean;
  /** True when nothing is trusted. */
  readonly none: boolean;
}

const NAMED: Record<string, [string, number, 'ipv4' | 'ipv6'][]> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  private: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/**
 * Parses a comma-separated list of IP addresses, CIDR ranges and the names `loopback` (127.0.0.0/8, ::1) and `private`
 * (10/8, 172.16/12, 192.168/16, fc00::/7); `none` or an empty value trusts nothing. There is deliberately no "trust
 * everyone": that would let any client forge its address. Throws an Error naming `variable` on a bad entry.
 */
export function parseTrustedProxies(spec: string, variable = 'trusted proxies'): TrustedProxies {
  const list = new BlockList();
  let count = 0;
  for (const entry of spec
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (entry === 'none') continue;
    const named = NAMED[entry];
    if (named) {
      for (const [net, prefix, type] of named) list.addSubnet(net, prefix, type);
      count++;
      continue;
    }
    const [addr, prefixText, extra] = entry.split('/');
    const ip = normalizeIp(addr);
    const type = ip && isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    const max = type === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!ip || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new Error(`${variable}: "${entry}" is not an IP address, a CIDR range, "loopback", "private" or "none"`);
    }
    list.addSubnet(ip, prefix, type);
    count++;
  }
  return {
    spec,
    none: count === 0,
    has(ip) {
      const v = normalizeIp(ip);
      return v !== undefined && count > 0 && list.check(v, isIP(v) === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function lastValues(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(',') : header).split(',').map((s) => s.trim());
}

export interface ForwardedClient {
  /** The client's address: always a valid IP literal. */
  ip: string;
  /** The scheme the client used: `https` or `http`. */
  proto: 'https' | 'http';
  /** Whether the direct peer is a trusted proxy (its forwarding headers were read). */
  viaTrustedProxy: boolean;
}

/**
 * Resolves the client behind `peer` (the socket's remote address). An untrusted peer is the client, whatever its headers
 * say. A trusted peer's X-Forwarded-For is walked from the right (each proxy appends the address it saw) while the hops
 * are trusted proxies; the first untrusted hop is the client. An entry that is not an IP address ends the walk at the
 * last trusted hop, so a header value like "foo" never becomes the client's address. X-Forwarded-Proto is read from a
 * trusted peer only (its last value, `http` or `https`); otherwise the connection's own scheme counts.
 */
export function resolveClient(
  peer: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  trusted: TrustedProxies,
  encrypted = false,
): ForwardedClient {
  const own: 'https' | 'http' = encrypted ? 'https' : 'http';
  let ip = normalizeIp(peer) ?? '0.0.0.0';
  if (!trusted.has(ip)) return { ip, proto: own, viaTrustedProxy: false };
  const hops = lastValues(headers['x-forwarded-for']);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    if (!hop) break;
    ip = hop;
    if (!trusted.has(hop)) break;
  }
  const proto = lastValues(headers['x-forwarded-proto']).pop()?.toLowerCase();
  return { ip, proto: proto === 'https' || proto === 'http' ? proto : own, viaTrustedProxy: true };
}

/** The parts of a Node request (IncomingMessage, or a test double) that replaceForwardingHeaders reads and rewrites. */
export interface ForwardableRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string | undefined; encrypted?: boolean } | null;
}

/**
 * Resolves the client of `req` (resolveClient) and replaces, in place, every forwarding header the client sent
 * (isForwardingHeader: any `x-forwarded-*`, Forwarded, X-Real-IP …) by exactly one X-Forwarded-For (the client's
 * address) and one X-Forwarded-Proto (its scheme). Whatever reads the request afterwards (Fastify's req.ip, Next.js, the
 * panel's API proxy) sees only that conclusion.
 */
export function replaceForwardingHeaders(req: ForwardableRequest, trusted: TrustedProxies): ForwardedClient {
  const client = resolveClient(req.socket?.remoteAddress, req.headers, trusted, req.socket?.encrypted === true);
  for (const name of Object.keys(req.headers)) if (isForwardingHeader(name)) delete req.headers[name];
  req.headers['x-forwarded-for'] = client.ip;
  req.headers['x-forwarded-proto'] = client.proto;
  return client;
}
