// Webhooks end to end: changes through core services → outbox → dispatcher → pg-boss → a real HTTP receiver that checks
// Standard Webhooks signatures and timestamps itself (node:crypto, not our signer).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDomain,
  createMailbox,
  createPasswordHasher,
  createWebhookEndpoint,
  redeliverWebhook,
  type Actor,
  type ServiceDeps,
} from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import type { WebhookEventType } from '@mailroom/core/schemas';
import { pgPoolOf, type PrismaClient } from '@mailroom/db';
import { lockWaiters, uniqueName } from '@mailroom/db/testing';
import { eventually } from '@mailroom/runtime/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_WORKER_CONFIG, type WebhookDeliveryConfig } from './config.ts';
import { createOwner, TEST_SERVER_SECRET, testWorker, workerTestDatabase } from './testing/harness.ts';
import { RESPONSE_BODY_MAX_BYTES } from './webhooks.ts';
import type { Worker } from './worker.ts';

interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  path: string;
  validSignature: boolean;
  timestampSkewS: number;
}

/** A webhook receiver: verifies each request's signature with the endpoint's secret, answers what `respond` says. */
class Receiver {
  readonly requests: Received[] = [];
  readonly secrets = new Map<string, string>();
  inFlight = new Map<string, number>();
  /** Most concurrent requests of one delivery (endpoint path + webhook-id) seen at once. */
  maxInFlightPerId = 0;
  respond: (r: Received, nth: number) => { status: number; body?: string; headers?: Record<string, string>; stallMs?: number } = () => ({
    status: 200,
  });
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const ts = String(req.headers['webhook-timestamp']);
      const secret = this.secrets.get(req.url ?? '') ?? '';
      const expected = createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
        .update(`${id}.${ts}.${body}`)
        .digest();
      const sigs = String(req.headers['webhook-signature'] ?? '')
        .split(' ')
        .filter((s) => s.startsWith('v1,'))
        .map((s) => Buffer.from(s.slice(3), 'base64'));
      const validSignature = sigs.some((s) => s.length === expected.length && timingSafeEqual(s, expected));
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      const r: Received = {
        id,
        type: parsed.type,
        data: parsed.data,
        path: req.url ?? '',
        validSignature,
        timestampSkewS: Math.abs(Date.now() / 1000 - Number(ts)),
      };
      this.requests.push(r);
      // one delivery = one event to one endpoint: an event also sent to an administrator's endpoint is not a duplicate
      const delivery = `${r.path} ${id}`;
      const n = (this.inFlight.get(delivery) ?? 0) + 1;
      this.inFlight.set(delivery, n);
      this.maxInFlightPerId = Math.max(this.maxInFlightPerId, n);
      const answer = this.respond(r, this.requests.filter((x) => x.id === id && x.path === r.path).length);
      setTimeout(() => {
        this.inFlight.set(delivery, (this.inFlight.get(delivery) ?? 1) - 1);
        res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
      }, answer.stallMs ?? 0);
    });
  });
  port = 0;
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }
  of(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
let receiver: Receiver;
const workers: Worker[] = [];

const FAST: WebhookDeliveryConfig = {
  ...DEFAULT_WORKER_CONFIG.webhooks,
  allowPrivate: true,
  dispatchIntervalMs: 200,
  timeoutMs: 3_000,
  retryLimit: 3,
  retryDelaySeconds: 1,
  disableAfterFailures: 1_000,
  disableAfterHours: 0,
  concurrency: 2,
};

async function startWorker(
  webhooks: Partial<WebhookDeliveryConfig> = {},
  deps: { webhookLookup?: (h: string) => Promise<string[]> } = {},
): Promise<Worker> {
  const w = testWorker(
    db.url,
    prisma,
    {
      onboarding: { mxHosts: [{ host: 'mx.test', priority: 10 }], mtaStsMaxAgeSeconds: 604_800, dns: { servers: [], timeoutMs: 1_000 } },
      webhooks: { ...FAST, ...webhooks },
    },
    deps,
  );
  workers.push(w);
  await w.start();
  return w;
}

const services = (): ServiceDeps =>
  ({
    prisma,
    hasher: createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 }),
    passwordPolicy: { minLength: 8 },
    onboarding: {
      mxHosts: [{ host: 'mx.test', priority: 10 }],
      webHost: 'web.test',
      claimTtlHours: 72,
      dns: { txt: async () => [], mx: async () => [], cname: async () => [], srv: async () => [] },
    },
  }) as unknown as ServiceDeps;

async function userActor(role: 'OWNER' | 'ADMIN'): Promise<{ id: string; actor: Actor }> {
  const id =
    role === 'OWNER'
      ? await createOwner(prisma)
      : (await prisma.user.create({ data: { email: `${uniqueName('admin')}@example.com`, passwordHash: 'x', role: 'ADMIN' } })).id;
  return { id, actor: { principal: { kind: 'user', userId: id, email: 'x@example.com', role } } };
}

/** An endpoint registered through the core service (secret generated, encrypted at rest) on the receiver. */
async function endpoint(
  actor: Actor,
  path: string,
  eventTypes: WebhookEventType[],
  opts: { allowPrivate?: boolean; url?: string; lookup?: (h: string) => Promise<string[]> } = {},
) {
  const created = await createWebhookEndpoint(
    { prisma, secret: TEST_SERVER_SECRET, allowPrivate: opts.allowPrivate ?? true, ...(opts.lookup ? { lookup: opts.lookup } : {}) },
    actor,
    { url: opts.url ?? receiver.url(path), eventTypes },
  );
  receiver.secrets.set(path, created.secret);
  return created;
}

/** A verified domain of the actor's, created through core (which audits domain.create → domain.created). */
async function domainOf(actor: Actor, ownerId: string): Promise<string> {
  const d = await createDomain(services(), actor, { name: `${uniqueName('d')}.example`, ownerId } as never);
  await prisma.domain.update({ where: { id: d.id }, data: { verifiedAt: new Date(), verificationToken: null, claimExpiresAt: null } });
  return d.id;
}

const newMailbox = (actor: Actor, domainId: string, localPart = uniqueName('m')) =>
  createMailbox(services(), actor, domainId, { localPart, password: 'a long enough password 42' } as never);

beforeAll(async () => {
  db = await workerTestDatabase('worker_webhooks');
  prisma = db.prisma;
  receiver = await new Receiver().start();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  receiver.respond = () => ({ status: 200 });
});
afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

describe('webhook delivery', { timeout: 90_000 }, () => {
  test('a committed change arrives signed, with a fresh timestamp and the same webhook-id on every retry after 500s', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('retry')}`;
    await endpoint(o.actor, path, ['domain.created', 'mailbox.created']);
    receiver.respond = (_r, nth) => ({ status: nth <= 2 ? 500 : 204, body: 'not yet' });
    const w = await startWorker();
    const domainId = await domainOf(o.actor, o.id);
    const mb = await newMailbox(o.actor, domainId);

    await eventually(() => receiver.of(path).filter((r) => r.type === 'mailbox.created').length >= 3, 2_000);
    const got = receiver.of(path);
    expect(got.every((r) => r.validSignature)).toBe(true);
    expect(got.every((r) => r.timestampSkewS < 300)).toBe(true);
    const events = await prisma.webhookEvent.findMany({ where: { ownerId: o.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['domain.created', 'mailbox.created']);
    const mbEvent = events[1]!;
    const mbDeliveries = got.filter((r) => r.type === 'mailbox.created');
    expect(new Set(mbDeliveries.map((r) => r.id))).toEqual(new Set([mbEvent.id]));
    expect(mbDeliveries[0]!.data).toMatchObject({ mailboxId: mb.id, domainId, ownerId: o.id, address: mb.address });
    expect(JSON.stringify(mbDeliveries[0]!.data)).not.toMatch(/password/i);

    await eventually(
      async () => (await prisma.webhookDelivery.count({ where: { eventId: mbEvent.id, status: 'succeeded' } })) === 1,
      2_000,
    );
    const d = await prisma.webhookDelivery.findFirstOrThrow({
      where: { eventId: mbEvent.id },
      include: { attempts: { orderBy: { id: 'asc' } } },
    });
    expect(d.attempts.map((a) => a.statusCode)).toEqual([500, 500, 204]);
    expect(d.attempts[0]!.responseBody).toBe('not yet');
    expect(d.attemptCount).toBe(3);
    const counts = (await w.metrics.webhookAttempts.get()).values;
    expect(counts.find((v) => v.labels.result === 'failed')?.value).toBeGreaterThanOrEqual(2);
    expect(counts.find((v) => v.labels.result === 'delivered')?.value).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('a change rolled back after its audit write never produces an event, and never arrives', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('rollback')}`;
    await endpoint(o.actor, path, ['mailbox.created']);
    const domainId = await domainOf(o.actor, o.id);
    // Fails the transaction after recordAudit wrote the audit row and the outbox event (a trigger on the outbox row).
    await prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION wh_test_fail() RETURNS trigger AS $$ BEGIN
      IF NEW.data->>'address' LIKE 'doomed%' THEN RAISE EXCEPTION 'forced rollback'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await prisma.$executeRawUnsafe(
      `CREATE TRIGGER wh_test_fail AFTER INSERT ON webhook_events FOR EACH ROW EXECUTE FUNCTION wh_test_fail()`,
    );
    try {
      await expect(newMailbox(o.actor, domainId, 'doomed')).rejects.toThrow();
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER wh_test_fail ON webhook_events');
    }
    expect(await prisma.mailbox.count({ where: { domainId } })).toBe(0);
    expect(await prisma.auditEvent.count({ where: { action: 'mailbox.create', ownerId: o.id } })).toBe(0);
    expect(await prisma.webhookEvent.count({ where: { ownerId: o.id, type: 'mailbox.created' } })).toBe(0);
    const kept = await newMailbox(o.actor, domainId, 'kept');
    await startWorker();
    await eventually(() => receiver.of(path).length >= 1, 2_000);
    await eventually(async () => (await prisma.webhookEvent.count({ where: { dispatchedAt: null } })) === 0, 2_000);
    expect(receiver.of(path).map((r) => r.data.address)).toEqual([kept.address]);
  });

  test("an owner's endpoint gets only its own tenant's events; an administrator's gets every tenant's", async () => {
    const a = await userActor('OWNER');
    const b = await userActor('OWNER');
    const admin = await userActor('ADMIN');
    const pathB = `/${uniqueName('tenant-b')}`;
    const pathAdmin = `/${uniqueName('admin')}`;
    await endpoint(b.actor, pathB, ['domain.created', 'mailbox.created']);
    await endpoint(admin.actor, pathAdmin, ['domain.created']);
    await startWorker();
    const domA = await domainOf(a.actor, a.id);
    await newMailbox(a.actor, domA);
    const domB = await domainOf(b.actor, b.id);
    await eventually(() => receiver.of(pathAdmin).length >= 2 && receiver.of(pathB).length >= 1, 2_000);
    await eventually(async () => (await prisma.webhookEvent.count({ where: { dispatchedAt: null } })) === 0, 2_000);
    expect(receiver.of(pathB).map((r) => r.data.domainId)).toEqual([domB]);
    expect(new Set(receiver.of(pathAdmin).map((r) => r.data.domainId))).toEqual(new Set([domA, domB]));
  });

  test('two workers at once send each event once (never two attempts of one event at the same time)', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('pair')}`;
    await endpoint(o.actor, path, ['mailbox.created']);
    const domainId = await domainOf(o.actor, o.id);
    receiver.respond = () => ({ status: 200, stallMs: 30 });
    await Promise.all([startWorker({ concurrency: 3 }), startWorker({ concurrency: 3 })]);
    const created = [];
    for (let i = 0; i < 12; i++) created.push(await newMailbox(o.actor, domainId));
    await eventually(
      async () => (await prisma.webhookDelivery.count({ where: { endpoint: { userId: o.id }, status: 'succeeded' } })) === 12,
      2_000,
    );
    const ids = receiver.of(path).map((r) => r.id);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(receiver.maxInFlightPerId).toBe(1);
  });

  test("PostgreSQL closing the dispatcher's connection mid-transaction fails that round, not the worker; the next round sends the event", async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('terminated')}`;
    const ep = await endpoint(o.actor, path, ['domain.created']);
    const domainId = await domainOf(o.actor, o.id);
    const event = await prisma.webhookEvent.findFirstOrThrow({ where: { ownerId: o.id, type: 'domain.created' } });
    // a transaction holding webhook_deliveries in SHARE mode: the dispatcher's INSERT there waits, inside its own
    // transaction, on its checked-out connection
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE webhook_deliveries IN SHARE MODE');
      await startWorker();
      // (not on the blocker's connection: inside a transaction pg_stat_activity is one snapshot)
      const waiting = () => lockWaiters(pgPoolOf(prisma)!, 'mailroom-worker-dispatch');
      await eventually(async () => (await waiting()).length === 1, 400);
      const { pid } = (await waiting())[0]!;
      await prisma.$queryRaw`SELECT pg_terminate_backend(${pid})`;
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    // the worker goes on: a later round (a new connection) dispatches the event, which arrives once
    await eventually(() => receiver.of(path).length >= 1, 400);
    await eventually(
      async () => (await prisma.webhookDelivery.count({ where: { eventId: event.id, endpointId: ep.id, status: 'succeeded' } })) === 1,
      400,
    );
    expect(receiver.of(path).map((r) => [r.type, r.data.domainId])).toEqual([['domain.created', domainId]]);
  });

  test('manual redelivery sends the same event id again', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('redeliver')}`;
    const ep = await endpoint(o.actor, path, ['domain.created']);
    await startWorker();
    await domainOf(o.actor, o.id);
    await eventually(() => receiver.of(path).length === 1, 2_000);
    const d = await prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: ep.id } });
    await eventually(async () => (await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d.id } })).status === 'succeeded', 2_000);
    await redeliverWebhook(prisma, o.actor, ep.id, d.id);
    await eventually(() => receiver.of(path).length === 2, 2_000);
    expect(receiver.of(path).map((r) => r.id)).toEqual([d.eventId, d.eventId]);
  });

  test('redirects are not followed, slow receivers time out, long response bodies are cut when stored', async () => {
    const o = await userActor('OWNER');
    const p = {
      redirect: `/${uniqueName('redirect')}`,
      slow: `/${uniqueName('slow')}`,
      long: `/${uniqueName('long')}`,
      target: `/${uniqueName('target')}`,
    };
    const eps = {
      redirect: await endpoint(o.actor, p.redirect, ['domain.created']),
      slow: await endpoint(o.actor, p.slow, ['domain.created']),
      long: await endpoint(o.actor, p.long, ['domain.created']),
    };
    receiver.respond = (r) =>
      r.path === p.redirect
        ? { status: 302, headers: { location: receiver.url(p.target) } }
        : r.path === p.slow
          ? { status: 200, stallMs: 3_000 }
          : { status: 200, body: 'x'.repeat(5_000) };
    await startWorker({ retryLimit: 0, timeoutMs: 500 });
    await domainOf(o.actor, o.id);
    const final = async (id: string) =>
      prisma.webhookDelivery.findFirst({ where: { endpointId: id, status: { not: 'pending' } }, include: { attempts: true } });
    await eventually(
      async () => Boolean((await final(eps.redirect.id)) && (await final(eps.slow.id)) && (await final(eps.long.id))),
      2_000,
    );
    const redirect = (await final(eps.redirect.id))!;
    expect(redirect.status).toBe('failed');
    expect(redirect.attempts[0]!.statusCode).toBe(302);
    expect(receiver.of(p.target)).toHaveLength(0);
    const slow = (await final(eps.slow.id))!;
    expect(slow.status).toBe('failed');
    expect(slow.attempts[0]!.statusCode).toBeNull();
    expect(slow.attempts[0]!.error).toMatch(/timed out/);
    const long = (await final(eps.long.id))!;
    expect(long.status).toBe('succeeded');
    expect(long.attempts[0]!.responseBody).toHaveLength(RESPONSE_BODY_MAX_BYTES);
  });

  test('an endpoint failing without pause is disabled, with an audit notice to its owner', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('dead')}`;
    const ep = await endpoint(o.actor, path, ['domain.created']);
    receiver.respond = () => ({ status: 503 });
    await startWorker({ disableAfterFailures: 3, retryLimit: 5 });
    await domainOf(o.actor, o.id);
    await eventually(async () => !(await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } })).enabled, 2_000);
    const row = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    expect(row).toMatchObject({ disabledReason: 'failing', consecutiveFailures: 3 });
    const notice = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'webhook.auto_disable', targetId: ep.id } });
    expect(notice.ownerId).toBe(o.id);
    // no further attempt once disabled
    await eventually(
      async () => (await prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: ep.id } })).status === 'failed',
      2_000,
    );
    expect(receiver.of(path)).toHaveLength(3);
  }, 120_000);
});

describe('webhook SSRF guard at connection time', { timeout: 90_000 }, () => {
  test('a URL whose host resolves to loopback is refused when sent; the receiver is never reached', async () => {
    const o = await userActor('OWNER');
    const path = `/${uniqueName('ssrf')}`;
    const ep = await endpoint(o.actor, path, ['domain.created'], { url: receiver.url(path, 'localhost') });
    await startWorker({ allowPrivate: false, retryLimit: 0 });
    await domainOf(o.actor, o.id);
    await eventually(
      async () => (await prisma.webhookDelivery.findFirst({ where: { endpointId: ep.id, status: 'failed' } })) !== null,
      2_000,
    );
    const attempt = await prisma.webhookAttempt.findFirstOrThrow({ where: { delivery: { endpointId: ep.id } } });
    expect(attempt.statusCode).toBeNull();
    expect(attempt.error).toMatch(/refused.*loopback/);
    expect(receiver.of(path)).toHaveLength(0);
  });

  describe.skipIf(!haveDnsmasq)('DNS rebinding', () => {
    let dns: TestDnsServer;
    beforeAll(async () => {
      dns = await startDnsServer(['rebind.test']);
    });
    afterAll(async () => dns?.close());

    test('a name that passed the registration check and then resolves to 127.0.0.1 is refused at connection time', async () => {
      const lookup = async (host: string) => {
        const r = new Resolver();
        r.setServers([dns.server]);
        return r.resolve4(host);
      };
      const name = `${uniqueName('h')}.rebind.test`;
      await dns.setRecords({ address: [[name, '203.0.113.7']] });
      const o = await userActor('OWNER');
      const path = `/${uniqueName('rebind')}`;
      const ep = await endpoint(o.actor, path, ['domain.created'], { url: receiver.url(path, name), allowPrivate: false, lookup });
      await dns.setRecords({ address: [[name, '127.0.0.1']] });
      await startWorker({ allowPrivate: false, retryLimit: 0 }, { webhookLookup: lookup });
      await domainOf(o.actor, o.id);
      await eventually(
        async () => (await prisma.webhookDelivery.findFirst({ where: { endpointId: ep.id, status: 'failed' } })) !== null,
        2_000,
      );
      const attempt = await prisma.webhookAttempt.findFirstOrThrow({ where: { delivery: { endpointId: ep.id } } });
      expect(attempt.error).toMatch(/refused.*loopback.*127\.0\.0\.1/);
      expect(receiver.of(path)).toHaveLength(0);
    });
  });
});
