import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mailroom/runtime';
import { parseSupervisorEnv } from './config.ts';

describe('npm start settings', () => {
  it('defaults: every service, auto log format, 0.5 s to 30 s backoff, 5 crashes in 60 s', () => {
    const env = parseSupervisorEnv({});
    expect(env.SUPERVISOR_SERVICES).toEqual(['api', 'pop3', 'ingress', 'worker', 'web']);
    expect(env.LOG_FORMAT).toBe('auto');
    expect([env.SUPERVISOR_BACKOFF_MIN_MS, env.SUPERVISOR_BACKOFF_MAX_MS]).toEqual([500, 30_000]);
    expect([env.SUPERVISOR_CRASH_LOOP_RESTARTS, env.SUPERVISOR_CRASH_LOOP_WINDOW_MS]).toEqual([5, 60_000]);
  });

  it('takes a subset of services in start order and LOG_FORMAT in any case', () => {
    const env = parseSupervisorEnv({ SUPERVISOR_SERVICES: ' web, api ', LOG_FORMAT: 'JSON' });
    expect(env.SUPERVISOR_SERVICES).toEqual(['api', 'web']);
    expect(env.LOG_FORMAT).toBe('json');
  });

  it('refuses an unknown service, log format or a zero backoff, naming the variable', () => {
    for (const [name, value] of [
      ['SUPERVISOR_SERVICES', 'api,smtp'],
      ['LOG_FORMAT', 'yaml'],
      ['SUPERVISOR_BACKOFF_MIN_MS', '0'],
    ] as const) {
      let err: unknown;
      try {
        parseSupervisorEnv({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(name);
    }
  });
});
