import { ConfigError } from '@mailroom/runtime';
import { describe, expect, test } from 'vitest';
import { loadWorkerEnv, workerConfigFromEnv } from './config.ts';

describe('worker environment', () => {
  test('defaults: re-check every 6 hours, claims pruned hourly, metrics on 9103 (loopback)', () => {
    const config = workerConfigFromEnv(loadWorkerEnv({ MAILROOM_PUBLIC_HOST: 'mail.example.net' }));
    expect(config).toMatchObject({
      metricsHost: '127.0.0.1',
      metricsPort: 9103,
      schedules: { 'domains.recheck': '0 */6 * * *', 'domains.prune-claims': '0 * * * *', 'messages.expire': '30 * * * *' },
      recheck: { batchSize: 100, minAgeHours: 1 },
      retention: { defaultRetentionDays: null, batchSize: 500 },
      onboarding: {
        mxHosts: [{ host: 'mail.example.net', priority: 10 }],
        mtaStsMaxAgeSeconds: 604_800,
        dns: { servers: [], timeoutMs: 5000 },
      },
      queueConnections: 2,
    });
  });

  test.each([
    ['WORKER_DNS_RECHECK_CRON', 'every 6 hours'],
    ['WORKER_DNS_RECHECK_CRON', '0 0 */6 * * *'],
    ['WORKER_PRUNE_CLAIMS_CRON', '61 * * * *'],
    ['WORKER_PRUNE_CLAIMS_CRON', ''],
    ['WORKER_DNS_RECHECK_BATCH', '0'],
    ['WORKER_DNS_RECHECK_MIN_AGE_HOURS', '-1'],
    ['WORKER_METRICS_PORT', '70000'],
    ['WORKER_RETENTION_CRON', 'hourly'],
    ['POP3_EXPIRE_DAYS', '-1'],
    ['POP3_EXPIRE_DAYS', '1.5'],
    ['POP3_EXPIRE_DAYS', '99999'],
  ])('%s=%j is a ConfigError naming the variable', (name, value) => {
    let thrown: unknown;
    try {
      loadWorkerEnv({ [name]: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(name);
  });

  test('cron settings are trimmed and passed on as given', () => {
    const env = loadWorkerEnv({
      WORKER_DNS_RECHECK_CRON: ' 15 3 * * 1-5 ',
      WORKER_PRUNE_CLAIMS_CRON: '*/10 * * * *',
      WORKER_DB_CONNECTIONS: '6',
    });
    expect(workerConfigFromEnv(env)).toMatchObject({
      schedules: { 'domains.recheck': '15 3 * * 1-5', 'domains.prune-claims': '*/10 * * * *' },
      queueConnections: 3,
    });
  });
});
