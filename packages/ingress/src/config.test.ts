import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES, ingressConfigFromEnv, loadIngressEnv } from './config.ts';

describe('ingress environment', () => {
  it('has working defaults and maps every setting into the config', () => {
    const env = loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: ' abuse-desk@ops.example ', INGRESS_QUOTA_REPLY: 'permanent' });
    const config = ingressConfigFromEnv(env, 'mx.example');
    expect(config).toMatchObject({
      lmtpPort: 2424,
      smtpPort: 2525,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      quotaReply: 'permanent',
      hostname: 'mx.example',
      postmasterAddress: 'abuse-desk@ops.example',
    });
    expect(ingressConfigFromEnv(loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: '' }), 'h').postmasterAddress).toBeUndefined();
    // named statements on by default; off for a transaction-pooling PgBouncer that cannot keep them
    expect(config.preparedStatements).toBe(true);
    expect(ingressConfigFromEnv(loadIngressEnv({ DATABASE_PREPARED_STATEMENTS: 'false' }), 'h').preparedStatements).toBe(false);
    // subaddressing: `+` by default, the operator's own set, or off
    expect(config.recipientDelimiter).toBe('+');
    expect(ingressConfigFromEnv(loadIngressEnv({ INGRESS_RECIPIENT_DELIMITER: '+-' }), 'h').recipientDelimiter).toBe('+-');
    expect(ingressConfigFromEnv(loadIngressEnv({ INGRESS_RECIPIENT_DELIMITER: '' }), 'h').recipientDelimiter).toBe('');
  });

  it('binds SMTP to MAILROOM_HOST but LMTP and metrics to loopback unless LMTP_HOST / METRICS_HOST say otherwise', () => {
    const open = ingressConfigFromEnv(loadIngressEnv({ MAILROOM_HOST: '0.0.0.0' }), 'h');
    expect([open.host, open.lmtpHost, open.metricsHost]).toEqual(['0.0.0.0', '127.0.0.1', '127.0.0.1']);
    const own = ingressConfigFromEnv(loadIngressEnv({ MAILROOM_HOST: '0.0.0.0', LMTP_HOST: '10.0.0.5', METRICS_HOST: '::' }), 'h');
    expect([own.lmtpHost, own.metricsHost]).toEqual(['10.0.0.5', '::']);
  });

  it('parses the error limits and the per-network prefixes', () => {
    const d = ingressConfigFromEnv(loadIngressEnv({}), 'h');
    expect(d).toMatchObject({ softErrorLimit: 10, hardErrorLimit: 20, errorSleepMs: 1000, ipv4Prefix: 32, ipv6Prefix: 64 });
    const c = ingressConfigFromEnv(
      loadIngressEnv({
        INGRESS_SOFT_ERROR_LIMIT: '3',
        INGRESS_HARD_ERROR_LIMIT: '0',
        INGRESS_ERROR_SLEEP_MS: '250',
        INGRESS_IPV6_PREFIX: '56',
      }),
      'h',
    );
    expect(c).toMatchObject({ softErrorLimit: 3, hardErrorLimit: 0, errorSleepMs: 250, ipv6Prefix: 56 });
    expect(() => loadIngressEnv({ INGRESS_IPV6_PREFIX: '129' })).toThrow(/INGRESS_IPV6_PREFIX/);
    expect(() => loadIngressEnv({ INGRESS_HARD_ERROR_LIMIT: '-1' })).toThrow(/INGRESS_HARD_ERROR_LIMIT/);
  });

  it('refuses bad values with the variable named', () => {
    expect(() => loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: 'postmaster' })).toThrow(/INGRESS_POSTMASTER_ADDRESS: must be an address/);
    expect(() => loadIngressEnv({ INGRESS_QUOTA_REPLY: 'sometimes' })).toThrow(/INGRESS_QUOTA_REPLY/);
    expect(() => loadIngressEnv({ INGRESS_MAX_MESSAGE_BYTES: '-1' })).toThrow(/INGRESS_MAX_MESSAGE_BYTES/);
    expect(() => loadIngressEnv({ DATABASE_PREPARED_STATEMENTS: 'sometimes' })).toThrow(/DATABASE_PREPARED_STATEMENTS/);
    // a letter, a digit, "." or "@" would split ordinary addresses
    for (const bad of ['a', '1', '.', '@', '+ ', '+'.repeat(9)])
      expect(() => loadIngressEnv({ INGRESS_RECIPIENT_DELIMITER: bad })).toThrow(/INGRESS_RECIPIENT_DELIMITER/);
  });
});
