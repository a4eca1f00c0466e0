import { ConfigError } from '@mailroom/runtime';
import { describe, expect, it } from 'vitest';
import { argon2Params, configFromEnv, databaseOptionsFromEnv, parsePop3Env } from './config.ts';

describe('POP3 environment', () => {
  it('has documented defaults: no login delay, 10-minute idle timeout, plaintext auth off, metrics on 9101', () => {
    const c = configFromEnv(parsePop3Env({}));
    expect(c.loginDelaySeconds).toBe(0);
    expect(c.idleTimeoutMs).toBe(600_000);
    expect(c.authTimeoutMs).toBeLessThan(c.idleTimeoutMs);
    expect(c.allowPlaintextAuth).toBe(false);
    expect(c.metricsPort).toBe(9101);
    expect(c.maxLineOctets).toBeGreaterThanOrEqual(512);
  });

  it('POP3_PROXY_TRUSTED: off by default; addresses and CIDR ranges; anything else stops the start', () => {
    expect(configFromEnv(parsePop3Env({})).proxyTrusted?.none).toBe(true);
    const t = configFromEnv(parsePop3Env({ POP3_PROXY_TRUSTED: '10.0.0.0/8, 2001:db8::1' })).proxyTrusted!;
    expect([t.has('10.1.2.3'), t.has('2001:db8::1'), t.has('192.0.2.1')]).toEqual([true, true, false]);
    for (const bad of ['10.0.0.0/40', 'lb.example.com', '*'])
      expect(() => parsePop3Env({ POP3_PROXY_TRUSTED: bad }), bad).toThrow(ConfigError);
  });

  it('reads the named limits', () => {
    const c = configFromEnv(
      parsePop3Env({
        POP3_MAX_CONNECTIONS: '7',
        POP3_MAX_CONNECTIONS_PER_IP: '3',
        POP3_LOGIN_DELAY_S: '900',
        POP3_IDLE_TIMEOUT_S: '1800',
        POP3_AUTH_TIMEOUT_S: '30',
        POP3_MAX_LINE_OCTETS: '1024',
        POP3_MAX_BAD_COMMANDS: '5',
        POP3_ALLOW_PLAINTEXT_AUTH: 'true',
        POP3_METRICS_PORT: '0',
        POP3_THROTTLE_MAX_SLEEP_MS: '500',
      }),
    );
    expect(c).toMatchObject({
      maxConnections: 7,
      maxConnectionsPerIp: 3,
      loginDelaySeconds: 900,
      idleTimeoutMs: 1_800_000,
      authTimeoutMs: 30_000,
      maxLineOctets: 1024,
      maxBadCommands: 5,
      allowPlaintextAuth: true,
      metricsPort: 0,
      throttleMaxSleepMs: 500,
    });
    expect(configFromEnv(parsePop3Env({})).throttleMaxSleepMs).toBe(3_000);
    expect(argon2Params(parsePop3Env({ ARGON2_MAX_CONCURRENT: '2', ARGON2_MAX_QUEUE: '5' }))).toMatchObject({
      maxConcurrent: 2,
      maxQueue: 5,
    });
  });

  it('POP3_EXPIRE_DAYS: never by default, 0 (deleted once retrieved) or days; anything else names the variable', () => {
    expect(configFromEnv(parsePop3Env({})).retentionDays).toBeNull();
    expect(configFromEnv(parsePop3Env({ POP3_EXPIRE_DAYS: 'NEVER' })).retentionDays).toBeNull();
    expect(configFromEnv(parsePop3Env({ POP3_EXPIRE_DAYS: '' })).retentionDays).toBeNull();
    expect(configFromEnv(parsePop3Env({ POP3_EXPIRE_DAYS: '0' })).retentionDays).toBe(0);
    expect(configFromEnv(parsePop3Env({ POP3_EXPIRE_DAYS: ' 30 ' })).retentionDays).toBe(30);
    for (const bad of ['-1', '1.5', '36501', 'forever', '1e3', '0x10']) {
      expect(() => parsePop3Env({ POP3_EXPIRE_DAYS: bad }), bad).toThrow(/POP3_EXPIRE_DAYS/);
    }
  });

  it("refuses an idle timeout under RFC 1939's 10 minutes and names the variable", () => {
    expect(() => parsePop3Env({ POP3_IDLE_TIMEOUT_S: '60' })).toThrow(ConfigError);
    expect(() => parsePop3Env({ POP3_IDLE_TIMEOUT_S: '60' })).toThrow(/POP3_IDLE_TIMEOUT_S/);
    expect(() => parsePop3Env({ POP3_ALLOW_PLAINTEXT_AUTH: 'maybe' })).toThrow(/POP3_ALLOW_PLAINTEXT_AUTH/);
    expect(() => parsePop3Env({ POP3_MAX_LINE_OCTETS: '10' })).toThrow(/POP3_MAX_LINE_OCTETS/);
  });

  it('security limits: per-/64 clients, an auth deadline, a minimum download rate, bounded pools with an acquire timeout', () => {
    const env = parsePop3Env({});
    expect(configFromEnv(env)).toMatchObject({
      networkPrefixes: { ipv4Prefix: 32, ipv6Prefix: 64 },
      authDeadlineMs: 180_000,
      retrMinBytesPerSec: 4096,
      retrRateWindowMs: 60_000,
    });
    expect(databaseOptionsFromEnv(env)).toEqual({ connections: 20, streamConnections: 10, acquireTimeoutMs: 5000 });
    const set = parsePop3Env({
      POP3_IPV4_PREFIX: '24',
      POP3_IPV6_PREFIX: '56',
      POP3_AUTH_DEADLINE_S: '30',
      POP3_RETR_MIN_BYTES_PER_SEC: '0',
      POP3_RETR_RATE_WINDOW_S: '10',
      POP3_DB_CONNECTIONS: '8',
      POP3_STREAM_CONNECTIONS: '3',
      POP3_DB_ACQUIRE_TIMEOUT_MS: '250',
    });
    expect(configFromEnv(set)).toMatchObject({
      networkPrefixes: { ipv4Prefix: 24, ipv6Prefix: 56 },
      authDeadlineMs: 30_000,
      retrMinBytesPerSec: 0,
      retrRateWindowMs: 10_000,
    });
    expect(databaseOptionsFromEnv(set)).toEqual({ connections: 8, streamConnections: 3, acquireTimeoutMs: 250 });
    expect(() => parsePop3Env({ POP3_IPV6_PREFIX: '129' })).toThrow(/POP3_IPV6_PREFIX/);
    expect(() => parsePop3Env({ POP3_IPV4_PREFIX: '0' })).toThrow(/POP3_IPV4_PREFIX/);
    expect(() => parsePop3Env({ POP3_STREAM_CONNECTIONS: '0' })).toThrow(/POP3_STREAM_CONNECTIONS/);
  });

  it('METRICS_HOST: metrics stay on loopback when MAILROOM_HOST opens POP3 to every address, unless set', () => {
    const open = configFromEnv(parsePop3Env({ MAILROOM_HOST: '0.0.0.0' }));
    expect([open.host, open.metricsHost]).toEqual(['0.0.0.0', '127.0.0.1']);
    expect(configFromEnv(parsePop3Env({ MAILROOM_HOST: '0.0.0.0', METRICS_HOST: '10.0.0.5' })).metricsHost).toBe('10.0.0.5');
    expect(() => parsePop3Env({ METRICS_HOST: '   ' })).toThrow(/METRICS_HOST/);
  });
});
