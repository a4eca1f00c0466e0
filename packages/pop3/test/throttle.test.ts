import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountKey } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { createMaildrop, openPrisma, Pop3TestClient, startServer, type TestServer } from './helpers.ts';

let prisma: PrismaClient;
let srv: TestServer;

beforeAll(async () => {
  prisma = openPrisma();
  srv = await startServer(prisma);
});
afterAll(async () => {
  await srv.close();
  await prisma.$disconnect();
});

async function failures(login: string) {
  return (await prisma.authThrottle.findUnique({ where: { key: accountKey(login) } }))?.failures ?? 0;
}

describe('brute-force throttling', () => {
  it('adds a growing delay after repeated distinct wrong passwords, without changing the reply', async () => {
    const md = await createMaildrop(prisma);
    const before = srv.delays.length;
    const replies = [];
    for (let i = 0; i < 6; i++) {
      const a = await Pop3TestClient.connect(srv.port);
      await a.greeting();
      replies.push(await a.login(md.address, `guess-${i}`));
      a.destroy();
    }
    expect(new Set(replies)).toEqual(new Set(['-ERR [AUTH] Authentication failed.']));
    expect(await failures(md.address)).toBe(6);
    // the server asked to wait before answering, and the wait grew
    const asked = srv.delays.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.at(-1)!).toBeGreaterThanOrEqual(2000);
    for (let i = 1; i < asked.length; i++) expect(asked[i]!).toBeGreaterThanOrEqual(asked[i - 1]!);
    // the right password still works (delay, not lockout) and clears the account's count
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    expect(await failures(md.address)).toBe(0);
    c.destroy();
  });

  it('does not count repeats of the same stale password (a phone retrying must not lock out the owner)', async () => {
    const md = await createMaildrop(prisma);
    for (let i = 0; i < 8; i++) {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, 'old-password')).toBe('-ERR [AUTH] Authentication failed.');
      c.destroy();
    }
    expect(await failures(md.address)).toBe(1);
  });

  it('throttles unknown accounts exactly like known ones', async () => {
    const md = await createMaildrop(prisma);
    const ghost = `ghost@${md.domain}`;
    for (let i = 0; i < 4; i++) {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(ghost, `guess-${i}`)).toBe('-ERR [AUTH] Authentication failed.');
      c.destroy();
    }
    expect(await failures(ghost)).toBe(4);
  });

});
