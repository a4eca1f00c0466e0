import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createNotificationListener } from './listen.ts';
import { newId } from './ids.ts';
import { testDatabaseUrl, uniqueName } from './testing/index.ts';

const url = testDatabaseUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('credential change notifications (triggers + createNotificationListener)', () => {
  it('notifies key revocation and user disable at commit, never for a rolled-back change or a routine write', async () => {
    const heard: string[] = [];
    const listener = createNotificationListener({
      connectionString: url,
      channels: ['mailroom_credentials'],
      onNotification: (_c, p) => heard.push(p),
    });
    try {
      await listener.ready();
      const userId = newId();
      const keyId = newId();
      await admin.query(`INSERT INTO users (id, email, password_hash, role, updated_at) VALUES ($1, $2, 'x', 'OWNER', now())`, [
        userId,
        `${uniqueName()}@example.com`,
      ]);
      await admin.query(`INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes) VALUES ($1, $2, 'k', $3, 'h', '{}')`, [
        keyId,
        userId,
        uniqueName('p'),
      ]);
      // routine writes: last use, last login
      await admin.query('UPDATE api_keys SET last_used_at = now(), last_used_ip = $2 WHERE id = $1', [keyId, '10.0.0.1']);
      await admin.query('UPDATE users SET last_login_at = now() WHERE id = $1', [userId]);
      // a revocation rolled back
      const c = await admin.connect();
      try {
        await c.query('BEGIN');
        await c.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
        await new Promise((r) => setTimeout(r, 100));
        expect(heard, 'nothing before commit').toEqual([]);
        await c.query('ROLLBACK');
      } finally {
        c.release();
      }
      await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
      await until(() => heard.length >= 1);
      await admin.query('UPDATE users SET disabled = true WHERE id = $1', [userId]);
      await until(() => heard.length >= 2);
      await admin.query('DELETE FROM users WHERE id = $1', [userId]);
      await until(() => heard.length >= 4);
      expect(heard.slice(0, 2)).toEqual([`api_key:${keyId}`, `user:${userId}`]);
      // deleting the user cascades to its keys: both are announced
      expect(heard.slice(2).sort()).toEqual([`api_key:${keyId}`, `user:${userId}`].sort());
    } finally {
      await listener.close();
    }
  });

  it('reconnects after its connection is killed, reporting the gap so caches start afresh', async () => {
    const states: boolean[] = [];
    const heard: string[] = [];
    const app = uniqueName('mailroom-listen-');
    const listener = createNotificationListener({
      connectionString: url,
      channels: ['mailroom_credentials'],
      applicationName: app,
      retryDelayMs: 50,
      onNotification: (_c, p) => heard.push(p),
      onState: (s) => states.push(s),
      onError: () => undefined,
    });
    try {
      await listener.ready();
      expect(listener.listening).toBe(true);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
      await until(() => states.length >= 3);
      expect(states.slice(0, 3)).toEqual([true, false, true]);
      expect(listener.listening).toBe(true);
      await admin.query(`SELECT pg_notify('mailroom_credentials', 'user:after-reconnect')`);
      await until(() => heard.includes('user:after-reconnect'));
    } finally {
      await listener.close();
    }
    expect(listener.listening).toBe(false);
  });
});
