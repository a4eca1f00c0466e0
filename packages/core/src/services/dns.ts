import { Resolver } from 'node:dns/promises';
import { AppError } from '../errors.ts';

/** What the DNS resolver needs: servers as runtime's parseDnsServers returns them (empty = the system's) and a timeout. */
export interface DnsConfig {
  servers: string[];
  timeoutMs: number;
}

export interface MxRecord {
  exchange: string;
  priority: number;
}
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * DNS lookups the domain services make. A name without records of the type (NXDOMAIN, NODATA) gives an empty list;
 * an unreachable or failing resolver throws AppError DNS_UNAVAILABLE.
 */
export interface DnsLookup {
  txt(name: string): Promise<string[]>;
  mx(name: string): Promise<MxRecord[]>;
  cname(name: string): Promise<string[]>;
  srv(name: string): Promise<SrvRecord[]>;
}

/** Answers that mean "no such record": the name or the type does not exist. Every other failure is the resolver's. */
const NO_RECORD_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/** Whether a node:dns error says the name or the record type does not exist (rather than that the lookup failed). */
export function isNoRecord(err: unknown): boolean {
  return NO_RECORD_CODES.has(dnsErrorCode(err));
}

/** The node:dns error code of a failed lookup (`ETIMEOUT`, `ENOTFOUND`, …), or `error` when it has none. */
export function dnsErrorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** A node:dns Resolver with the configured servers (none: the system's) and timeout, one try per server. */
export function createResolver(config: DnsConfig): Resolver {
  const resolver = new Resolver({ timeout: config.timeoutMs, tries: 1 });
  if (config.servers.length) resolver.setServers(config.servers);
  return resolver;
}

function unavailable(name: string, err: unknown): AppError {
  const reason = dnsErrorCode(err);
  return new AppError('DNS_UNAVAILABLE', `The DNS resolver could not answer for ${name} (${reason}); try again later`, {
    details: { name, resolverError: reason },
    cause: err,
  });
}

/** DNS lookups over node:dns/promises with the configured servers and timeout (one try per server). */
export function createDnsLookup(config: DnsConfig): DnsLookup {
  const resolver = createResolver(config);
  const ask = async <T>(name: string, query: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await query();
    } catch (err) {
      if (isNoRecord(err)) return [];
      throw unavailable(name, err);
    }
  };
  return {
    txt: (name) => ask(name, async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''))),
    mx: (name) => ask(name, () => resolver.resolveMx(name)),
    cname: (name) => ask(name, () => resolver.resolveCname(name)),
    srv: (name) => ask(name, () => resolver.resolveSrv(name)),
  };
}

/** Host names compare case-insensitively and without the root dot. */
export function sameHost(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/** Whether `name` is one of `hosts` (an MX answer against the MX hosts of MAILROOM_MX_HOST, say). */
export function amongHosts(hosts: readonly { host: string }[], name: string): boolean {
  return hosts.some((h) => sameHost(h.host, name));
}

/** The hosts for a message: "a", "a or b", "a, b or c". */
export function hostList(hosts: readonly { host: string }[]): string {
  const names = hosts.map((h) => h.host);
  return names.length < 2 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}
