/**
 * HAProxy's PROXY protocol (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt), versions 1 (text) and 2
 * (binary), as received from a load balancer in front of POP3 and SMTP: the first octets of a connection name the real
 * client. Only connections from configured load balancers are read this way (`trustedSourcesEnvSchema`); from anyone
 * else the same octets are just a bad command, so no client can forge its address.
 */
import { isIP, type Socket } from 'node:net';
import { z } from 'zod';
import { normalizeIp, parseTrustedProxies, type TrustedProxies } from './forwarded.ts';

/** v1 allows 107 octets; a v2 header is 16 octets plus its address block and TLVs (HAProxy's SSL TLVs stay far below). */
export const MAX_PROXY_HEADER_OCTETS = 1024;
/** How long a trusted load balancer may take to send the header (its first packet, in practice). */
export const PROXY_HEADER_TIMEOUT_MS = 5000;

const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX_OCTETS = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const PORT = /^(0|[1-9]\d{0,4})$/;

export type ProxyHeader =
  /** The load balancer relays a client: its address and port. */
  | { version: 1 | 2; command: 'PROXY'; sourceAddress: string; sourcePort: number }
  /**
   * No client address: v2 LOCAL (the balancer's own health check), v1 UNKNOWN or v2 UNSPEC. The connection's own peer
   * address stands, as the specification says.
   */
  | { version: 1 | 2; command: 'LOCAL' };

export class ProxyHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** True while `buf` is a prefix of `of` or starts with it. */
function agrees(buf: Buffer, of: Buffer): boolean {
  const n = Math.min(buf.length, of.length);
  return buf.subarray(0, n).equals(of.subarray(0, n));
}

/** One spelling per address: IPv6 in its RFC 5952 form (the WHATWG URL parser prints it), IPv4-mapped as IPv4. */
function canonicalIp(ip: string): string {
  const v = isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname : ip;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(v);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return normalizeIp(v)!;
}

function parsePort(text: string | undefined): number {
  if (!text || !PORT.test(text) || Number(text) > 65535) throw new ProxyHeaderError('bad port in PROXY header');
  return Number(text);
}

function parseV1(line: string): ProxyHeader {
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { version: 1, command: 'LOCAL' };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new ProxyHeaderError('malformed PROXY v1 header');
  const family = parts[1] === 'TCP4' ? 4 : 6;
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (isIP(src) !== family || isIP(dst) !== family) throw new ProxyHeaderError('bad address in PROXY v1 header');
  parsePort(dport);
  return { version: 1, command: 'PROXY', sourceAddress: canonicalIp(src), sourcePort: parsePort(sport) };
}

function ipv6At(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + 2 * i).toString(16));
  return canonicalIp(groups.join(':'));
}

function parseV2(buf: Buffer, length: number): ProxyHeader {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError('unsupported PROXY v2 version');
  const command = verCmd & 0x0f;
  if (command === 0x0) return { version: 2, command: 'LOCAL' };
  if (command !== 0x1) throw new ProxyHeaderError('unknown PROXY v2 command');
  const famProto = buf[13]!;
  const body = length - 16;
  if (famProto === 0x00) return { version: 2, command: 'LOCAL' };
  if (famProto === 0x11 && body >= 12) {
    const src = [buf[16], buf[17], buf[18], buf[19]].join('.');
    return { version: 2, command: 'PROXY', sourceAddress: src, sourcePort: buf.readUInt16BE(24) };
  }
  if (famProto === 0x21 && body >= 36)
    return { version: 2, command: 'PROXY', sourceAddress: ipv6At(buf, 16), sourcePort: buf.readUInt16BE(48) };
  throw new ProxyHeaderError('unsupported PROXY v2 address family or short address block');
}

/**
 * Parses a PROXY header at the start of `buf`: the header and how many octets it took, `undefined` while more octets
 * are needed, or a ProxyHeaderError as soon as the octets cannot become a valid header (garbage fails at once).
 */
export function parseProxyHeader(buf: Buffer, maxOctets = MAX_PROXY_HEADER_OCTETS): { header: ProxyHeader; octets: number } | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] === V1_PREFIX[0]) {
    if (!agrees(buf, V1_PREFIX)) throw new ProxyHeaderError('not a PROXY header');
    const lf = buf.indexOf(0x0a);
    const limit = Math.min(V1_MAX_OCTETS, maxOctets);
    if (lf < 0) {
      if (buf.length >= limit) throw new ProxyHeaderError('PROXY v1 header too long');
      return undefined;
    }
    if (lf + 1 > limit || buf[lf - 1] !== 0x0d) throw new ProxyHeaderError('PROXY v1 header too long or not ended by CRLF');
    return { header: parseV1(buf.toString('latin1', 0, lf - 1)), octets: lf + 1 };
  }
  if (!agrees(buf, V2_SIGNATURE)) throw new ProxyHeaderError('not a PROXY header');
  if (buf.length < 16) return undefined;
  const octets = 16 + buf.readUInt16BE(14);
  if (octets > maxOctets) throw new ProxyHeaderError('PROXY v2 header too long');
  if (buf.length < octets) return undefined;
  return { header: parseV2(buf, octets), octets };
}

/**
 * Reads the PROXY header a trusted load balancer sends first, at most `maxOctets` and within `timeoutMs`; octets after
 * it are put back into the socket (`unshift`), so the protocol (or the TLS handshake) reads them next. The socket is
 * left paused. Rejects with ProxyHeaderError on a malformed, oversized or late header or a connection closed early;
 * the caller then closes the connection.
 */
export function readProxyHeader(socket: Socket, opts: { timeoutMs?: number; maxOctets?: number } = {}): Promise<ProxyHeader> {
  const maxOctets = opts.maxOctets ?? MAX_PROXY_HEADER_OCTETS;
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, header?: ProxyHeader) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let parsed;
      try {
        parsed = parseProxyHeader(buf, maxOctets);
      } catch (err) {
        return finish(err as Error);
      }
      if (!parsed) return;
      finish(null, parsed.header);
      // after finish(): the socket is paused and no longer ours, so the rest waits in its buffer for the protocol
      if (parsed.octets < buf.length) socket.unshift(buf.subarray(parsed.octets));
    };
    const onEnd = () => finish(new ProxyHeaderError('connection closed before its PROXY header'));
    const timer = setTimeout(() => finish(new ProxyHeaderError('no PROXY header in time')), opts.timeoutMs ?? PROXY_HEADER_TIMEOUT_MS);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    socket.resume();
  });
}

/**
 * An env variable listing the load balancers that send PROXY headers: comma-separated IP addresses and CIDR ranges (and
 * core's names `loopback`, `private`); empty or `none` = the PROXY protocol is off. Parsed into TrustedProxies.
 */
export const trustedSourcesEnvSchema = z
  .string()
  .trim()
  .default('')
  .transform((v, ctx): TrustedProxies => {
    try {
      return parseTrustedProxies(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'comma-separated IP addresses or CIDR ranges ("loopback", "private"); empty = off' });
      return z.NEVER;
    }
  });
