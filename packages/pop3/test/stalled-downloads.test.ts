import type { PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPop3Database, type Pop3Database } from '../src/database.ts';
import type { PrismaMaildropStore } from '../src/prisma-store.ts';
import {
  createMaildrop,
  deliver,
  eventually,
  makeMessage,
  Pop3TestClient,
  testStore,
  useTestDatabase,
  withServer,
  type TestMaildrop,
} from './helpers.ts';

/**
 * Larger than what a client that stops reading lets through before the server's writes stall: on loopback the kernel
 * takes about 4 MB (send buffer + the client's receive buffer), so with 6 MB a stalled download really holds its
 * stream connection (the COPY is only done once the last row has been handed to the POP3 socket).
 */
const LARGE_OCTETS = 6 * 1024 * 1024;

function largeMessage(): Buffer {
  const line = `${'x'.repeat(76)}\r\n`;
  return makeMessage({ subject: 'large', body: line.repeat(Math.ceil(LARGE_OCTETS / line.length)) });
}

/** Copies one stored message into each mailbox in SQL (as ingress would deliver it: next uid, usage counters). */
async function copyMessageInto(prisma: PrismaClient, sourceId: string, mailboxIds: string[]): Promise<void> {
  await prisma.$executeRaw`
    WITH targets AS (
      UPDATE mailboxes m SET next_uid = next_uid + 1, used_bytes = used_bytes + s.size_octets, message_count = message_count + 1
      FROM messages s WHERE s.id = ${sourceId}::uuid AND m.id = ANY(${mailboxIds}::uuid[])
      RETURNING m.id AS mailbox_id, m.next_uid - 1 AS uid
    )
    INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw)
    SELECT gen_random_uuid(), t.mailbox_id, t.uid, lpad(to_hex(t.uid), 8, '0') || substr(md5(random()::text), 1, 8), s.size_octets, s.raw
    FROM targets t, messages s WHERE s.id = ${sourceId}::uuid`;
}

/** Logs in and asks for message 1 without ever reading the answer. */
async function stallRetr(port: number, md: TestMaildrop): Promise<Pop3TestClient> {
  const c = await Pop3TestClient.connect(port);
  await c.greeting();
  expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
  c.socket.pause();
  c.write('RETR 1\r\n');
  return c;
}

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

let db: Pop3Database;
const STREAM_CONNECTIONS = 4;

beforeAll(() => {
  // the POP3 process's two pools, as main.ts builds them (small, so 200 stalled downloads are far more than they hold)
  db = openPop3Database(testDatabaseUrl(), { connections: 6, streamConnections: STREAM_CONNECTIONS, acquireTimeoutMs: 1500 }, 'pop3-test');
});
// after hooks run in reverse order (vitest's default sequence.hooks 'stack'): db closes before the test client
afterAll(async () => {
  await db.close();
});

function productionStore(): PrismaMaildropStore {
  return testStore(db.prisma, { pool: db.streamPool });
}

describe('stalled downloads (a client that stops reading mid-RETR)', () => {
  it('200 sessions stalled mid-RETR of a large message: a new login still answers, and downloads beyond the stream share get [SYS/TEMP]', async () => {
    const stalled = await Promise.all(Array.from({ length: 200 }, () => createMaildrop(prisma)));
    const first = await deliver(prisma, stalled[0]!.mailboxId, largeMessage());
    await copyMessageInto(
      prisma,
      first.id,
      stalled.slice(1).map((m) => m.mailboxId),
    );
    const victim = await createMaildrop(prisma);
    await deliver(prisma, victim.mailboxId, makeMessage({ subject: 'small' }));

    await withServer(
      prisma,
      {},
      async (srv) => {
        const clients: Pop3TestClient[] = [];
        try {
          for (let i = 0; i < stalled.length; i += 20) {
            clients.push(...(await Promise.all(stalled.slice(i, i + 20).map((md) => stallRetr(srv.port, md)))));
          }
          // the attack is in effect: every stream connection is held by a download that does not move
          await eventually(async () => db.streamPool.totalCount === STREAM_CONNECTIONS && db.streamPool.idleCount === 0);

          const c = await Pop3TestClient.connect(srv.port);
          expect(await c.greeting()).toMatch(/^\+OK/);
          expect(await c.login(victim.address, victim.password)).toBe('+OK Logged in.');
          expect(await c.cmd('STAT')).toMatch(/^\+OK 1 \d+$/);
          // no stream connection frees up, so this download waits POP3_DB_ACQUIRE_TIMEOUT_MS and is told to retry
          expect(await c.cmd('RETR 1')).toBe('-ERR [SYS/TEMP] Temporary server failure, try again later.');
          expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
          await c.closed();
        } finally {
          for (const c of clients) c.destroy();
        }
      },
      { store: productionStore() },
    );
    expect(await prisma.message.count({ where: { mailboxId: { in: stalled.map((m) => m.mailboxId) } } })).toBe(stalled.length);
  }, 180_000);

  it('POP3_RETR_MIN_BYTES_PER_SEC: a download that stops moving is cut; nothing is deleted and the maildrop is free again', async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, largeMessage());
    await deliver(prisma, md.mailboxId, makeMessage({ subject: 'marked' }));
    await withServer(
      prisma,
      // a 2 s window: the client reading below runs in this process, so a shorter one could cut it during a stall of
      // the whole process on a loaded machine
      { retrMinBytesPerSec: 100_000, retrRateWindowMs: 2000 },
      async (srv) => {
        const c = await Pop3TestClient.connect(srv.port);
        await c.greeting();
        expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
        expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
        c.socket.pause();
        c.write('RETR 1\r\n');
        await eventually(async () =>
          /mailroom_pop3_slow_transfers_cut_total 1/.test(
            await srv.server.metrics.registry.getSingleMetricAsString('mailroom_pop3_slow_transfers_cut_total'),
          ),
        );
        c.socket.resume();
        await c.closed();
        expect(c.rest()).toMatch(/^\+OK \d+ octets\r\n/);
        expect(c.rest().endsWith('\r\n.\r\n')).toBe(false);
        await eventually(async () => (await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })) === 0);
        expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(2);
        // a client that keeps reading is not cut
        const d = await Pop3TestClient.connect(srv.port);
        await d.greeting();
        expect(await d.login(md.address, md.password)).toBe('+OK Logged in.');
        expect((await d.multi('RETR 1')).body.length).toBeGreaterThan(LARGE_OCTETS);
        expect(await d.cmd('QUIT')).toBe('+OK Logging out.');
      },
      { store: productionStore() },
    );
  }, 60_000);
});

describe('PostgreSQL closing the stream connections (a restart, pg_terminate_backend)', () => {
  const streamBackends = async () =>
    prisma.$queryRaw<
      { pid: number; state: string; wait_event: string | null }[]
    >`SELECT pid, state, wait_event FROM pg_stat_activity WHERE application_name = 'pop3-test-stream'`;
  const terminateStreamBackends = () =>
    prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pop3-test-stream'`;

  it('mid-download the session is closed, idle the connection is dropped; the process goes on and the next RETR is whole', async () => {
    const md = await createMaildrop(prisma);
    // far more than the sockets and the server's buffers take, so the COPY is still running while the client stalls
    const line = `${'y'.repeat(76)}\r\n`;
    const large = makeMessage({ subject: 'very large', body: line.repeat(Math.ceil((32 * 1024 * 1024) / line.length)) });
    await deliver(prisma, md.mailboxId, large);
    await withServer(
      prisma,
      {},
      async (srv) => {
        // a download held mid-COPY by a client that stops reading; PostgreSQL ends its connection
        const stalled = await stallRetr(srv.port, md);
        // mid-download: PostgreSQL blocked writing to the POP3 process (ClientWrite), which has stopped asking for
        // chunks behind the stalled client, so the first chunk and the +OK are out. 'active' alone is not enough: on a
        // loaded machine the COPY could still be starting, and ending it then is a failure before the +OK, which gets
        // -ERR [SYS/TEMP] with the session going on (CI94 saw exactly that)
        await eventually(async () => (await streamBackends()).some((b) => b.state === 'active' && b.wait_event === 'ClientWrite'));
        await terminateStreamBackends();
        stalled.socket.resume();
        // the multi-line answer cannot be finished, so the server closes the connection rather than end it with "."
        await stalled.closed();
        expect(stalled.rest()).not.toMatch(/\r\n\.\r\n$/);

        const c = await Pop3TestClient.connect(srv.port);
        await c.greeting();
        expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
        const first = await c.multi('RETR 1');
        expect(first.status).toMatch(/^\+OK/);
        expect(first.body.equals(large)).toBe(true);
        // that stream connection now waits idle in the pool: PostgreSQL ends it too, and the pool drops it
        await eventually(async () => (await streamBackends()).length > 0);
        await terminateStreamBackends();
        await eventually(async () => db.streamPool.totalCount === 0);
        const again = await c.multi('RETR 1');
        expect(again.status).toMatch(/^\+OK/);
        expect(again.body.equals(large)).toBe(true);
        expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
        await c.closed();
      },
      { store: productionStore() },
    );
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
  }, 120_000);
});
