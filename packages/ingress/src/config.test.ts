import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES, ingressConfigFromEnv, loadIngressEnv } from './config.ts';

describe('ingress environment', () => {
  it('has working defaults and maps every setting into the config', () => {
    const env = loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: ' abuse-desk@ops.example ', INGRESS_QUOTA_REPLY: 'permanent' });
    const config = ingressConfigFromEnv(env, 'mx.example');
    expect(config).toMatchObject({ lmtpPort: 2424, smtpPort: 2525, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, quotaReply: 'permanent', hostname: 'mx.example', postmasterAddress: 'abuse-desk@ops.example' });
    expect(ingressConfigFromEnv(loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: '' }), 'h').postmasterAddress).toBeUndefined();
  });

  it('refuses bad values with the variable named', () => {
    expect(() => loadIngressEnv({ INGRESS_POSTMASTER_ADDRESS: 'postmaster' })).toThrow(/INGRESS_POSTMASTER_ADDRESS: must be an address/);
    expect(() => loadIngressEnv({ INGRESS_QUOTA_REPLY: 'sometimes' })).toThrow(/INGRESS_QUOTA_REPLY/);
    expect(() => loadIngressEnv({ INGRESS_MAX_MESSAGE_BYTES: '-1' })).toThrow(/INGRESS_MAX_MESSAGE_BYTES/);
  });
});
