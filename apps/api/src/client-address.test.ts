// Forged client addresses (issue 10, item 4), against the API listening on a real socket: X-Forwarded-For and
// X-Forwarded-Proto count only from API_TRUSTED_PROXIES, req.ip is always an IP address, and the session cookie is
// Secure exactly when the original request was HTTPS (or SESSION_COOKIE_SECURE says always).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ipNetworkKey, parseTrustedProxies } from '@mailroom/core';
import { parseEnv } from '@mailroom/runtime';
import { apiEnvSchema } from './config.ts';
import { createTestApp, createUser, type TestContext } from './testing.ts';

interface Served {
  t: TestContext;
  url: string;
}

async function serve(trusted: string, sessionCookieSecure = false): Promise<Served> {
  const t = await createTestApp({ trustedProxies: parseTrustedProxies(trusted), sessionCookieSecure });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}` };
}

/** POST /auth/login over a real connection from 127.0.0.1; header values given as arrays go out as repeated lines. */
function postLogin(s: Served, body: { email: string; password: string }, headers: Record<string, string | string[]> = {}) {
  return new Promise<{ status: number; setCookie: string[] }>((resolve, reject) => {
    const req = http.request(
      `${s.url}/api/v1/auth/login`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [] }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Signs a fresh owner in and returns the address the API recorded for it (audit event and session row). */
async function recordedAddress(
  s: Served,
  headers: Record<string, string | string[]>,
): Promise<{ audit: string | null; session: string | null }> {
  const owner = await createUser(s.t);
  const res = await postLogin(s, { email: owner.email, password: owner.password }, headers);
  expect(res.status).toBe(200);
  const audit = await s.t.prisma.auditEvent.findFirstOrThrow({ where: { actorId: owner.id, action: 'auth.login' } });
  const session = await s.t.prisma.session.findFirstOrThrow({ where: { userId: owner.id } });
  return { audit: audit.ip, session: session.ip };
}

/** A unique forged address per test, so throttle rows of other tests cannot interfere. */
function forgedIp(): string {
  return `10.66.${Math.floor(Math.random() * 250) + 1}.66`;
}

async function throttleRow(s: Served, ip: string) {
  return s.t.prisma.authThrottle.findUnique({ where: { key: ipNetworkKey(ip) } });
}

let untrusted: Served; // the test client (127.0.0.1) is not a trusted proxy
let trusted: Served; // the default: loopback is trusted (the panel's server beside the API)
let alwaysSecure: Served;
beforeAll(async () => {
  [untrusted, trusted, alwaysSecure] = await Promise.all([serve('192.0.2.1'), serve('loopback'), serve('none', true)]);
});
afterAll(async () => {
  await Promise.all([untrusted, trusted, alwaysSecure].map((s) => s?.t.close()));
});

describe('X-Forwarded-For from a peer that is not a trusted proxy', () => {
  test('is ignored: the audit log, the session and the throttle carry the real peer (127.0.0.1)', async () => {
    const forged = forgedIp();
    expect(await recordedAddress(untrusted, { 'x-forwarded-for': forged, 'x-real-ip': forged, forwarded: `for=${forged}` })).toEqual({
      audit: '127.0.0.1',
      session: '127.0.0.1',
    });

    const owner = await createUser(untrusted.t);
    expect((await postLogin(untrusted, { email: owner.email, password: 'a wrong password' }, { 'x-forwarded-for': forged })).status).toBe(
      401,
    );
    expect(await throttleRow(untrusted, forged)).toBeNull();
    expect(await throttleRow(untrusted, '127.0.0.1')).not.toBeNull();
  });
});

describe('X-Forwarded-For from a trusted proxy', () => {
  test('the forwarded client address is used (audit log, session, throttle)', async () => {
    const client = forgedIp();
    expect(await recordedAddress(trusted, { 'x-forwarded-for': client })).toEqual({ audit: client, session: client });
    const owner = await createUser(trusted.t);
    expect((await postLogin(trusted, { email: owner.email, password: 'a wrong password' }, { 'x-forwarded-for': client })).status).toBe(
      401,
    );
    expect((await throttleRow(trusted, client))?.failures).toBe(1);
  });

  test('a client-supplied chain in front of the proxy does not count: the hop the proxy saw is the client', async () => {
    const forged = forgedIp();
    expect((await recordedAddress(trusted, { 'x-forwarded-for': `${forged}, 198.51.100.23` })).audit).toBe('198.51.100.23');
    expect((await recordedAddress(trusted, { 'x-forwarded-for': [forged, '198.51.100.24'] })).audit).toBe('198.51.100.24');
  });

  test('garbage never becomes req.ip: a value that is not an address ends the walk at the proxy', async () => {
    for (const value of ['foo', '1.2.3.4 5.6.7.8', '198.51.100.9, foo', 'unknown', '', '999.0.0.1', '<b>x</b>']) {
      expect(await recordedAddress(trusted, { 'x-forwarded-for': value }), value).toEqual({ audit: '127.0.0.1', session: '127.0.0.1' });
    }
    // IPv4-mapped and bracketed forms are addresses, recorded canonically
    expect((await recordedAddress(trusted, { 'x-forwarded-for': '::ffff:198.51.100.30' })).audit).toBe('198.51.100.30');
    expect((await recordedAddress(trusted, { 'x-forwarded-for': '[2001:db8::5]' })).audit).toBe('2001:db8::5');
  });
});

describe('the session cookie is Secure when the original request was HTTPS', () => {
  async function secureFlag(s: Served, headers: Record<string, string>): Promise<boolean> {
    const owner = await createUser(s.t);
    const res = await postLogin(s, { email: owner.email, password: owner.password }, headers);
    expect(res.status).toBe(200);
    const cookie = res.setCookie.find((c) => c.startsWith('mailroom_session='));
    expect(cookie).toBeDefined();
    return /;\s*Secure/i.test(cookie!);
  }

  test('X-Forwarded-Proto: https from a trusted proxy → Secure; plain HTTP → not', async () => {
    expect(await secureFlag(trusted, { 'x-forwarded-proto': 'https' })).toBe(true);
    expect(await secureFlag(trusted, {})).toBe(false);
    expect(await secureFlag(trusted, { 'x-forwarded-proto': 'https, http' })).toBe(false); // the last hop's word counts
  });

  test('X-Forwarded-Proto from an untrusted peer is ignored', async () => {
    expect(await secureFlag(untrusted, { 'x-forwarded-proto': 'https' })).toBe(false);
  });

  test('SESSION_COOKIE_SECURE=true: always Secure, also over plain HTTP from anyone', async () => {
    expect(await secureFlag(alwaysSecure, {})).toBe(true);
    expect(await secureFlag(alwaysSecure, { 'x-forwarded-proto': 'http' })).toBe(true);
  });
});

test('API_TRUSTED_PROXIES has no "trust everyone"; the old API_TRUST_PROXY is refused by name, not ignored', () => {
  for (const v of ['true', '*', '0.0.0.0/-1'])
    expect(() => parseEnv(apiEnvSchema, { API_TRUSTED_PROXIES: v }), v).toThrow(/API_TRUSTED_PROXIES/);
  expect(() => parseEnv(apiEnvSchema, { API_TRUST_PROXY: 'true' })).toThrow(/API_TRUST_PROXY: renamed to API_TRUSTED_PROXIES/);
  expect(parseEnv(apiEnvSchema, {}).API_TRUSTED_PROXIES).toBe('loopback');
});
