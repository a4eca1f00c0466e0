// The one health/metrics listener (POP3, ingress and the worker serve it; the API answers the same paths itself).
import { afterEach, describe, expect, test } from 'vitest';
import { createOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.ts';

let server: OpsServer | undefined;
afterEach(async () => server?.close());

async function start(opts: Partial<OpsServerOptions> = {}): Promise<string> {
  server = createOpsServer({
    host: '127.0.0.1',
    port: 0,
    ready: async () => true,
    metrics: { contentType: 'text/plain; version=0.0.4', metrics: async () => '# HELP mailroom_test_total t\n' },
    ...opts,
  });
  return `http://127.0.0.1:${await server.listen()}`;
}

describe('createOpsServer', () => {
  test('serves /healthz, /readyz and /metrics; 404 elsewhere; 405 for other methods', async () => {
    const base = await start();
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz?probe=1`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await metrics.text()).toMatch(/^# HELP mailroom_test_total/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
  });

  test('/readyz is 503 when not ready, and 503 "unavailable" without the error text when the check fails', async () => {
    let answer: () => Promise<boolean> = async () => false;
    const base = await start({ ready: () => answer() });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'not ready' });
    answer = async () => {
      throw new Error('connect ECONNREFUSED db.internal:5432 user=mailroom');
    };
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('{"status":"unavailable"}');
  });

  test('a failing metrics source is a 500, and the listener keeps serving', async () => {
    const base = await start({ metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) } });
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test('close() returns with a keep-alive client still connected, and is safe to call twice', async () => {
    const base = await start();
    expect((await fetch(`${base}/healthz`, { headers: { connection: 'keep-alive' } })).status).toBe(200);
    await server!.close();
    await server!.close();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
