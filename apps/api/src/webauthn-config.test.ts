// Passkey relying party settings (WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN): derived from the panel's host, refused at start
// when browsers could never use them.
import { describe, expect, test } from 'vitest';
import { ConfigError, parseEnv } from '@mailroom/runtime';
import { apiEnvSchema, toApiConfig } from './config.ts';

const webauthnOf = (env: Record<string, string>) => toApiConfig(parseEnv(apiEnvSchema, env)).webauthn;

describe('WEBAUTHN_* configuration', () => {
  test('defaults: the panel host as RP ID over https; an IP-addressed or local panel gets http://localhost:<WEB_PORT>', () => {
    expect(webauthnOf({ MAILROOM_PUBLIC_HOST: 'mail.example.com' })).toMatchObject({
      rpId: 'mail.example.com',
      origins: ['https://mail.example.com'],
      rpName: 'Mailroom',
      challengeTtlMs: 300_000,
    });
    expect(webauthnOf({ MAILROOM_PUBLIC_HOST: 'mail.example.com', MAILROOM_WEB_HOST: 'Panel.Example.com' })).toMatchObject({
      rpId: 'panel.example.com',
      origins: ['https://panel.example.com'],
    });
    expect(webauthnOf({ MAILROOM_HOST: '127.0.0.1', WEB_PORT: '8080' })).toMatchObject({
      rpId: 'localhost',
      origins: ['http://localhost:8080'],
    });
  });

  test('explicit RP ID and several origins below it', () => {
    const w = webauthnOf({
      WEBAUTHN_RP_ID: 'example.com',
      WEBAUTHN_ORIGIN: 'https://panel.example.com, https://example.com:8443/',
      WEBAUTHN_CHALLENGE_TTL_SECONDS: '60',
    });
    expect(w).toMatchObject({
      rpId: 'example.com',
      origins: ['https://panel.example.com', 'https://example.com:8443'],
      challengeTtlMs: 60_000,
    });
  });

  test.each([
    [{ WEBAUTHN_RP_ID: '192.0.2.1' }, /WEBAUTHN_RP_ID.*host name/],
    [{ WEBAUTHN_RP_ID: 'https://example.com' }, /WEBAUTHN_RP_ID/],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGIN: 'http://example.com' }, /must use https/],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGIN: 'https://example.org' }, /must be WEBAUTHN_RP_ID/],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGIN: 'https://notexample.com' }, /must be WEBAUTHN_RP_ID/],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGIN: 'https://example.com/panel' }, /scheme:\/\/host\[:port\] only/],
    [{ WEBAUTHN_ORIGIN: 'not a url' }, /not a URL/],
    [{ WEBAUTHN_CHALLENGE_TTL_SECONDS: '5' }, /WEBAUTHN_CHALLENGE_TTL_SECONDS/],
  ])('refused at start: %j', (env, message) => {
    expect(() => parseEnv(apiEnvSchema, env)).toThrow(ConfigError);
    expect(() => parseEnv(apiEnvSchema, env)).toThrow(message);
  });
});
