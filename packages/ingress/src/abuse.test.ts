import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@mailroom/runtime';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { MEMORY_COST_PER_OCTET } from './message-collector.ts';
import { createIngress } from './server.ts';
import { createFixture, testPrisma, type Fixture } from './testing/fixtures.ts';
import { eventually, startIngress } from './testing/harness.ts';
import { WireClient, type Reply } from './testing/wire-client.ts';

const prisma = testPrisma(10);
let f: Fixture;

beforeAll(async () => {
  f = await createFixture(prisma);
});
afterAll(async () => {
  await prisma.$disconnect();
});

/** Pipelines `n` RCPT guesses for unknown users in one transaction and collects every reply until the server closes. */
async function harvest(
  port: number,
  n: number,
  hello = 'EHLO harvester.test',
  guess = (i: number) => `guess${i}@${f.domain}`,
): Promise<{ replies: Reply[]; closed: boolean }> {
  const c = await WireClient.connect(port);
  await c.command(hello);
  expect((await c.command('MAIL FROM:<spammer@example.org>')).code).toBe(250);
  c.write(Array.from({ length: n }, (_, i) => `RCPT TO:<${guess(i)}>\r\n`).join(''));
  const replies: Reply[] = [];
  let closed = false;
  while (replies.length < n) {
    try {
      replies.push(await c.read());
    } catch {
      closed = true;
      break;
    }
  }
  if (!closed) await c.quit();
  return { replies, closed };
}

async function errorDelaySeconds(ing: Awaited<ReturnType<typeof startIngress>>): Promise<number> {
  const m = await ing.ingress.metrics.errorDelaySeconds.get();
  return m.values.reduce((sum, v) => sum + v.value, 0);
}

describe('address harvesting (SMTP error limits)', () => {
  it('answers 1,000 pipelined RCPT guesses with 19 refusals, then 421 4.7.0 and a closed connection', async () => {
    // the defaults (soft 10, hard 20) with a 1 ms delay unit so the test stays quick
    const ing = await startIngress(prisma, { errorSleepMs: 1 });
    try {
      const { replies, closed } = await harvest(ing.ports.smtp, 1000);
      expect(closed).toBe(true);
      expect(replies).toHaveLength(20);
      expect(replies.slice(0, 19).every((r) => r.code === 550 && r.text.startsWith('5.1.1'))).toBe(true);
      expect([replies[19]!.code, replies[19]!.text.split(' ')[0]]).toEqual([421, '4.7.0']);
      // refusals 11..19 were delayed 1, 2, … 9 units: 45 ms in all (counted, not measured)
      expect(await errorDelaySeconds(ing)).toBeCloseTo(0.045, 6);
      const refused = await ing.ingress.metrics.refusedConnections.get();
      expect(refused.values.find((v) => v.labels.reason === 'hard_error_limit')?.value).toBe(1);
    } finally {
      await ing.close();
    }
  });

  it('counts every spelling of a guess: tagged, quoted, at an alias domain; each is refused and the limit still closes', async () => {
    const alias = await f.domainRow({ aliasOf: f.domainId });
    const spellings = [
      (i: number) => `guess${i}+tag@${f.domain}`,
      (i: number) => `"guess${i}"@${f.domain}`,
      (i: number) => `guess${i}@${alias.name}`,
      (i: number) => `guess${i}+tag@${alias.name.toUpperCase()}`,
    ];
    const ing = await startIngress(prisma, { errorSleepMs: 1 });
    try {
      for (const guess of spellings) {
        const { replies, closed } = await harvest(ing.ports.smtp, 100, 'EHLO harvester.test', guess);
        expect([guess(0), closed, replies.length]).toEqual([guess(0), true, 20]);
        expect(replies.slice(0, 19).every((r) => r.code === 550 && r.text.startsWith('5.1.1'))).toBe(true);
        expect(replies[19]!.code).toBe(421);
      }
    } finally {
      await ing.close();
    }
  });

  it('follows the configured limits; accepted recipients do not count; LMTP (the trusted MTA) is exempt', async () => {
    const m = await f.mailbox('harvest-ok');
    const ing = await startIngress(prisma, { softErrorLimit: 1, hardErrorLimit: 4, errorSleepMs: 2 });
    try {
      const c = await WireClient.connect(ing.ports.smtp);
      await c.command('EHLO client.test');
      await c.command('MAIL FROM:<a@example.org>');
      const codes: number[] = [];
      for (const rcpt of ['nobody1', m.address, 'nobody2', m.address, 'nobody3', 'nobody4', 'nobody5']) {
        try {
          codes.push((await c.command(`RCPT TO:<${rcpt.includes('@') ? rcpt : `${rcpt}@${f.domain}`}>`)).code);
        } catch {
          codes.push(0);
        }
      }
      expect(codes).toEqual([550, 250, 550, 250, 550, 421, 0]);
      // refusals 2 and 3 past the soft limit of 1: delays of 1 and 2 units of 2 ms
      expect(await errorDelaySeconds(ing)).toBeCloseTo(0.006, 6);

      const lmtp = await harvest(ing.ports.lmtp, 60, 'LHLO mta.test');
      expect(lmtp.closed).toBe(false);
      expect(lmtp.replies).toHaveLength(60);
      expect(lmtp.replies.every((r) => r.code === 550)).toBe(true);
    } finally {
      await ing.close();
    }
  });
});

describe('message memory budget', () => {
  it('counts what a message really costs and defers what does not fit with 452 4.3.1 instead of buffering it', async () => {
    const size = 20_000;
    // room for two messages at their real cost, not for a third (which would fit three times over if octets were counted)
    const budget = Math.floor(2.5 * size * MEMORY_COST_PER_OCTET);
    const ing = await startIngress(prisma, { maxMessageBytes: size + 1000, maxBufferedBytes: budget });
    try {
      const m = await f.mailbox('budget');
      const body = (ch: string) => `Subject: ${ch}\r\n\r\n${ch.repeat(size - 20)}\r\n`;
      const open = async () => {
        const c = await WireClient.connect(ing.ports.lmtp);
        await c.command('LHLO mta.test');
        await c.command('MAIL FROM:<x@example.org>');
        expect((await c.command(`RCPT TO:<${m.address}>`)).code).toBe(250);
        expect((await c.command('DATA')).code).toBe(354);
        return c;
      };
      const clients = [await open(), await open()];
      clients[0]!.write(body('a'));
      clients[1]!.write(body('b'));
      await eventually(() => ing.ingress.bufferedBytes() >= 2 * (size - 20) * MEMORY_COST_PER_OCTET);
      const third = await open();
      third.sendData(Buffer.from(body('c')));
      const r = await third.read();
      expect([r.code, r.text.split(' ')[0]]).toEqual([452, '4.3.1']);
      // the refused message was drained, not held: only the two pending messages are in memory
      expect(ing.ingress.bufferedBytes()).toBeLessThanOrEqual(budget);
      // (the last line of each pending message is held back by the DATA parser until the final dot)
      expect(ing.ingress.bufferedBytes()).toBeGreaterThanOrEqual(2 * (size - 20) * MEMORY_COST_PER_OCTET);
      for (const c of clients) c.write('.\r\n');
      for (const c of clients) expect((await c.read()).code).toBe(250);
      await eventually(() => ing.ingress.bufferedBytes() === 0);
      for (const c of [...clients, third]) await c.quit();
    } finally {
      await ing.close();
    }
  });
});

describe('per-network connection limits', () => {
  it('counts addresses of one network (INGRESS_IPV4_PREFIX) as one client', async () => {
    const ing = await startIngress(prisma, { maxConnectionsPerIp: 2, ipv4Prefix: 24 });
    try {
      const connectFrom = async (localAddress: string) => {
        const c = await WireClient.connect(ing.ports.smtp, '127.0.0.1', localAddress);
        return c;
      };
      const a = await connectFrom('127.0.0.2');
      const b = await connectFrom('127.0.0.3');
      const c = await connectFrom('127.0.0.4');
      expect([a.greeting.code, b.greeting.code]).toEqual([220, 220]);
      expect([c.greeting.code, c.greeting.text.split(' ')[0]]).toEqual([421, '4.7.0']);
      // another /24 is another client
      const other = await connectFrom('127.0.1.2');
      expect(other.greeting.code).toBe(220);
      for (const x of [a, b, c, other]) await x.quit();
    } finally {
      await ing.close();
    }
  });
});

describe('bind addresses', () => {
  /** Starts an ingress from an environment the way main.ts does and reports where SMTP, LMTP and metrics are bound. */
  async function boundAddresses(env: Record<string, string>): Promise<(string | undefined)[]> {
    const parsed = loadIngressEnv({ LMTP_PORT: '0', SMTP_PORT: '0', INGRESS_METRICS_PORT: '0', ...env });
    const ingress = createIngress({
      prisma,
      logger: createLogger('ingress-test', 'silent'),
      config: ingressConfigFromEnv(parsed, 'mx.test'),
    });
    await ingress.listen();
    try {
      const a = ingress.addresses();
      return [a.smtp?.address, a.lmtp?.address, a.metrics?.address];
    } finally {
      await ingress.close();
    }
  }

  it('keeps LMTP and metrics on loopback when MAILROOM_HOST=0.0.0.0, unless LMTP_HOST/METRICS_HOST say otherwise', async () => {
    expect(await boundAddresses({ MAILROOM_HOST: '0.0.0.0' })).toEqual(['0.0.0.0', '127.0.0.1', '127.0.0.1']);
    expect(await boundAddresses({ MAILROOM_HOST: '0.0.0.0', LMTP_HOST: '0.0.0.0', METRICS_HOST: '0.0.0.0' })).toEqual([
      '0.0.0.0',
      '0.0.0.0',
      '0.0.0.0',
    ]);
  });
});
