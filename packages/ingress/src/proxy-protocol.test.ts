// PROXY protocol (v1/v2) on the SMTP listener from trusted load balancers (INGRESS_PROXY_TRUSTED): the client address it
// names is the session's address for per-address limits, the Received field and the delivery log; from anyone else the
// header is an unknown command. Real sockets: the test runs a real balancer on 127.0.0.1 and clients on 127.0.0.x.
import net from 'node:net';
import { parseTrustedProxies } from '@mailroom/core';
import { startProxyBalancer } from '@mailroom/core/testing';
import { uniqueName } from '@mailroom/db/testing';
import { describe, expect, it } from 'vitest';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { startIngress, useIngressWithFixture, type RunningIngress } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const prisma = testPrisma(10);
let f: Fixture;
let ing: RunningIngress;
useIngressWithFixture(prisma, (started) => ({ f } = started));

const trusted = { proxyTrusted: parseTrustedProxies('127.0.0.1'), proxyHeaderTimeoutMs: 400 };

async function send(c: WireClient, to: string, subject: string): Promise<number> {
  expect((await c.command('EHLO client.test')).code).toBe(250);
  expect((await c.command('MAIL FROM:<alice@sender.example>')).code).toBe(250);
  expect((await c.command(`RCPT TO:<${to}>`)).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  c.sendData(Buffer.from(`Subject: ${subject}\r\n\r\nhi\r\n`));
  return (await c.read()).code;
}

describe('PROXY protocol on SMTP', () => {
  it('v1 and v2 through a real balancer: the Received field and the delivery log name the client, not the balancer', async () => {
    ing = await startIngress(prisma, trusted);
    try {
      for (const version of [1, 2] as const) {
        const lb = await startProxyBalancer(ing.ports.smtp, { version });
        try {
          const box = await f.mailbox(uniqueName('pp'));
          const c = await WireClient.connect(lb.port, '127.0.0.1', `127.0.0.${10 + version}`);
          expect(await send(c, box.address, `v${version}`)).toBe(250);
          await c.command('QUIT');
          const [msg] = (await mailboxState(prisma, box.id)).messages;
          expect(Buffer.from(msg!.raw).toString('latin1')).toContain(`Received: from client.test ([127.0.0.${10 + version}])`);
          const log = await prisma.deliveryLogEntry.findFirstOrThrow({ where: { recipient: box.address } });
          expect(log.clientAddress).toBe(`127.0.0.${10 + version}`);
        } finally {
          await lb.close();
        }
      }
    } finally {
      await ing.close();
    }
  });

  it('per-address limits key on the PROXY address: two clients through one balancer are counted separately', async () => {
    ing = await startIngress(prisma, { ...trusted, maxConnectionsPerIp: 1 });
    const lb = await startProxyBalancer(ing.ports.smtp, { version: 2 });
    try {
      const a1 = await WireClient.connect(lb.port, '127.0.0.1', '127.0.0.21');
      expect(a1.greeting.code).toBe(220);
      const a2 = await WireClient.connect(lb.port, '127.0.0.1', '127.0.0.21');
      expect(a2.greeting.code).toBe(421);
      const b1 = await WireClient.connect(lb.port, '127.0.0.1', '127.0.0.22');
      expect(b1.greeting.code).toBe(220);
      await a1.command('QUIT');
      await b1.command('QUIT');
    } finally {
      await lb.close();
      await ing.close();
    }
  });
});

describe('PROXY protocol abuse on SMTP', () => {
  it('an untrusted client cannot forge its address: its PROXY line is an unknown command', async () => {
    ing = await startIngress(prisma, trusted);
    try {
      const box = await f.mailbox(uniqueName('forge'));
      const c = await WireClient.connect(ing.ports.smtp, '127.0.0.1', '127.0.0.30');
      expect((await c.command('PROXY TCP4 198.51.100.1 127.0.0.1 1000 25')).code).toBe(500);
      expect(await send(c, box.address, 'forged')).toBe(250);
      const [msg] = (await mailboxState(prisma, box.id)).messages;
      const raw = Buffer.from(msg!.raw).toString('latin1');
      expect(raw).toContain('Received: from client.test ([127.0.0.30])');
      expect(raw).not.toContain('198.51.100.1');
    } finally {
      await ing.close();
    }
  });

  it('from a trusted source the header is required: none, garbage, oversized or a stalled header is closed without a banner', async () => {
    ing = await startIngress(prisma, trusted);
    try {
      const cases = [
        'EHLO x\r\n',
        `PROXY TCP4 ${'9'.repeat(200)}\r\n`,
        'PROXY TCP4 10.0.0.1 10.0.0.2 1 99999\r\n',
        '\r\n\r\n\0\r\nQUIT\n\x31',
        'PROXY',
        '',
      ];
      for (const header of cases) {
        const s = net.connect({ port: ing.ports.smtp, host: '127.0.0.1' });
        s.on('error', () => undefined);
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString('latin1')));
        s.write(header, 'latin1');
        await new Promise((r) => s.once('close', r));
        expect(got, JSON.stringify(header)).toBe('');
      }
      const refused = await ing.ingress.metrics.refusedConnections.get();
      expect(refused.values.find((v) => v.labels.reason === 'proxy_header')?.value).toBe(cases.length);
      expect(ing.ingress.sessionCount()).toBe(0);
    } finally {
      await ing.close();
    }
  });

  it('INGRESS_PROXY_TRUSTED is validated at start; empty is off', () => {
    const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x' };
    expect(
      ingressConfigFromEnv(loadIngressEnv({ ...base, INGRESS_PROXY_TRUSTED: '10.0.0.0/8,::1' }), 'h').proxyTrusted?.has('10.2.3.4'),
    ).toBe(true);
    expect(ingressConfigFromEnv(loadIngressEnv(base), 'h').proxyTrusted?.none).toBe(true);
    expect(() => loadIngressEnv({ ...base, INGRESS_PROXY_TRUSTED: '10.0.0.0/99' })).toThrow(/INGRESS_PROXY_TRUSTED/);
  });
});
