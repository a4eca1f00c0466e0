import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseEnvSchema,
  boolSchema,
  ConfigError,
  domainOnboardingConfig,
  parseEnv,
  sizeThreadPoolForArgon2,
  threadPoolSize,
} from './env.ts';

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const env = parseEnv(baseEnvSchema, {});
    expect(env).toMatchObject({
      MAILROOM_HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      WEB_PORT: 3000,
      API_PORT: 3001,
      POP3_PORT: 1110,
      POP3S_PORT: 1995,
      LMTP_PORT: 2424,
      SMTP_PORT: 2525,
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.MAILROOM_DATA_DIR).toMatch(/\.mailroom$/);
  });

  it('names every bad variable without echoing its value', () => {
    let err: unknown;
    try {
      parseEnv(baseEnvSchema, {
        API_PORT: 'seventy',
        POP3_PORT: '70000',
        DATABASE_URL: 'mysql://secret-password@db',
        ARGON2_TIME_COST: '0',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['API_PORT', 'POP3_PORT', 'DATABASE_URL', 'ARGON2_TIME_COST']) expect(msg).toContain(name);
    expect(msg).not.toContain('secret-password');
  });

  it('refuses a MAILROOM_SECRET shorter than 32 characters without echoing it', () => {
    expect(() => parseEnv(baseEnvSchema, { MAILROOM_SECRET: 'short-secret-value' })).toThrow(/MAILROOM_SECRET: must be at least 32/);
    let msg = '';
    try {
      parseEnv(baseEnvSchema, { MAILROOM_SECRET: 'short-secret-value' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).not.toContain('short-secret-value');
    expect(parseEnv(baseEnvSchema, { MAILROOM_SECRET: 'a'.repeat(32) }).MAILROOM_SECRET).toHaveLength(32);
    expect(parseEnv(baseEnvSchema, { MAILROOM_SECRET: '' }).MAILROOM_SECRET).toBeUndefined();
  });

  it('binds the metrics listeners to loopback unless METRICS_HOST says otherwise', () => {
    expect(parseEnv(baseEnvSchema, { MAILROOM_HOST: '0.0.0.0' }).METRICS_HOST).toBe('127.0.0.1');
    expect(parseEnv(baseEnvSchema, { METRICS_HOST: '0.0.0.0' }).METRICS_HOST).toBe('0.0.0.0');
  });

  it('parses booleans strictly', () => {
    expect(parseEnv(z.object({ FLAG: boolSchema }), { FLAG: 'on' }).FLAG).toBe(true);
    expect(() => parseEnv(z.object({ FLAG: boolSchema }), { FLAG: 'perhaps' })).toThrow(/FLAG/);
    expect(boolSchema.parse('yes')).toBe(true);
    expect(boolSchema.parse('0')).toBe(false);
    expect(boolSchema.safeParse('maybe').success).toBe(false);
  });
});

describe('domain onboarding settings', () => {
  it('default to the public host, ports 110/995, the system resolver and 72-hour claims', () => {
    expect(domainOnboardingConfig(parseEnv(baseEnvSchema, { MAILROOM_PUBLIC_HOST: 'mail.example.net' }))).toEqual({
      mxHosts: [{ host: 'mail.example.net', priority: 10 }],
      mailHost: 'mail.example.net',
      webHost: 'mail.example.net',
      pop3Port: 110,
      pop3sPort: 995,
      claimTtlHours: 72,
      mtaStsMaxAgeSeconds: 604_800,
      dns: { servers: [], timeoutMs: 5000 },
    });
    const set = parseEnv(baseEnvSchema, {
      MAILROOM_MX_HOST: 'mx.example.net',
      MAILROOM_WEB_HOST: 'panel.example.net',
      MAILROOM_DNS_SERVERS: '127.0.0.1:5353,[::1]:53',
      MAILROOM_DNS_TIMEOUT_MS: '300',
      DOMAIN_CLAIM_TTL_HOURS: '24',
      MTA_STS_MAX_AGE_S: '86400',
    });
    expect(domainOnboardingConfig(set)).toMatchObject({
      mxHosts: [{ host: 'mx.example.net', priority: 10 }],
      mailHost: '127.0.0.1',
      webHost: 'panel.example.net',
      claimTtlHours: 24,
      mtaStsMaxAgeSeconds: 86_400,
      dns: { servers: ['127.0.0.1:5353', '[::1]:53'], timeoutMs: 300 },
    });
  });

  it('refuse DNS servers given by name, bad ports and silly timeouts, naming the variable', () => {
    for (const env of [
      { MAILROOM_DNS_SERVERS: 'dns.google' },
      { MAILROOM_DNS_SERVERS: '127.0.0.1:70000' },
      { MAILROOM_DNS_TIMEOUT_MS: '0' },
      { DOMAIN_CLAIM_TTL_HOURS: '0' },
      { MTA_STS_MAX_AGE_S: '3600' },
      { MTA_STS_MAX_AGE_S: '31557601' },
    ]) {
      expect(() => parseEnv(baseEnvSchema, env)).toThrow(new RegExp(Object.keys(env)[0]!));
    }
  });
});

describe('sizeThreadPoolForArgon2', () => {
  it('gives libuv at least one thread per core (and never fewer than its default 4), unless the operator set a size', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(sizeThreadPoolForArgon2(env)).toBe(Math.max(4, os.availableParallelism()));
    expect(env.UV_THREADPOOL_SIZE).toBe(String(Math.max(4, os.availableParallelism())));
    expect(sizeThreadPoolForArgon2({ UV_THREADPOOL_SIZE: '7' })).toBe(7);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'lots' })).toBe(4);
  });
});

describe('MAILROOM_MX_HOST', () => {
  const parse = (v: string) => domainOnboardingConfig(parseEnv(baseEnvSchema, { MAILROOM_MX_HOST: v })).mxHosts;

  it('hosts without a priority get 10, 20, 30 in their order; given ones are kept; the list is sorted by priority', () => {
    expect(parse('a.example.net, b.example.net,c.example.net')).toEqual([
      { host: 'a.example.net', priority: 10 },
      { host: 'b.example.net', priority: 20 },
      { host: 'c.example.net', priority: 30 },
    ]);
    expect(parse('5 b.example.net, 5 a.example.net, 0 c.example.net')).toEqual([
      { host: 'c.example.net', priority: 0 },
      { host: 'b.example.net', priority: 5 },
      { host: 'a.example.net', priority: 5 },
    ]);
    // unset: the public host, alone
    expect(domainOnboardingConfig(parseEnv(baseEnvSchema, { MAILROOM_PUBLIC_HOST: 'Mail.Example.net.' })).mxHosts).toEqual([
      { host: 'mail.example.net', priority: 10 },
    ]);
  });

  it('refuses what no MX record can hold, naming the variable and the entry', () => {
    for (const [value, reason] of [
      ['192.0.2.1', 'IP address'],
      ['[2001:db8::1]', 'IP address'],
      ['10 2001:db8::1', 'IP address'],
      ['localhost', 'not a host name'],
      ['mx_1.example.net', 'not a host name'],
      ['-mx.example.net', 'not a host name'],
      ['mx.example.123', 'not a host name'],
      [`${'a'.repeat(64)}.example.net`, 'not a host name'],
      ['70000 mx.example.net', 'over 65535'],
      ['-1 mx.example.net', 'not "host" or "priority host"'],
      ['mx.example.net 10', 'not "host" or "priority host"'],
      ['mx.example.net, MX.example.net.', 'given twice'],
      [Array.from({ length: 11 }, (_, i) => `mx${i}.example.net`).join(','), 'at most 10'],
      [',', 'names no host'],
    ]) {
      expect(() => parse(value!), value).toThrow(/MAILROOM_MX_HOST/);
      expect(() => parse(value!), value).toThrow(reason!);
    }
  });
});
