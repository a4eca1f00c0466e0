import { isIP } from 'node:net';

export interface NetworkKeyOptions {
  /** Leading bits of an IPv4 address that name its network (0–32); default 32 (the address itself). */
  ipv4Prefix?: number;
  /** Leading bits of an IPv6 address that name its network (0–128); default 64 (one subscriber usually holds a /64). */
  ipv6Prefix?: number;
}

/** Parses an IPv6 address (compressed, zone id, embedded IPv4 tail) into 8 groups; undefined when it is not one. */
export function ipv6Groups(ip: string): number[] | undefined {
  let v = ip.split('%')[0]!;
  if (isIP(v) !== 6) return undefined;
  const lastColon = v.lastIndexOf(':');
  const tail = v.slice(lastColon + 1);
  if (isIP(tail) === 4) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    v = `${v.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = v.split('::');
  const h = head ? head.split(':') : [];
  const t = rest ? rest.split(':') : [];
  const missing = 8 - h.length - t.length;
  return [...h, ...Array<string>(Math.max(0, missing)).fill('0'), ...t].map((g) => parseInt(g || '0', 16));
}

function maskBits(values: number[], bitsPer: number, prefix: number): number[] {
  return values.map((v, i) => {
    const keep = Math.max(0, Math.min(bitsPer, prefix - i * bitsPer));
    if (keep === bitsPer) return v;
    if (keep === 0) return 0;
    return v & (((1 << keep) - 1) << (bitsPer - keep));
  });
}

function clampPrefix(p: number | undefined, fallback: number, max: number): number {
  if (p === undefined || !Number.isFinite(p)) return fallback;
  return Math.max(0, Math.min(max, Math.trunc(p)));
}

/**
 * The network an address belongs to, as a stable text key: `203.0.113.0/24`, `2001:db8:1:2::/64`. IPv4-mapped IPv6
 * addresses (`::ffff:203.0.113.9`) count as their IPv4 address, zone ids (`fe80::1%eth0`) are ignored, and every
 * spelling of one IPv6 address gives the same key. Anything that is not an IP address is returned as it is.
 * This is the one place per-network limits (connections, throttling) derive their keys from.
 */
export function networkKey(ip: string, opts: NetworkKeyOptions = {}): string {
  const v4Prefix = clampPrefix(opts.ipv4Prefix, 32, 32);
  const v6Prefix = clampPrefix(opts.ipv6Prefix, 64, 128);
  const trimmed = ip.trim();
  let v4 = isIP(trimmed) === 4 ? trimmed : undefined;
  const groups = v4 ? undefined : ipv6Groups(trimmed);
  if (groups && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    v4 = [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  if (v4) return `${maskBits(v4.split('.').map(Number), 8, v4Prefix).join('.')}/${v4Prefix}`;
  if (!groups) return trimmed;
  const masked = maskBits(groups, 16, v6Prefix);
  // shortest form: the longest run of zero groups (two or more) becomes "::"
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (masked[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && masked[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = masked.map((g) => g.toString(16));
  const text = best.at < 0 ? hex.join(':') : `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
  return `${text}/${v6Prefix}`;
}
