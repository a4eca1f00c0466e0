import { isIP } from 'node:net';

/**
 * Prefix lengths that make one "client network" for limits and throttles. An IPv6 subscriber usually holds a whole
 * /64 (often a /56 or /48), so counting IPv6 per address lets one client look like billions.
 */
export interface NetworkPrefixes {
  /** 0–32 */
  ipv4: number;
  /** 0–128 */
  ipv6: number;
}

/** Octets of an IPv6 address (16), or undefined when `ip` is not one. Accepts `::`, an IPv4 tail and a zone id. */
function ipv6Octets(ip: string): number[] | undefined {
  let v = ip.split('%')[0]!;
  if (isIP(v) !== 6) return undefined;
  const lastColon = v.lastIndexOf(':');
  if (v.includes('.', lastColon)) {
    // a dotted IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two hex groups
    const [a, b, c, d] = v.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    v = `${v.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = v.split('::') as [string, string | undefined];
  const groups = (s: string) => (s ? s.split(':') : []).map((g) => parseInt(g, 16));
  const h = groups(head);
  const t = rest === undefined ? [] : groups(rest);
  const all = [...h, ...Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function masked(octets: number[], prefix: number): number[] {
  return octets.map((o, i) => {
    const bits = Math.min(8, Math.max(0, prefix - i * 8));
    return bits === 8 ? o : o & ((0xff << (8 - bits)) & 0xff);
  });
}

/**
 * The network `ip` belongs to under these prefixes, in a canonical spelling: `203.0.113.0/24`, `2001:db8:1:2::/64`
 * (the groups the prefix covers, then `::`), `2001:db8::1/128`-style full groups for /128. IPv4-mapped IPv6
 * (`::ffff:203.0.113.9`, as Node reports IPv4 peers on a dual-stack socket) counts as IPv4. Anything that is not an IP
 * address comes back unchanged, so it still keys something.
 *
 * The one home for "which client network is this": throttle keys, POP3 and SMTP per-network connection limits.
 */
export function ipNetwork(ip: string, prefixes: NetworkPrefixes): string {
  const v = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(v) === 4) {
    const prefix = clamp(prefixes.ipv4, 32);
    return `${masked(v.split('.').map(Number), prefix).join('.')}/${prefix}`;
  }
  const octets = ipv6Octets(v);
  if (!octets) return ip;
  if (octets.slice(0, 10).every((o) => o === 0) && octets[10] === 0xff && octets[11] === 0xff) {
    return ipNetwork(octets.slice(12).join('.'), prefixes);
  }
  const prefix = clamp(prefixes.ipv6, 128);
  const m = masked(octets, prefix);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((m[i]! << 8) | m[i + 1]!).toString(16));
  const shown = Math.ceil(prefix / 16);
  return shown === 8 ? `${groups.join(':')}/${prefix}` : `${groups.slice(0, shown).join(':')}::/${prefix}`;
}

function clamp(prefix: number, max: number): number {
  return Math.min(max, Math.max(0, Math.trunc(prefix)));
}
