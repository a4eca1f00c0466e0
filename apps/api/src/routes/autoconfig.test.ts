/**
 * Client autoconfiguration through the real API: Thunderbird autoconfig, Outlook autodiscover and Apple profiles,
 * each checked field by field against the server's client settings, plus the attacks on them.
 */
import { Writable } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import { pino } from 'pino';
import { parse as parsePlist } from 'plist';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPasswordHasher, uuidV5 } from '@mailroom/core';
import type { ClientSettings } from '@mailroom/core/schemas';
import { parseEnv } from '@mailroom/runtime';
import { buildApp } from '../app.ts';
import { apiEnvSchema, defaultApiConfig, toApiConfig } from '../config.ts';
import { call, createTestApp, createUser, login, TEST_ARGON2, type Session, type TestContext, uniqueName } from '../testing.ts';

// Ports that are no one's default, so a value that does not come from the settings cannot pass.
const CLIENT: ClientSettings = { host: 'pop.mailroom.test', pop3Port: 11110, pop3sPort: 19995, submission: null };
const SUBMISSION: ClientSettings = { ...CLIENT, submission: { host: 'smtp.provider.test', port: 465, security: 'tls' } };
const PW = 'autoconfig passphrase 1';
const THUNDERBIRD = '/api/autoconfig/mail/config-v1.1.xml';
const AUTODISCOVER = '/api/autodiscover/autodiscover.xml';

let t: TestContext;
let withSubmission: TestContext;
let admin: Session;
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (name) => ['incomingServer', 'outgoingServer', 'Protocol'].includes(name),
});

beforeAll(async () => {
  t = await createTestApp({ client: CLIENT });
  withSubmission = await createTestApp({ client: SUBMISSION });
  const a = await createUser(t, { role: 'ADMIN' });
  admin = await login(t.app, a.email, a.password);
});
afterAll(async () => {
  await t?.close();
  await withSubmission?.close();
});

async function ownerWithDomain(opts: { active?: boolean } = {}) {
  const o = await createUser(t);
  const s = await login(t.app, o.email, o.password);
  const d = await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('ac')}.example`, ownerId: o.id, verified: true });
  expect(d.statusCode, d.body).toBe(201);
  const dom = d.json() as { id: string; name: string };
  const m = await call(t.app, s, 'POST', `/api/v1/domains/${dom.id}/mailboxes`, {
    localPart: 'alice',
    password: PW,
    displayName: 'Alice <Example> & Co',
  });
  expect(m.statusCode, m.body).toBe(201);
  if (opts.active === false) expect((await call(t.app, s, 'PATCH', `/api/v1/domains/${dom.id}`, { active: false })).statusCode).toBe(200);
  return { owner: o, s, domain: dom, mailbox: m.json() as { id: string; address: string } };
}

function autodiscoverBody(email: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${email}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
}

function postAutodiscover(app: TestContext, body: string, contentType = 'text/xml; charset=utf-8') {
  return app.app.inject({ method: 'POST', url: AUTODISCOVER, headers: { 'content-type': contentType }, payload: body });
}

const thunderbird = (app: TestContext, email: string) =>
  app.app.inject({ method: 'GET', url: `${THUNDERBIRD}?emailaddress=${encodeURIComponent(email)}` });

describe('settings', () => {
  test('public ports and the submission server come from the environment', () => {
    const env = parseEnv(apiEnvSchema, {
      MAILROOM_PUBLIC_HOST: 'mail.example.com',
      MAILROOM_PUBLIC_POP3_PORT: '1110',
      MAILROOM_PUBLIC_POP3S_PORT: '1995',
    });
    expect(toApiConfig(env).client).toEqual({ host: 'mail.example.com', pop3Port: 1110, pop3sPort: 1995, submission: null });
    expect(defaultApiConfig().client).toMatchObject({ pop3Port: 110, pop3sPort: 995, submission: null });
    const sub = parseEnv(apiEnvSchema, {
      MAILROOM_SMTP_SUBMISSION_HOST: 'smtp.example.com',
      MAILROOM_SMTP_SUBMISSION_SECURITY: 'tls',
      MAILROOM_SMTP_SUBMISSION_PORT: '465',
    });
    expect(toApiConfig(sub).client.submission).toEqual({ host: 'smtp.example.com', port: 465, security: 'tls' });
    expect(() => parseEnv(apiEnvSchema, { MAILROOM_SMTP_SUBMISSION_SECURITY: 'ssl' })).toThrow(/MAILROOM_SMTP_SUBMISSION_SECURITY/);
  });

  test('GET /client-settings: what the connection card shows, for any signed-in principal', async () => {
    const { s, mailbox } = await ownerWithDomain();
    for (const who of [s, await login(t.app, mailbox.address, PW)]) {
      const res = await call(t.app, who, 'GET', '/api/v1/client-settings');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual(CLIENT);
    }
    expect((await call(t.app, null, 'GET', '/api/v1/client-settings')).statusCode).toBe(401);
  });
});

describe('Thunderbird autoconfig', () => {
  test('clientConfig 1.1: POP3S (SSL) and POP3 (STARTTLS) on the public ports, %EMAILADDRESS%, normal password', async () => {
    const { domain } = await ownerWithDomain();
    const res = await thunderbird(t, `Alice@${domain.name.toUpperCase()}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    const doc = xml.parse(res.body);
    expect(doc.clientConfig['@version']).toBe('1.1');
    const p = doc.clientConfig.emailProvider;
    expect(p['@id']).toBe(domain.name);
    expect(p.domain).toBe(domain.name);
    expect(p.displayName).toContain(domain.name);
    expect(p.incomingServer).toHaveLength(2);
    const [ssl, starttls] = p.incomingServer;
    for (const [server, port, socketType] of [
      [ssl, CLIENT.pop3sPort, 'SSL'],
      [starttls, CLIENT.pop3Port, 'STARTTLS'],
    ] as const) {
      expect(server).toMatchObject({
        '@type': 'pop3',
        hostname: CLIENT.host,
        port: String(port),
        socketType,
        username: '%EMAILADDRESS%',
        authentication: 'password-cleartext',
      });
      expect(server.pop3).toEqual({ leaveMessagesOnServer: 'true', daysToLeaveMessagesOnServer: '14', downloadOnBiff: 'true' });
    }
    // No submission configured: a placeholder Thunderbird requires but does not create (it keeps the default server).
    expect(p.outgoingServer).toHaveLength(1);
    expect(p.outgoingServer[0]).toMatchObject({ '@type': 'smtp', hostname: CLIENT.host, useGlobalPreferredServer: 'true' });
  });

  test("the operator's submission server is offered as the outgoing server", async () => {
    const { domain } = await ownerWithDomain();
    const res = await thunderbird(withSubmission, `alice@${domain.name}`);
    const out = xml.parse(res.body).clientConfig.emailProvider.outgoingServer;
    expect(out).toEqual([
      {
        '@type': 'smtp',
        hostname: 'smtp.provider.test',
        port: '465',
        socketType: 'SSL',
        username: '%EMAILADDRESS%',
        authentication: 'password-cleartext',
      },
    ]);
  });

  test('unknown, disabled and disabled-owner domains are 404; the answer never depends on the local part', async () => {
    expect((await thunderbird(t, `alice@${uniqueName('nowhere')}.example`)).statusCode).toBe(404);
    const disabled = await ownerWithDomain({ active: false });
    const r = await thunderbird(t, `alice@${disabled.domain.name}`);
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe('NOT_FOUND');
    const ownerOff = await ownerWithDomain();
    await t.prisma.user.update({ where: { id: ownerOff.owner.id }, data: { disabled: true } });
    expect((await thunderbird(t, `alice@${ownerOff.domain.name}`)).statusCode).toBe(404);
    // A pending (unverified) claim hosts nothing: no autoconfig, no autodiscover for it.
    const claimant = await createUser(t);
    const pending = await call(t.app, await login(t.app, claimant.email, claimant.password), 'POST', '/api/v1/domains', {
      name: `${uniqueName('pend')}.example`,
    });
    expect(pending.json().verificationStatus).toBe('pending');
    expect((await thunderbird(t, `alice@${pending.json().name}`)).statusCode).toBe(404);
    expect((await postAutodiscover(t, autodiscoverBody(`alice@${pending.json().name}`))).statusCode).toBe(404);

    const { domain } = await ownerWithDomain();
    const existing = await thunderbird(t, `alice@${domain.name}`);
    const missing = await thunderbird(t, `nobody-${uniqueName()}@${domain.name}`);
    expect(existing.statusCode).toBe(200);
    expect(missing.statusCode).toBe(200);
    expect(missing.rawPayload.equals(existing.rawPayload)).toBe(true);
    for (const h of ['content-type', 'cache-control']) expect(missing.headers[h]).toBe(existing.headers[h]);
  });

  test('a missing or invalid emailaddress is 400 VALIDATION_FAILED on query.emailaddress', async () => {
    const none = await t.app.inject({ method: 'GET', url: THUNDERBIRD });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'query.emailaddress' }] });
    for (const bad of [
      '',
      'alice',
      '@example.com',
      'alice@',
      'a b@example.com',
      'alice@127.0.0.1',
      `${'x'.repeat(70)}@example.com`,
      'alice@exa_mple.com',
      'x'.repeat(2000),
    ]) {
      const res = await thunderbird(t, bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json(), bad).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'query.emailaddress' }] });
    }
  });
});

describe('Outlook autodiscover', () => {
  test('the 2006 response: POP3 on the public POP3S port, SSL, the full address as login, SPA off', async () => {
    const { domain } = await ownerWithDomain();
    const res = await postAutodiscover(t, autodiscoverBody(`Alice@${domain.name}`));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    const doc = xml.parse(res.body);
    expect(doc.Autodiscover['@xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
    const response = doc.Autodiscover.Response;
    expect(response['@xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
    expect(response.Account.AccountType).toBe('email');
    expect(response.Account.Action).toBe('settings');
    expect(response.Account.Protocol).toEqual([
      {
        Type: 'POP3',
        Server: CLIENT.host,
        Port: String(CLIENT.pop3sPort),
        LoginName: `alice@${domain.name}`,
        DomainRequired: 'off',
        SPA: 'off',
        SSL: 'on',
        Encryption: 'SSL',
        AuthRequired: 'on',
      },
    ]);
  });

  test("with the operator's submission server an SMTP protocol follows", async () => {
    const { domain } = await ownerWithDomain();
    const res = await postAutodiscover(withSubmission, autodiscoverBody(`alice@${domain.name}`));
    const protocols = xml.parse(res.body).Autodiscover.Response.Account.Protocol;
    expect(protocols.map((p: { Type: string }) => p.Type)).toEqual(['POP3', 'SMTP']);
    expect(protocols[1]).toMatchObject({
      Server: 'smtp.provider.test',
      Port: '465',
      LoginName: `alice@${domain.name}`,
      Encryption: 'SSL',
      AuthRequired: 'on',
    });
  });

  test('escaped addresses are read and answered escaped; existing and missing local parts answer alike', async () => {
    const { domain } = await ownerWithDomain();
    const res = await postAutodiscover(t, autodiscoverBody(`o'brien&amp;co@${domain.name}`));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain(`<LoginName>o&apos;brien&amp;co@${domain.name}</LoginName>`);
    const existing = await postAutodiscover(t, autodiscoverBody(`alice@${domain.name}`));
    const missing = await postAutodiscover(t, autodiscoverBody(`zed00@${domain.name}`));
    expect(missing.statusCode).toBe(200);
    expect(missing.body.replace('zed00@', 'alice@')).toBe(existing.body);
  });

  test('unknown domain 404; no or repeated EMailAddress, malformed XML, JSON bodies are 400', async () => {
    expect((await postAutodiscover(t, autodiscoverBody(`alice@${uniqueName('nowhere')}.example`))).statusCode).toBe(404);
    const { domain } = await ownerWithDomain();
    const bodies = [
      '<Autodiscover><Request></Request></Autodiscover>',
      `<Autodiscover><Request><EMailAddress>a@${domain.name}</EMailAddress><EMailAddress>b@${domain.name}</EMailAddress></Request></Autodiscover>`,
      `<Autodiscover><Request><EMailAddress>a@${domain.name}</EMailAddress></Request>`,
      '<<<>>>',
      '',
      'not xml at all',
    ];
    for (const body of bodies) {
      const res = await postAutodiscover(t, body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json().code, body).toBe('VALIDATION_FAILED');
    }
    const json = await postAutodiscover(t, JSON.stringify({ EMailAddress: `a@${domain.name}` }), 'application/json');
    expect(json.statusCode).toBe(400);
  });

  test('abuse: billion laughs, external entities and a 10 MB body are refused with a 4xx and the server keeps answering', async () => {
    const { domain } = await ownerWithDomain();
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Autodiscover><Request><EMailAddress>&lol9;@${domain.name}</EMailAddress></Request></Autodiscover>`;
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&x;@${domain.name}</EMailAddress></Request></Autodiscover>`;
    for (const body of [laughs, xxe]) {
      const res = await postAutodiscover(t, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.body).not.toContain('root:');
    }
    const huge = autodiscoverBody(`alice@${domain.name}`).replace('<Request>', `<Request><Pad>${'A'.repeat(10 * 1024 * 1024)}</Pad>`);
    const big = await postAutodiscover(t, huge);
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
    // Deeply nested elements within the size limit: still a clean answer.
    const deep = `<Autodiscover><Request>${'<a>'.repeat(2000)}${'</a>'.repeat(2000)}<EMailAddress>alice@${domain.name}</EMailAddress></Request></Autodiscover>`;
    const deepRes = await postAutodiscover(t, deep);
    expect(deepRes.statusCode).toBeGreaterThanOrEqual(400);
    expect(deepRes.statusCode).toBeLessThan(500);
    expect((await postAutodiscover(t, autodiscoverBody(`alice@${domain.name}`))).statusCode).toBe(200);
  });
});

describe('Apple profiles (.mobileconfig)', () => {
  type Plist = Record<string, unknown> & { PayloadContent: Record<string, unknown>[] };

  test('GET: a property list with a POP account on the public POP3S port, no password; stable UUIDs per mailbox', async () => {
    const { s, mailbox, domain } = await ownerWithDomain();
    const res = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-apple-aspen-config');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="alice@${domain.name}.mobileconfig"`);
    expect(res.headers['cache-control']).toBe('no-store');
    const profile = parsePlist(res.body) as Plist;
    expect(profile).toMatchObject({
      PayloadType: 'Configuration',
      PayloadVersion: 1,
      PayloadUUID: uuidV5(`${mailbox.id}:profile`),
      PayloadRemovalDisallowed: false,
    });
    expect(profile.PayloadIdentifier).toBe(`test.mailroom.pop.mailroom.mailbox.${mailbox.id}`);
    expect(profile.PayloadContent).toHaveLength(1);
    const account = profile.PayloadContent[0]!;
    expect(account).toEqual({
      PayloadType: 'com.apple.mail.managed',
      PayloadVersion: 1,
      PayloadIdentifier: `test.mailroom.pop.mailroom.mailbox.${mailbox.id}.account`,
      PayloadUUID: uuidV5(`${mailbox.id}:account`),
      PayloadDisplayName: `POP3 account ${mailbox.address}`,
      EmailAccountDescription: mailbox.address,
      EmailAccountName: 'Alice <Example> & Co',
      EmailAccountType: 'EmailTypePOP',
      EmailAddress: mailbox.address,
      IncomingMailServerAuthentication: 'EmailAuthPassword',
      IncomingMailServerHostName: CLIENT.host,
      IncomingMailServerPortNumber: CLIENT.pop3sPort,
      IncomingMailServerUseSSL: true,
      IncomingMailServerUsername: mailbox.address,
      OutgoingMailServerAuthentication: 'EmailAuthPassword',
      OutgoingMailServerHostName: CLIENT.host,
      OutgoingMailServerPortNumber: 587,
      OutgoingMailServerUseSSL: true,
      OutgoingMailServerUsername: mailbox.address,
      OutgoingPasswordSameAsIncomingPassword: true,
    });
    expect(res.body).not.toContain('Password</key>\n        <string>');
    const again = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`);
    expect(again.body).toBe(res.body);
    // A password in the query string is never taken.
    const query = await t.app.inject({
      method: 'GET',
      url: `/api/v1/mailboxes/${mailbox.id}/mobileconfig?password=${encodeURIComponent(PW)}`,
      headers: { cookie: s.cookie },
    });
    expect(query.body).not.toContain(PW);
  });

  test('POST embeds the password (incoming; outgoing is "same as incoming"); the submission server is used when configured', async () => {
    const { s, mailbox } = await ownerWithDomain();
    const res = await call(t.app, s, 'POST', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`, { password: 'pa<ss>&"word' });
    expect(res.statusCode, res.body).toBe(200);
    const account = (parsePlist(res.body) as Plist).PayloadContent[0]!;
    expect(account.IncomingPassword).toBe('pa<ss>&"word');
    expect(account.OutgoingPasswordSameAsIncomingPassword).toBe(true);
    // Cookie POSTs need the CSRF token like every other unsafe request.
    const noCsrf = await t.app.inject({
      method: 'POST',
      url: `/api/v1/mailboxes/${mailbox.id}/mobileconfig`,
      headers: { cookie: s.cookie },
      payload: { password: PW },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe('CSRF_FAILED');
    const empty = await call(t.app, s, 'POST', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`, {});
    expect(empty.statusCode).toBe(400);

    const sub = await withSubmission.app.inject({
      method: 'GET',
      url: `/api/v1/mailboxes/${mailbox.id}/mobileconfig`,
      headers: { cookie: s.cookie },
    });
    expect((parsePlist(sub.body) as Plist).PayloadContent[0]).toMatchObject({
      OutgoingMailServerHostName: 'smtp.provider.test',
      OutgoingMailServerPortNumber: 465,
      OutgoingMailServerUseSSL: true,
    });
  });

  test("the mailbox user gets their own profile from /me; never another's, never by id", async () => {
    const { s, mailbox, domain } = await ownerWithDomain();
    const other = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'bob', password: PW });
    const user = await login(t.app, mailbox.address, PW);
    const own = await call(t.app, user, 'GET', '/api/v1/me/mobileconfig');
    expect(own.statusCode, own.body).toBe(200);
    const account = (parsePlist(own.body) as Plist).PayloadContent[0]!;
    expect(account).toMatchObject({
      EmailAddress: mailbox.address,
      IncomingMailServerUsername: mailbox.address,
      IncomingMailServerPortNumber: CLIENT.pop3sPort,
      PayloadUUID: uuidV5(`${mailbox.id}:account`),
    });
    expect(account.IncomingPassword).toBeUndefined();
    const withPw = await call(t.app, user, 'POST', '/api/v1/me/mobileconfig', { password: PW });
    expect((parsePlist(withPw.body) as Plist).PayloadContent[0]!.IncomingPassword).toBe(PW);
    // Same bytes as the owner's download of this mailbox (one builder).
    expect((await call(t.app, s, 'GET', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`)).body).toBe(own.body);
    for (const id of [other.json().id, mailbox.id]) {
      const res = await call(t.app, user, 'GET', `/api/v1/mailboxes/${id}/mobileconfig`);
      expect(res.statusCode).toBe(403);
    }
    // An owner has no mailbox of their own.
    expect((await call(t.app, s, 'GET', '/api/v1/me/mobileconfig')).statusCode).toBe(403);
    expect((await call(t.app, null, 'GET', '/api/v1/me/mobileconfig')).statusCode).toBe(401);
  });

  test("another owner's mailbox is 404, like a missing one", async () => {
    const a = await ownerWithDomain();
    const b = await ownerWithDomain();
    for (const method of ['GET', 'POST'] as const) {
      const res = await call(
        t.app,
        b.s,
        method,
        `/api/v1/mailboxes/${a.mailbox.id}/mobileconfig`,
        method === 'POST' ? { password: PW } : undefined,
      );
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
  });

  test('the embedded password never reaches the log, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const app = await buildApp({
      prisma: t.prisma,
      hasher: createPasswordHasher(TEST_ARGON2),
      secret: 'test-secret',
      config: defaultApiConfig({ throttleSleepMaxMs: 0, argon2: TEST_ARGON2, client: CLIENT }),
      logger: pino({ level: 'trace' }, sink),
    });
    try {
      const { mailbox, owner } = await ownerWithDomain();
      const s = await login(app, owner.email, owner.password);
      const secret = `never-log-${uniqueName()}`;
      const res = await call(app, s, 'POST', `/api/v1/mailboxes/${mailbox.id}/mobileconfig`, { password: secret });
      expect(res.statusCode).toBe(200);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('')).not.toContain(secret);
    } finally {
      await app.close();
    }
  });
});
