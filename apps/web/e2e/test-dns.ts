/**
 * The e2e stack's DNS: two dnsmasq servers (`startDnsServer` from @mailroom/core/testing) with the same records,
 * authoritative for the test zones; the API resolves through both (MAILROOM_DNS_SERVERS lists them).
 *
 * dnsmasq reads its records only at start, so publishing restarts it. The journeys run in two workers, and a query
 * sent to a restarting server fails: the pair is restarted one at a time, so the resolver (one try per server, then
 * the next) always finds one server up, with every other journey's records unchanged on both.
 *
 * Playwright workers are separate processes: global-setup owns the servers and serves a small loopback HTTP endpoint
 * (`MAILROOM_E2E_DNS_CONTROL`); a journey publishes its records with `publishDns` (helpers.ts), each under its own key.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { haveDnsmasq, startDnsServer, type TestDnsServer, type TestZone } from '@mailroom/core/testing';

/** Names under these zones are answered by the test servers (unknown names: NXDOMAIN); any other name is REFUSED. */
export const E2E_DNS_ZONES = ['example', 'test'];

export interface E2eDns {
  /** For MAILROOM_DNS_SERVERS. */
  servers: string;
  /** Base URL of the control endpoint: `PUT /records/<key>` with a TestZone as JSON replaces that key's records. */
  controlUrl: string;
  close(): Promise<void>;
}

export async function startE2eDns(): Promise<E2eDns> {
  if (!haveDnsmasq) throw new Error('the web journeys need dnsmasq (/usr/sbin/dnsmasq): apt-get install -y dnsmasq-base');
  const servers: TestDnsServer[] = [];
  const byKey = new Map<string, TestZone>();
  let chain: Promise<void> = Promise.resolve();

  const merged = (): TestZone => {
    const z: Required<TestZone> = { txt: [], mx: [], cname: [], srv: [], address: [] };
    for (const zone of byKey.values())
      for (const k of ['txt', 'mx', 'cname', 'srv', 'address'] as const) (z[k] as unknown[]).push(...(zone[k] ?? []));
    return z;
  };
  const publish = (key: string, zone: TestZone) => {
    const run = chain.then(async () => {
      byKey.set(key, zone);
      const all = merged();
      for (const s of servers) await s.setRecords(all); // one at a time: the other keeps answering
    });
    chain = run.catch(() => undefined);
    return run;
  };

  const control = http.createServer((req, res) => {
    const key = /^\/records\/([\w.-]{1,100})$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'PUT' || !key) return void res.writeHead(404).end();
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      let zone: TestZone;
      try {
        zone = JSON.parse(body) as TestZone;
      } catch {
        return void res.writeHead(400).end('invalid JSON');
      }
      publish(key, zone).then(
        () => res.writeHead(204).end(),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  });

  try {
    servers.push(await startDnsServer(E2E_DNS_ZONES), await startDnsServer(E2E_DNS_ZONES));
    control.listen(0, '127.0.0.1');
    await once(control, 'listening');
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return {
    servers: servers.map((s) => s.server).join(','),
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    async close() {
      control.close();
      await chain;
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
