// A real DNS server for tests: Debian's dnsmasq on a loopback port, authoritative for the test zones (anything else is
// REFUSED), so the project's resolver code runs unmodified against the real wire protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@mailroom/db/testing';

export const DNSMASQ = '/usr/sbin/dnsmasq';
export const haveDnsmasq = existsSync(DNSMASQ);

export interface TestZone {
  txt?: [name: string, value: string][];
  mx?: [name: string, host: string, preference: number][];
  cname?: [alias: string, target: string][];
  srv?: [name: string, target: string, port: number, priority: number, weight: number][];
  /** A and AAAA records (dnsmasq host-record). */
  address?: [name: string, ip: string][];
}

export interface TestDnsServer {
  /** For MAILROOM_DNS_SERVERS / DnsConfig.servers: `127.0.0.1:<port>`. */
  server: string;
  /** Replaces every record (dnsmasq reads its configuration only at start, so it is restarted on the same port). */
  setRecords(zone: TestZone): Promise<void>;
  close(): Promise<void>;
}

const quote = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

function config(port: number, zones: string[], z: TestZone): string {
  return [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    ...zones.map((zone) => `local=/${zone}/`),
    ...zones.map((zone) => `txt-record=ready.${zone},"ready"`),
    ...(z.txt ?? []).map(([n, v]) => `txt-record=${n},${quote(v)}`),
    ...(z.mx ?? []).map(([n, h, p]) => `mx-host=${n},${h},${p}`),
    ...(z.cname ?? []).map(([a, t]) => `cname=${a},${t}`),
    ...(z.srv ?? []).map(([n, t, port, prio, w]) => `srv-host=${n},${t},${port},${prio},${w}`),
    ...(z.address ?? []).map(([n, ip]) => `host-record=${n},${ip}`),
    '',
  ].join('\n');
}

/** Starts dnsmasq answering for `zones` (e.g. `['dns.test']`) on a free loopback port. */
export async function startDnsServer(zones: string[], zone: TestZone = {}): Promise<TestDnsServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-dns-'));
  const file = path.join(dir, 'dnsmasq.conf');
  const port = await findFreePort();
  let child: ChildProcess | undefined;

  const start = async (z: TestZone) => {
    await writeFile(file, config(port, zones, z));
    const args = ['--keep-in-foreground', '--no-daemon', `--conf-file=${file}`, '--pid-file', '--user=root'];
    const proc = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    child = proc;
    const probe = new Resolver({ timeout: 200, tries: 1 });
    probe.setServers([`127.0.0.1:${port}`]);
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
      try {
        await probe.resolveTxt(`ready.${zones[0]}`);
        return;
      } catch {
        if (i > 100) throw new Error(`dnsmasq did not answer on port ${port}: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };

  await start(zone);
  return {
    server: `127.0.0.1:${port}`,
    async setRecords(z) {
      await stop();
      await start(z);
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
