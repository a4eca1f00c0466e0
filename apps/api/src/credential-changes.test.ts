import { createPasswordHasher } from '@mailroom/core';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { ConfigError, parseEnv } from '@mailroom/runtime';
import { within } from '@mailroom/runtime/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { apiEnvSchema, defaultApiConfig } from './config.ts';
import { listenForCredentialChanges, parseCredentialChange, type CredentialChangeFeed } from './credential-changes.ts';
import { call, createKey, createUser, login, TEST_ARGON2 } from './testing.ts';

// Two API "processes" (two apps, each with its own pool and its own LISTEN connection) on one database, with a
// minute-long key cache: without the change feed, a revocation through one would reach the other only after a minute.
const hasher = createPasswordHasher(TEST_ARGON2);
const config = defaultApiConfig({ throttleSleepMaxMs: 0, argon2: TEST_ARGON2, apiKeyCacheMs: 60_000 });
interface Proc {
  app: FastifyInstance;
  hasher: typeof hasher;
  prisma: PrismaClient;
  feed: CredentialChangeFeed;
}
async function startProcess(listenUrl = testDatabaseUrl()): Promise<Proc> {
  const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 3 });
  const feed = listenForCredentialChanges(listenUrl);
  await feed.ready().catch(() => undefined);
  const app = await buildApp({ prisma, hasher, secret: 'test-secret', config, credentialChanges: feed });
  await app.ready();
  return { app, prisma, feed, hasher };
}
const procs: Proc[] = [];
let a: Proc;
let b: Proc;
const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });

/** Changes an API key's row without firing the triggers (as a restore or a replica might): only caches can hide it. */
async function silentlyRevoke(keyId: string): Promise<void> {
  const c = await admin.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    await c.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  procs.push((a = await startProcess()), (b = await startProcess()));
});
afterAll(async () => {
  for (const p of procs) {
    await p.app.close();
    await p.feed.close();
    await p.prisma.$disconnect();
  }
  await admin.end();
});

async function ownerWithKey(p: Proc) {
  const o = await createUser(p);
  const key = await createKey(p.prisma, o.id, ['domains:read']);
  const keyId = (await p.prisma.apiKey.findFirstOrThrow({ where: { userId: o.id } })).id;
  return { ...o, key, keyId };
}
const status = async (p: Proc, key: string) => (await call(p.app, { key }, 'GET', '/api/v1/domains')).statusCode;

describe('API key cache across API processes (LISTEN/NOTIFY)', () => {
  it('a key revoked through one process is refused by the other within 1 s', async () => {
    const o = await ownerWithKey(a);
    expect(await status(b, o.key)).toBe(200); // B caches it
    expect(await status(b, o.key)).toBe(200);
    const s = await login(a.app, o.email, o.password);
    expect((await call(a.app, s, 'DELETE', `/api/v1/api-keys/${o.keyId}`)).statusCode).toBe(200);
    expect(await status(a, o.key)).toBe(401);
    await within(1_000, async () => (await status(b, o.key)) === 401, 'revoked key refused by the other process');
  });

  it('an owner disabled or deleted through one process loses their keys on the other within 1 s', async () => {
    const adminUser = await createUser(a, { role: 'ADMIN' });
    const as = await login(a.app, adminUser.email, adminUser.password);
    const disabled = await ownerWithKey(a);
    const deleted = await ownerWithKey(a);
    expect(await status(b, disabled.key)).toBe(200);
    expect(await status(b, deleted.key)).toBe(200);
    expect((await call(a.app, as, 'PATCH', `/api/v1/owners/${disabled.id}`, { disabled: true })).statusCode).toBe(200);
    expect((await call(a.app, as, 'DELETE', `/api/v1/owners/${deleted.id}`)).statusCode).toBeLessThan(300);
    await within(1_000, async () => (await status(b, disabled.key)) === 401, 'disabled owner refused');
    await within(1_000, async () => (await status(b, deleted.key)) === 401, 'deleted owner refused');
  });

  it('a change made outside the API (SQL, CLI) reaches every process too', async () => {
    const o = await ownerWithKey(a);
    expect(await status(b, o.key)).toBe(200);
    await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [o.keyId]);
    await within(1_000, async () => (await status(b, o.key)) === 401, 'key revoked by SQL refused');
  });

  it('caches while the feed is live; without a live feed every request reads the database (no stale key)', async () => {
    // live: a change the triggers do not announce stays hidden by the cache (proof the cache is in use) …
    const cached = await ownerWithKey(a);
    expect(await status(b, cached.key)).toBe(200);
    await silentlyRevoke(cached.keyId);
    expect(await status(b, cached.key)).toBe(200);
    // … while a process whose feed cannot connect caches nothing and sees the same kind of change at once.
    const url = new URL(testDatabaseUrl());
    url.port = '1';
    const down = await startProcess(url.toString());
    procs.push(down);
    expect(down.feed.live).toBe(false);
    const o = await ownerWithKey(a);
    expect(await status(down, o.key)).toBe(200);
    expect(await status(down, o.key)).toBe(200);
    await silentlyRevoke(o.keyId);
    expect(await status(down, o.key)).toBe(401);
  });

  it('payloads it does not understand drop the whole cache (fail safe)', () => {
    expect(parseCredentialChange('api_key:0191e6f4-0000-7000-8000-000000000000')).toEqual({
      kind: 'api_key',
      id: '0191e6f4-0000-7000-8000-000000000000',
    });
    expect(parseCredentialChange('user:x')).toEqual({ kind: 'all' });
    expect(parseCredentialChange('')).toEqual({ kind: 'all' });
  });
});

describe('API_DB_CONNECTIONS and DATABASE_DIRECT_URL', () => {
  it('default to 10 and DATABASE_URL; bad values stop the API naming the variable, never echoing the URL', () => {
    const defaults = parseEnv(apiEnvSchema, {});
    expect(defaults.API_DB_CONNECTIONS).toBe(10);
    expect(defaults.DATABASE_DIRECT_URL).toBeUndefined();
    expect(parseEnv(apiEnvSchema, { API_DB_CONNECTIONS: '3', DATABASE_DIRECT_URL: 'postgresql://u:p@db:5432/m' })).toMatchObject({
      API_DB_CONNECTIONS: 3,
    });
    for (const [name, value] of [
      ['API_DB_CONNECTIONS', '0'],
      ['API_DB_CONNECTIONS', '1001'],
      ['API_DB_CONNECTIONS', 'many'],
      ['DATABASE_DIRECT_URL', 'mysql://u:secretpw@db/m'],
    ]) {
      const err = (() => {
        try {
          parseEnv(apiEnvSchema, { [name!]: value! });
        } catch (e) {
          return e;
        }
      })();
      expect(err, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(name);
      expect((err as Error).message).not.toContain('secretpw');
    }
  });
});
