// The entry as `npm start` and compose run it: a child process that reports "listening", serves /healthz, /readyz and
// /metrics, and stops cleanly on SIGTERM.
import { fileURLToPath } from 'node:url';
import { startEntry } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { workerTestDatabase } from './testing/harness.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let db: Awaited<ReturnType<typeof workerTestDatabase>>;

const baseEnv = () => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  DATABASE_URL: db.url,
  WORKER_METRICS_PORT: '0',
  MAILROOM_DNS_SERVERS: '127.0.0.1:9',
  WORKER_DNS_RECHECK_CRON: '30 2 * * *',
});

describe('worker entry (src/main.ts)', () => {
  beforeAll(async () => {
    db = await workerTestDatabase('worker_main');
  });
  afterAll(async () => db?.drop());

  test('reaches "listening", answers /healthz, /readyz and /metrics, stores its schedules and stops with code 0 on SIGTERM', async () => {
    const entry = await startEntry(MAIN, baseEnv());
    try {
      const port = entry.listening.metricsPort as number;
      expect(entry.listening).toMatchObject({
        name: 'worker',
        schedules: { 'domains.recheck': '30 2 * * *', 'domains.prune-claims': '0 * * * *' },
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^# HELP mailroom_worker_jobs_total /m);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status).toBe(405);
      const stored = await db.prisma.$queryRaw<
        { name: string; cron: string; timezone: string }[]
      >`SELECT name, cron, timezone FROM pgboss.schedule ORDER BY name`;
      expect(stored).toEqual([
        { name: 'delivery-log.prune', cron: '15 * * * *', timezone: 'UTC' },
        { name: 'domains.prune-claims', cron: '0 * * * *', timezone: 'UTC' },
        { name: 'domains.recheck', cron: '30 2 * * *', timezone: 'UTC' },
        { name: 'messages.expire', cron: '30 * * * *', timezone: 'UTC' },
        { name: 'sign-in-log.prune', cron: '45 * * * *', timezone: 'UTC' },
      ]);
    } finally {
      await entry.stop();
    }
    expect(await entry.exited).toBe(0);
    expect(entry.lines.map((l) => l.msg)).toContain('stopped');
  });

  test('a bad cron setting stops the start with a message naming the variable (and never the database URL)', async () => {
    const started = startEntry(MAIN, { ...baseEnv(), WORKER_PRUNE_CLAIMS_CRON: 'hourly' });
    await expect(started).rejects.toThrow(
      /exited 1: mailroom worker: invalid configuration:\s+WORKER_PRUNE_CLAIMS_CRON: must be a five-field cron/,
    );
    await expect(started).rejects.not.toThrow(db.url);
  });
});
