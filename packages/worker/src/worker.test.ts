// The worker's jobs through the real pg-boss queue on PostgreSQL, against a real DNS server (dnsmasq on loopback).
import { createDnsLookup, mtaStsPolicyText, mtaStsRecordValue, type DnsLookup } from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import { findSchemaDrift, type PrismaClient } from '@mailroom/db';
import { findFreePort, uniqueName } from '@mailroom/db/testing';
import { eventually } from '@mailroom/runtime/testing';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createOwner, runThroughQueue, testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

const ZONE = 'worker.test';
const MX_HOST = 'mx.mailroom.test';

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
let dns: TestDnsServer;
let ownerId: string;
const workers: Worker[] = [];

const onboarding = (servers: string[], timeoutMs = 2_000) => ({
  mxHosts: [{ host: MX_HOST, priority: 10 }],
  mtaStsMaxAgeSeconds: 604_800,
  dns: { servers, timeoutMs },
});

async function activeDomain(): Promise<{ id: string; name: string }> {
  return prisma.domain.create({
    data: { name: `${uniqueName('a')}.${ZONE}`, ownerId, verifiedAt: new Date() },
    select: { id: true, name: true },
  });
}

async function start(w: Worker): Promise<{ w: Worker; port: number }> {
  workers.push(w);
  const { metrics } = await w.start();
  return { w, port: metrics! };
}

describe.skipIf(!haveDnsmasq)('worker jobs through the queue', () => {
  beforeAll(async () => {
    db = await workerTestDatabase('worker_jobs');
    prisma = db.prisma;
    ownerId = await createOwner(prisma);
    dns = await startDnsServer([ZONE]);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await dns?.close();
    await db?.drop();
  });

  test('domains.recheck flags an active domain whose MX points elsewhere or is gone, marks the right MX ok, in batches', async () => {
    const good = await activeDomain();
    const moved = await activeDomain();
    const gone = await activeDomain();
    const pending = await prisma.domain.create({
      data: { name: `${uniqueName('p')}.${ZONE}`, ownerId, verificationToken: 'x', claimExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    await dns.setRecords({
      mx: [
        [good.name, MX_HOST.toUpperCase(), 10],
        [moved.name, 'mx.other-provider.test', 10],
        [pending.name, 'mx.elsewhere.test', 10],
      ],
    });
    const { w, port } = await start(
      testWorker(db.url, prisma, { onboarding: onboarding([dns.server]), recheck: { batchSize: 2, minAgeHours: 1 } }),
    );

    const out = await runThroughQueue(w, 'domains.recheck');
    expect(out).toMatchObject({ checked: 3, flagged: 2, unavailable: 0, interrupted: false });
    expect(out.batches).toBeGreaterThanOrEqual(2);
    const rows = new Map((await prisma.domain.findMany({ where: { ownerId } })).map((d) => [d.id, d]));
    expect(rows.get(good.id)).toMatchObject({ mxStatus: 'ok' });
    expect(rows.get(moved.id)).toMatchObject({ mxStatus: 'different' });
    expect(rows.get(gone.id)).toMatchObject({ mxStatus: 'missing' });
    for (const id of [good.id, moved.id, gone.id]) expect(rows.get(id)!.lastDnsCheckAt).not.toBeNull();
    // a pending claim hosts nothing and is not checked
    expect(rows.get(pending.id)).toMatchObject({ mxStatus: null, lastDnsCheckAt: null });

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^mailroom_worker_domains_checked_total\{mx_status="different"\} 1$/m);
    expect(metrics).toMatch(/^mailroom_worker_domains_mx_flagged 2$/m);
    expect(metrics).toMatch(/^mailroom_worker_jobs_total\{job="domains.recheck",result="completed"\} 1$/m);

    // The MX is fixed; the next run leaves recently checked domains alone until they are due again.
    await dns.setRecords({
      mx: [
        [good.name, MX_HOST, 10],
        [moved.name, MX_HOST, 10],
        [gone.name, MX_HOST, 10],
      ],
    });
    expect(await runThroughQueue(w, 'domains.recheck')).toMatchObject({ checked: 0 });
    await prisma.domain.updateMany({ where: { ownerId }, data: { lastDnsCheckAt: new Date(Date.now() - 2 * 3_600_000) } });
    expect(await runThroughQueue(w, 'domains.recheck')).toMatchObject({ checked: 3, flagged: 0 });
    expect((await prisma.domain.findMany({ where: { id: { in: [moved.id, gone.id] } } })).map((d) => d.mxStatus)).toEqual(['ok', 'ok']);
  });

  test('domains.recheck reads the _mta-sts record of domains with an MTA-STS mode: the served id, another id, none', async () => {
    const [current, stale, missing, none] = [await activeDomain(), await activeDomain(), await activeDomain(), await activeDomain()];
    await prisma.domain.update({ where: { id: current.id }, data: { mtaStsMode: 'testing' } });
    await prisma.domain.update({ where: { id: stale.id }, data: { mtaStsMode: 'enforce' } });
    await prisma.domain.update({ where: { id: missing.id }, data: { mtaStsMode: 'none' } });
    // the record of the policy served now, and for `stale` the one published while it was in testing mode
    const record = (mode: 'testing' | 'enforce') => mtaStsRecordValue(mtaStsPolicyText(mode, [MX_HOST], 604_800));
    await dns.setRecords({
      mx: [current, stale, missing, none].map((d) => [d.name, MX_HOST, 10] as [string, string, number]),
      txt: [
        [`_mta-sts.${current.name}`, record('testing')],
        [`_mta-sts.${stale.name}`, record('testing')],
        [`_mta-sts.${none.name}`, 'v=STSv1; id=leftover'],
      ],
    });
    const { w, port } = await start(
      testWorker(db.url, prisma, { onboarding: onboarding([dns.server]), recheck: { batchSize: 50, minAgeHours: 1 } }),
    );
    expect(await runThroughQueue(w, 'domains.recheck')).toMatchObject({ flagged: 0, unavailable: 0 });
    const status = async (d: { id: string }) => (await prisma.domain.findUniqueOrThrow({ where: { id: d.id } })).mtaStsRecordStatus;
    expect([await status(current), await status(stale), await status(missing), await status(none)]).toEqual([
      'ok',
      'different',
      'missing',
      null,
    ]);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^mailroom_worker_domains_mta_sts_flagged 2$/m);
  });

  test('a dead resolver leaves every domain as it was, and the run still completes', async () => {
    const d = await activeDomain();
    await prisma.domain.update({ where: { id: d.id }, data: { mxStatus: 'ok', lastDnsCheckAt: new Date(Date.now() - 7 * 3_600_000) } });
    const dead = onboarding([`127.0.0.1:${await findFreePort()}`], 200);
    const { w } = await start(testWorker(db.url, prisma, { onboarding: dead, recheck: { batchSize: 50, minAgeHours: 1 } }));
    const out = await runThroughQueue(w, 'domains.recheck');
    expect(out).toMatchObject({ checked: 0 });
    expect(out.unavailable).toBeGreaterThanOrEqual(1);
    expect(await prisma.domain.findUniqueOrThrow({ where: { id: d.id } })).toMatchObject({ mxStatus: 'ok' });
  });

  test('domains.prune-claims deletes expired pending claims with an audit event; live claims and active domains stay', async () => {
    const expired = await prisma.domain.create({
      data: { name: `${uniqueName('e')}.${ZONE}`, ownerId, verificationToken: 'x', claimExpiresAt: new Date(Date.now() - 1_000) },
    });
    const live = await prisma.domain.create({
      data: { name: `${uniqueName('l')}.${ZONE}`, ownerId, verificationToken: 'y', claimExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    const active = await activeDomain();
    const { w } = await start(testWorker(db.url, prisma, { onboarding: onboarding([dns.server]) }));
    expect(await runThroughQueue(w, 'domains.prune-claims')).toEqual({ pruned: 1 });
    expect(await prisma.domain.count({ where: { id: expired.id } })).toBe(0);
    expect(await prisma.domain.count({ where: { id: { in: [live.id, active.id] } } })).toBe(2);
    const audit = await prisma.auditEvent.findMany({ where: { action: 'domain.claim_expired', targetId: expired.id } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ ownerId, targetType: 'domain' });
    // idempotent: running it again finds nothing to do and records nothing more
    expect(await runThroughQueue(w, 'domains.prune-claims')).toEqual({ pruned: 0 });
    expect(await prisma.auditEvent.count({ where: { action: 'domain.claim_expired', targetId: expired.id } })).toBe(1);
  });

  test('graceful shutdown: /readyz turns 503 at once, a running re-check stops at its next batch, the job completes', async () => {
    for (let i = 0; i < 3; i++) await activeDomain();
    await prisma.domain.updateMany({ where: { ownerId }, data: { lastDnsCheckAt: new Date(Date.now() - 7 * 3_600_000) } });
    // The real resolver, held at its first answer until the test has begun the shutdown.
    const real = createDnsLookup({ servers: [dns.server], timeoutMs: 2_000 });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let asked = 0;
    const held: DnsLookup = { ...real, mx: async (name) => (++asked === 1 ? released.then(() => real.mx(name)) : real.mx(name)) };
    const { w, port } = await start(
      testWorker(db.url, prisma, { onboarding: onboarding([dns.server]), recheck: { batchSize: 1, minAgeHours: 1 } }, { dns: held }),
    );
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const id = (await w.runNow('domains.recheck'))!;
    await eventually(() => asked === 1, 800);
    const stopped = w.stop();
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    release();
    await stopped;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();

    // the worker's queue is closed: read the job's row
    const [job] = await prisma.$queryRaw<
      { state: string; output: unknown }[]
    >`SELECT state::text, output FROM pgboss.job WHERE id = ${id}::uuid`;
    expect(job).toMatchObject({ state: 'completed', output: { checked: 1, interrupted: true } });
    expect(asked).toBe(1);
  });

  test('the job queue lives in its own schema: the public schema still matches schema.prisma', async () => {
    const { w } = await start(testWorker(db.url, prisma, { onboarding: onboarding([dns.server]) }));
    expect(w.config.metricsPort).toBe(0);
    const schemas = await prisma.$queryRaw<{ nspname: string }[]>`SELECT nspname FROM pg_namespace WHERE nspname = 'pgboss'`;
    expect(schemas).toHaveLength(1);
    expect(await findSchemaDrift(db.url)).toEqual([]);
  });
});
