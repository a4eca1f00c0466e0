import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { AppError } from './errors.ts';
import { ipv6Groups } from './network.ts';

/** IPv4 ranges a webhook may not reach: [first octets as a number, prefix bits, why]. */
const BLOCKED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

function blockedV4(ip: string): string | null {
  const n = v4ToInt(ip);
  for (const [base, bits, why] of BLOCKED_V4) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === v4ToInt(base)) return why;
  }
  return null;
}

/**
 * Why a webhook may not connect to `ip` (loopback, private, link-local incl. metadata, CGNAT, unspecified, multicast,
 * ULA, IPv4-mapped/compatible/NAT64 IPv6), or null when it is a public address. Not an IP address at all: refused too.
 */
export function blockedAddressReason(ip: string): string | null {
  const v = ip.trim();
  if (isIP(v) === 4) return blockedV4(v);
  const g = ipv6Groups(v);
  if (!g) return 'not an IP address';
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::/96 (NAT64): an IPv4 address in disguise
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return 'IPv4-mapped IPv6';
  if (g[0] === 0x64 && g[1] === 0xff9b) return 'NAT64';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'unique local (private)';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  return null;
}

export interface WebhookTargetOptions {
  /** WEBHOOK_ALLOW_PRIVATE: the operator allows internal addresses (receivers on the same network, tests). */
  allowPrivate: boolean;
  /** Resolver (default: the system's, as the HTTP client uses). */
  lookup?: (host: string) => Promise<string[]>;
}

function forbidden(reason: string): AppError {
  return new AppError('WEBHOOK_URL_FORBIDDEN', `Webhook URLs may not point to ${reason} addresses`, {
    details: { reason },
    fields: [{ path: 'body.url', message: `resolves to a ${reason} address`, code: 'forbidden_address' }],
  });
}

async function systemLookup(host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs.map((a) => a.address))));
  });
}

/** URL host without the brackets of an IPv6 literal. */
export function urlHostname(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a webhook URL when it is registered: http(s) only, no credentials in it, and its host (an IP literal, or every
 * address the name resolves to) not internal unless allowed. The worker checks again at connection time
 * ({@link guardedLookup}), so a name that later resolves elsewhere (DNS rebinding) is refused then.
 */
export async function assertWebhookUrl(raw: string, opts: WebhookTargetOptions): Promise<URL> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'Invalid webhook URL', {
      fields: [{ path: 'body.url', message: 'is not a URL', code: 'invalid_url' }],
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new AppError('VALIDATION_FAILED', 'Webhook URLs must use http or https', {
      fields: [{ path: 'body.url', message: 'must be http or https', code: 'invalid_scheme' }],
    });
  }
  if (u.username || u.password) {
    throw new AppError('VALIDATION_FAILED', 'Webhook URLs may not carry credentials', {
      fields: [{ path: 'body.url', message: 'must not contain user:password@', code: 'credentials_in_url' }],
    });
  }
  if (opts.allowPrivate) return u;
  const host = urlHostname(u);
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = await (opts.lookup ?? systemLookup)(host);
    } catch {
      throw new AppError('VALIDATION_FAILED', 'The webhook host name does not resolve', {
        fields: [{ path: 'body.url', message: 'host name does not resolve', code: 'unresolvable' }],
      });
    }
  }
  for (const a of addrs) {
    const why = blockedAddressReason(a);
    if (why) throw forbidden(why);
  }
  return u;
}

/**
 * A `lookup` for http.Agent / http.request: resolves once and hands the socket exactly the addresses it checked, so the
 * connection goes to a checked address even if the name resolves differently a moment later (DNS rebinding). A name
 * with any internal address is refused whole (error code WEBHOOK_URL_FORBIDDEN on the socket error).
 */
export function guardedLookup(opts: WebhookTargetOptions): LookupFunction {
  return (hostname, options, callback) => {
    const resolve = opts.lookup ?? systemLookup;
    resolve(hostname).then(
      (addrs) => {
        const family = (a: string) => (isIP(a) === 6 ? 6 : 4);
        let list: LookupAddress[] = addrs.map((address) => ({ address, family: family(address) }));
        if (options.family === 4 || options.family === 6) list = list.filter((a) => a.family === options.family);
        const bad = opts.allowPrivate ? undefined : list.find((a) => blockedAddressReason(a.address));
        if (bad || !list.length) {
          const err = Object.assign(
            new Error(bad ? `refused ${blockedAddressReason(bad.address)} address ${bad.address}` : `no address for ${hostname}`),
            {
              code: bad ? 'WEBHOOK_URL_FORBIDDEN' : 'ENOTFOUND',
            },
          );
          callback(err, '', 0);
          return;
        }
        if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
