import { MAX_SENDER_RULES } from '@mailroom/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  call,
  createKey,
  createOwnerWithDomain,
  createTestAppWithAdmin,
  type Credentials,
  login,
  type Session,
  type TestContext,
  uniqueName,
} from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const rules = (domainId: string) => `/api/v1/domains/${domainId}/sender-rules`;
const add = (s: Credentials, domainId: string, pattern: unknown, action: unknown = 'block') =>
  call(t.app, s, 'POST', rules(domainId), { pattern, action });

describe('sender rules', () => {
  test('an owner blocks and allows senders: stored in one spelling, listed by pattern, changed, deleted, audited', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    const blocked = await add(s, domain.id, '  Spam@Example.COM ');
    expect(blocked.statusCode, blocked.body).toBe(201);
    expect(blocked.json()).toMatchObject({ domainId: domain.id, domain: domain.name, pattern: 'spam@example.com', action: 'block' });
    // @domain, *@domain and an IDN domain are domains
    for (const [input, stored] of [
      ['@Partner.example', 'partner.example'],
      ['*@news.example', 'news.example'],
      ['bücher.example', 'xn--bcher-kva.example'],
    ]) {
      const r = await add(s, domain.id, input, 'allow');
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().pattern).toBe(stored);
    }
    const page1 = (await call(t.app, s, 'GET', `${rules(domain.id)}?limit=2`)).json();
    const page2 = (await call(t.app, s, 'GET', `${rules(domain.id)}?limit=2&cursor=${page1.nextCursor}`)).json();
    expect([...page1.items, ...page2.items].map((r: { pattern: string }) => r.pattern)).toEqual([
      'news.example',
      'partner.example',
      'spam@example.com',
      'xn--bcher-kva.example',
    ]);
    expect(page2.nextCursor).toBeNull();

    const id = blocked.json().id as string;
    const changed = await call(t.app, s, 'PATCH', `/api/v1/sender-rules/${id}`, { action: 'allow' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await call(t.app, s, 'GET', `/api/v1/sender-rules/${id}`)).json().action).toBe('allow');
    expect((await call(t.app, s, 'DELETE', `/api/v1/sender-rules/${id}`)).statusCode).toBe(204);
    expect((await call(t.app, s, 'GET', `/api/v1/sender-rules/${id}`)).statusCode).toBe(404);
    expect((await call(t.app, s, 'DELETE', `/api/v1/sender-rules/${id}`)).statusCode).toBe(404);

    const audit = await t.prisma.auditEvent.findMany({ where: { targetId: id }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['sender-rule.create', 'sender-rule.update', 'sender-rule.delete']);
    expect(audit[1]!.details).toMatchObject({ pattern: 'spam@example.com', action: 'allow', previousAction: 'block' });
  });

  test('the same sender twice, in any spelling, is 409 ALREADY_EXISTS; malformed patterns and actions are 400', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    expect((await add(s, domain.id, 'example.org')).statusCode).toBe(201);
    const again = await add(s, domain.id, '@EXAMPLE.org', 'allow');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'ALREADY_EXISTS', errors: [{ path: 'pattern', code: 'taken' }] });
    // a top-level domain, as .tld or *.tld, is one pattern in both spellings
    const tld = await add(s, domain.id, '*.XYZ');
    expect([tld.statusCode, tld.json().pattern]).toEqual([201, '.xyz']);
    expect((await add(s, domain.id, '.xyz')).statusCode).toBe(409);
    for (const bad of ['', '*.example.org', 'org', '.123', '..org', 'a b@example.org', 'user@', '<>', 'x'.repeat(400), 42, null]) {
      const r = await add(s, domain.id, bad);
      expect(r.statusCode, `${JSON.stringify(bad)}: ${r.body}`).toBe(400);
      expect(r.json().code).toBe('VALIDATION_FAILED');
    }
    const wildcard = await add(s, domain.id, '*.example.net');
    expect(wildcard.json().errors).toEqual([
      expect.objectContaining({ path: 'pattern', code: 'invalid_pattern', message: expect.stringMatching(/subdomains/) }),
    ]);
    expect((await add(s, domain.id, 'example.net', 'reject')).statusCode).toBe(400);
    const id = (await call(t.app, s, 'GET', rules(domain.id))).json().items[0].id;
    expect((await call(t.app, s, 'PATCH', `/api/v1/sender-rules/${id}`, { action: 'maybe' })).statusCode).toBe(400);
    expect((await call(t.app, s, 'GET', `${rules(domain.id)}?cursor=nonsense`)).statusCode).toBe(400);
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(2);
  });

  test('another tenant sees none of it: their domain, their rule and their rule ids are all 404, and nothing changes', async () => {
    const a = await createOwnerWithDomain(t, admin);
    const b = await createOwnerWithDomain(t, admin);
    const ruleA = (await add(a.s, a.domain.id, 'victim-list.example')).json();
    expect((await add(b.s, a.domain.id, 'evil.example')).statusCode).toBe(404);
    expect((await call(t.app, b.s, 'GET', rules(a.domain.id))).statusCode).toBe(404);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { action: 'allow' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(t.app, b.s, method, `/api/v1/sender-rules/${ruleA.id}`, body);
      expect(r.statusCode, `${method}: ${r.body}`).toBe(404);
      expect(r.json().code).toBe('NOT_FOUND');
    }
    const stored = await t.prisma.senderRule.findUniqueOrThrow({ where: { id: ruleA.id } });
    expect(stored.action).toBe('block');
    // a key restricted to another of A's domains, and a read-only key, get nowhere either
    const other = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('o')}.example`,
      ownerId: a.owner.id,
      verified: true,
    });
    const scoped = { key: await createKey(t.prisma, a.owner.id, ['domains:read', 'domains:write'], [other.json().id]) };
    expect((await call(t.app, scoped, 'DELETE', `/api/v1/sender-rules/${ruleA.id}`)).statusCode).toBe(404);
    expect((await add(scoped, a.domain.id, 'x.example')).statusCode).toBe(404);
    const readOnly = { key: await createKey(t.prisma, a.owner.id, ['domains:read']) };
    expect((await call(t.app, readOnly, 'GET', rules(a.domain.id))).json().items).toHaveLength(1);
    const refused = await add(readOnly, a.domain.id, 'y.example');
    expect(refused.statusCode).toBe(403);
    expect(await t.prisma.senderRule.count({ where: { domainId: a.domain.id } })).toBe(1);
  });

  test('an alias domain has no rules of its own (409 DOMAIN_IS_ALIAS); a domain converted into one loses its rules', async () => {
    const { s, domain, owner } = await createOwnerWithDomain(t, admin);
    const aliasDomain = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('al')}.example`,
      ownerId: owner.id,
      verified: true,
      aliasOf: domain.id,
    });
    const refused = await add(s, aliasDomain.json().id, 'spam.example');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'DOMAIN_IS_ALIAS', details: { aliasOf: { id: domain.id } } });

    const spare = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('sp')}.example`,
      ownerId: owner.id,
      verified: true,
    });
    await add(s, spare.json().id, 'spam.example');
    await add(s, spare.json().id, 'friend@ok.example', 'allow');
    const converted = await call(t.app, s, 'PATCH', `/api/v1/domains/${spare.json().id}`, { aliasOf: domain.id });
    expect(converted.statusCode, converted.body).toBe(200);
    expect(await t.prisma.senderRule.count({ where: { domainId: spare.json().id } })).toBe(0);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { targetId: spare.json().id, action: 'domain.update' } });
    expect(audit.details).toMatchObject({ convertedToAlias: true, senderRulesDeleted: 2 });
  });

  test(`a domain holds at most ${MAX_SENDER_RULES} rules, also when they are added at once (422)`, async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    await t.prisma.senderRule.createMany({
      data: Array.from({ length: MAX_SENDER_RULES - 3 }, (_, i) => ({
        domainId: domain.id,
        pattern: `s${i}.example`,
        action: 'block',
      })),
    });
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => add(s, domain.id, `burst${i}.example`)));
    const statuses = burst.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 201, 201, 422, 422, 422]);
    expect(burst.find((r) => r.statusCode === 422)!.json()).toMatchObject({
      code: 'LIMIT_SENDER_RULES_EXCEEDED',
      details: { limit: MAX_SENDER_RULES },
    });
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(MAX_SENDER_RULES);
  });
});

const PW = 'mailbox passphrase 1';
const mailboxRules = (mailboxId: string) => `/api/v1/mailboxes/${mailboxId}/sender-rules`;
const addOwn = (s: Credentials, mailboxId: string, pattern: unknown, action: unknown = 'block') =>
  call(t.app, s, 'POST', mailboxRules(mailboxId), { pattern, action });

async function ownerWithMailboxes() {
  const o = await createOwnerWithDomain(t, admin);
  const boxes = [];
  for (const localPart of ['anna', 'ben']) {
    const m = await call(t.app, o.s, 'POST', `/api/v1/domains/${o.domain.id}/mailboxes`, { localPart, password: PW });
    expect(m.statusCode, m.body).toBe(201);
    boxes.push(m.json() as { id: string; address: string });
  }
  const [anna, ben] = boxes as [{ id: string; address: string }, { id: string; address: string }];
  return { ...o, anna, ben, annaSession: await login(t.app, anna.address, PW) };
}

describe('a mailbox’s own sender rules', () => {
  test('the mailbox user keeps their own list: apart from the domain’s, audited as theirs, changed and deleted', async () => {
    const { s, domain, anna, annaSession } = await ownerWithMailboxes();
    const own = await addOwn(annaSession, anna.id, 'Newsletter@Shop.example');
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json()).toMatchObject({
      domainId: domain.id,
      mailboxId: anna.id,
      mailbox: anna.address,
      pattern: 'newsletter@shop.example',
      action: 'block',
    });
    // the same pattern may be in the domain's list and in each mailbox's, once per list
    expect((await add(s, domain.id, 'shop.example')).statusCode).toBe(201);
    expect((await add(s, domain.id, 'newsletter@shop.example')).statusCode).toBe(201);
    const again = await addOwn(annaSession, anna.id, 'NEWSLETTER@shop.example', 'allow');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'ALREADY_EXISTS', errors: [{ path: 'pattern', code: 'taken' }] });
    // each list shows its own rules only; the owner sees the mailbox's too
    const domainList = (await call(t.app, s, 'GET', rules(domain.id))).json();
    expect(domainList.items.map((r: { pattern: string; mailboxId: string | null }) => [r.pattern, r.mailboxId])).toEqual([
      ['newsletter@shop.example', null],
      ['shop.example', null],
    ]);
    for (const who of [annaSession, s]) {
      const listed = await call(t.app, who, 'GET', mailboxRules(anna.id));
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().items.map((r: { id: string }) => r.id)).toEqual([own.json().id]);
    }
    const id = own.json().id as string;
    expect((await call(t.app, annaSession, 'PATCH', `/api/v1/sender-rules/${id}`, { action: 'allow' })).json().action).toBe('allow');
    expect((await call(t.app, annaSession, 'DELETE', `/api/v1/sender-rules/${id}`)).statusCode).toBe(204);
    const audit = await t.prisma.auditEvent.findMany({ where: { targetId: id }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => [a.action, a.actorType])).toEqual([
      ['sender-rule.create', 'mailbox'],
      ['sender-rule.update', 'mailbox'],
      ['sender-rule.delete', 'mailbox'],
    ]);
    expect(audit[0]!.details).toMatchObject({ mailboxId: anna.id, address: anna.address, pattern: 'newsletter@shop.example' });
    // the owner adds one for the mailbox too; it goes when the mailbox does
    expect((await addOwn(s, anna.id, 'pushy.example')).statusCode).toBe(201);
    expect((await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${anna.id}`)).statusCode).toBe(204);
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(0);
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(2);
  });

  test('a mailbox user reaches their own list only: not the domain’s, a colleague’s, or another tenant’s (404, nothing changes)', async () => {
    const { s, domain, anna, ben, annaSession } = await ownerWithMailboxes();
    const domainRule = (await add(s, domain.id, 'owner-list.example')).json();
    const benRule = (await addOwn(s, ben.id, 'ben-list.example')).json();
    const other = await ownerWithMailboxes();
    const otherRule = (await addOwn(other.annaSession, other.anna.id, 'other-list.example')).json();

    expect((await addOwn(annaSession, ben.id, 'x.example')).statusCode).toBe(404);
    expect((await call(t.app, annaSession, 'GET', mailboxRules(ben.id))).statusCode).toBe(404);
    expect((await addOwn(annaSession, other.anna.id, 'x.example')).statusCode).toBe(404);
    // the domain's list is the owner's: a mailbox user cannot read or add to it
    expect((await call(t.app, annaSession, 'GET', rules(domain.id))).statusCode).toBe(403);
    expect((await add(annaSession, domain.id, 'x.example')).statusCode).toBe(403);
    for (const rule of [domainRule, benRule, otherRule]) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PATCH', { action: 'allow' }],
        ['DELETE', undefined],
      ] as const) {
        const r = await call(t.app, annaSession, method, `/api/v1/sender-rules/${rule.id}`, body);
        expect(r.statusCode, `${method} ${rule.pattern}: ${r.body}`).toBe(404);
      }
    }
    // another owner gets nowhere with the mailbox or its rules either
    expect((await addOwn(other.s, anna.id, 'x.example')).statusCode).toBe(404);
    expect((await call(t.app, other.s, 'DELETE', `/api/v1/sender-rules/${benRule.id}`)).statusCode).toBe(404);
    const stored = await t.prisma.senderRule.findMany({ where: { id: { in: [domainRule.id, benRule.id, otherRule.id] } } });
    expect(stored.map((r) => r.action)).toEqual(['block', 'block', 'block']);
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(0);
  });

  test('API keys need the scope of the rule’s list: mailboxes:* for a mailbox’s rules, domains:* for a domain’s', async () => {
    const { owner, domain, anna, s } = await ownerWithMailboxes();
    const mailboxRule = (await addOwn(s, anna.id, 'm.example')).json();
    const domainRule = (await add(s, domain.id, 'd.example')).json();
    const domainsKey = { key: await createKey(t.prisma, owner.id, ['domains:read', 'domains:write']) };
    const mailboxesKey = { key: await createKey(t.prisma, owner.id, ['mailboxes:read', 'mailboxes:write']) };
    expect((await addOwn(domainsKey, anna.id, 'x.example')).statusCode).toBe(403);
    expect((await call(t.app, domainsKey, 'PATCH', `/api/v1/sender-rules/${mailboxRule.id}`, { action: 'allow' })).statusCode).toBe(403);
    expect((await call(t.app, mailboxesKey, 'PATCH', `/api/v1/sender-rules/${domainRule.id}`, { action: 'allow' })).statusCode).toBe(403);
    expect((await call(t.app, mailboxesKey, 'PATCH', `/api/v1/sender-rules/${mailboxRule.id}`, { action: 'allow' })).statusCode).toBe(200);
    expect((await call(t.app, domainsKey, 'DELETE', `/api/v1/sender-rules/${domainRule.id}`)).statusCode).toBe(204);
    expect((await addOwn(mailboxesKey, anna.id, 'y.example')).statusCode).toBe(201);
  });

  test('an owner whose domain is being transferred away adds no rule to its mailboxes (409, or 404 once it is gone)', async () => {
    const { s, anna, domain } = await ownerWithMailboxes();
    const other = await createOwnerWithDomain(t, admin);
    // the transfer holds the domain's row while the request finds the mailbox visible and then waits for that row
    let request: ReturnType<typeof addOwn> | undefined;
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE domains SET owner_id = ${other.owner.id}::uuid WHERE id = ${domain.id}::uuid`;
      request = addOwn(s, anna.id, 'late.example');
      await new Promise((r) => setTimeout(r, 400));
    });
    const r = await request!;
    expect([404, 409], r.body).toContain(r.statusCode);
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(0);
  });

  test(`a mailbox holds at most ${MAX_SENDER_RULES} rules of its own, also in a burst (422), apart from the domain’s`, async () => {
    const { domain, anna, annaSession } = await ownerWithMailboxes();
    await t.prisma.senderRule.createMany({
      data: Array.from({ length: MAX_SENDER_RULES - 2 }, (_, i) => ({
        domainId: domain.id,
        mailboxId: anna.id,
        pattern: `s${i}.example`,
        action: 'block',
      })),
    });
    const burst = await Promise.all(Array.from({ length: 5 }, (_, i) => addOwn(annaSession, anna.id, `burst${i}.example`)));
    expect(burst.map((r) => r.statusCode).sort()).toEqual([201, 201, 422, 422, 422]);
    expect(burst.find((r) => r.statusCode === 422)!.json()).toMatchObject({ code: 'LIMIT_SENDER_RULES_EXCEEDED' });
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(MAX_SENDER_RULES);
    // the domain's own list is not counted against it, nor it against the domain's
    expect((await call(t.app, admin, 'POST', rules(domain.id), { pattern: 'still.example', action: 'block' })).statusCode).toBe(201);
  });
});

describe('importing and exporting a list', () => {
  const importInto = (s: Credentials, url: string, body: unknown) => call(t.app, s, 'POST', `${url}/import`, body);

  test('an import merges: new senders created, listed ones take the imported action, spellings merged; audited per rule', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    await add(s, domain.id, 'kept.example', 'allow');
    await add(s, domain.id, 'flip@shop.example', 'allow');
    const body = {
      rules: [
        { pattern: 'Spam.Example', action: 'block' },
        { pattern: '@spam.example', action: 'block' }, // the same sender in another spelling: counted once
        { pattern: 'FLIP@shop.example', action: 'block' },
        { pattern: '*.zip', action: 'block' },
        { pattern: 'kept.example', action: 'allow' },
      ],
    };
    const dry = await importInto(s, rules(domain.id), { ...body, dryRun: true });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, created: 2, updated: 1, unchanged: 1, deleted: 0, duplicates: 1, total: 4 });
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(2);

    const r = await importInto(s, rules(domain.id), body);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      dryRun: false,
      created: 2,
      updated: 1,
      unchanged: 1,
      deleted: 0,
      duplicates: 1,
      total: 4,
      rules: [
        { pattern: 'spam.example', action: 'block', outcome: 'created' },
        { pattern: 'flip@shop.example', action: 'block', outcome: 'updated' },
        { pattern: '.zip', action: 'block', outcome: 'created' },
        { pattern: 'kept.example', action: 'allow', outcome: 'unchanged' },
      ],
      deletedPatterns: [],
    });
    const listed = (await call(t.app, s, 'GET', rules(domain.id))).json();
    expect(listed.items.map((x: { pattern: string; action: string }) => `${x.pattern} ${x.action}`)).toEqual([
      '.zip block',
      'flip@shop.example block',
      'kept.example allow',
      'spam.example block',
    ]);
    const audit = await t.prisma.auditEvent.findMany({
      where: { action: { startsWith: 'sender-rule.' }, details: { path: ['domainId'], equals: domain.id } },
      orderBy: { action: 'asc' },
    });
    expect(audit.map((a) => a.action).sort()).toEqual([
      'sender-rule.create',
      'sender-rule.create',
      'sender-rule.create',
      'sender-rule.create',
      'sender-rule.import',
      'sender-rule.update',
    ]);
    expect(audit.find((a) => a.action === 'sender-rule.update')!.details).toMatchObject({
      pattern: 'flip@shop.example',
      action: 'block',
      previousAction: 'allow',
    });
    expect(audit.find((a) => a.action === 'sender-rule.import')!.details).toMatchObject({
      created: 2,
      updated: 1,
      total: 4,
      replace: false,
    });
  });

  test('replace makes the list exactly the import; an empty import with replace clears it', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    for (const p of ['a.example', 'b.example', 'c@c.example']) await add(s, domain.id, p);
    const r = await importInto(s, rules(domain.id), {
      rules: [
        { pattern: 'b.example', action: 'allow' },
        { pattern: 'd.example', action: 'block' },
      ],
      replace: true,
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ created: 1, updated: 1, deleted: 2, total: 2, deletedPatterns: ['a.example', 'c@c.example'] });
    const stored = await t.prisma.senderRule.findMany({ where: { domainId: domain.id }, orderBy: { pattern: 'asc' } });
    expect(stored.map((x) => `${x.pattern} ${x.action}`)).toEqual(['b.example allow', 'd.example block']);
    const cleared = await importInto(s, rules(domain.id), { rules: [], replace: true });
    expect(cleared.json()).toMatchObject({ deleted: 2, total: 0 });
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(0);
  });

  test('any invalid entry is 422 IMPORT_INVALID naming every one, and nothing changes; over the limit is 422 too', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    await add(s, domain.id, 'keep.example');
    const bad = await importInto(s, rules(domain.id), {
      rules: [
        { pattern: 'fine.example', action: 'block' },
        { pattern: '*.example.org', action: 'block' },
        { pattern: 'Twice.example', action: 'block' },
        { pattern: '@twice.example', action: 'allow' },
        { pattern: 'org', action: 'block' },
      ],
      replace: true,
    });
    expect(bad.statusCode, bad.body).toBe(422);
    expect(bad.json()).toMatchObject({
      code: 'IMPORT_INVALID',
      details: {
        entries: 5,
        errorCount: 3,
        errors: [
          { index: 1, pattern: '*.example.org', code: 'invalid_pattern' },
          {
            index: 3,
            pattern: '@twice.example',
            code: 'conflicting_duplicate',
            message: expect.stringMatching(/entry 2 .*twice\.example/),
            earlier: 2,
          },
          { index: 4, pattern: 'org', code: 'invalid_pattern' },
        ],
      },
    });
    const stored = await t.prisma.senderRule.findMany({ where: { domainId: domain.id } });
    expect(stored.map((x) => x.pattern)).toEqual(['keep.example']);

    // malformed bodies are 400 before anything is read
    for (const body of [
      {},
      { rules: 'x.example' },
      { rules: [{ pattern: 'x.example', action: 'reject' }] },
      { rules: Array(MAX_SENDER_RULES + 1).fill({ pattern: 'x.example', action: 'block' }) },
    ]) {
      const r = await importInto(s, rules(domain.id), body);
      expect(r.statusCode, r.body).toBe(400);
    }

    await t.prisma.senderRule.createMany({
      data: Array.from({ length: MAX_SENDER_RULES - 2 }, (_, i) => ({ domainId: domain.id, pattern: `s${i}.example`, action: 'block' })),
    });
    const three = [1, 2, 3].map((i) => ({ pattern: `new${i}.example`, action: 'block' }));
    const over = await importInto(s, rules(domain.id), { rules: three });
    expect(over.statusCode, over.body).toBe(422);
    expect(over.json().code).toBe('LIMIT_SENDER_RULES_EXCEEDED');
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(MAX_SENDER_RULES - 1);
    // replacing instead frees the room
    const replaced = await importInto(s, rules(domain.id), { rules: three, replace: true });
    expect(replaced.json()).toMatchObject({ created: 3, deleted: MAX_SENDER_RULES - 1, total: 3 });
  });

  test('the export is CSV that lists the rules in pattern order, with the formula guard', async () => {
    const { s, domain, anna, annaSession } = await ownerWithMailboxes();
    await add(s, domain.id, 'shop.example');
    await add(s, domain.id, '=cmd@evil.example', 'allow');
    await addOwn(annaSession, anna.id, 'news@shop.example');
    const r = await call(t.app, s, 'GET', `${rules(domain.id)}/export`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toBe(`attachment; filename="sender-rules-${domain.name}.csv"`);
    expect(r.body).toBe("pattern,action\r\n'=cmd@evil.example,allow\r\nshop.example,block\r\n");
    const own = await call(t.app, annaSession, 'GET', `${mailboxRules(anna.id)}/export`);
    expect([own.statusCode, own.body]).toEqual([200, 'pattern,action\r\nnews@shop.example,block\r\n']);
    expect(own.headers['content-disposition']).toBe(`attachment; filename="sender-rules-anna_${domain.name}.csv"`);
    // it has no options: a stray one is 400, as on the lists
    expect((await call(t.app, s, 'GET', `${rules(domain.id)}/export?limit=10`)).statusCode).toBe(400);
  });

  test('a mailbox user imports into their own list only; other tenants, colleagues, alias domains and read-only keys change nothing', async () => {
    const { s, owner, domain, anna, ben, annaSession } = await ownerWithMailboxes();
    const mine = await importInto(annaSession, mailboxRules(anna.id), { rules: [{ pattern: 'promo.example', action: 'block' }] });
    expect(mine.statusCode, mine.body).toBe(200);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { action: 'sender-rule.import', targetId: anna.id } });
    expect([audit.actorType, audit.targetType]).toEqual(['mailbox', 'mailbox']);
    expect(audit.details).toMatchObject({ mailboxId: anna.id, address: anna.address, created: 1 });

    const one = { rules: [{ pattern: 'x.example', action: 'block' }], replace: true };
    expect((await importInto(annaSession, mailboxRules(ben.id), one)).statusCode).toBe(404);
    expect((await call(t.app, annaSession, 'GET', `${mailboxRules(ben.id)}/export`)).statusCode).toBe(404);
    expect((await importInto(annaSession, rules(domain.id), one)).statusCode).toBe(403);
    expect((await call(t.app, annaSession, 'GET', `${rules(domain.id)}/export`)).statusCode).toBe(403);
    const other = await createOwnerWithDomain(t, admin);
    expect((await importInto(other.s, rules(domain.id), one)).statusCode).toBe(404);
    expect((await importInto(other.s, mailboxRules(anna.id), one)).statusCode).toBe(404);
    expect((await call(t.app, other.s, 'GET', `${rules(domain.id)}/export`)).statusCode).toBe(404);
    const readOnly = { key: await createKey(t.prisma, owner.id, ['domains:read', 'mailboxes:read']) };
    expect((await importInto(readOnly, rules(domain.id), one)).statusCode).toBe(403);
    expect((await importInto(readOnly, mailboxRules(anna.id), one)).statusCode).toBe(403);
    expect((await call(t.app, readOnly, 'GET', `${rules(domain.id)}/export`)).statusCode).toBe(200);
    const aliasDomain = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('al')}.example`,
      ownerId: owner.id,
      verified: true,
      aliasOf: domain.id,
    });
    const toAlias = await importInto(s, rules(aliasDomain.json().id), one);
    expect([toAlias.statusCode, toAlias.json().code]).toEqual([409, 'DOMAIN_IS_ALIAS']);
    expect(
      await t.prisma.senderRule.count({
        where: { OR: [{ mailboxId: ben.id }, { domainId: { in: [domain.id, aliasDomain.json().id] }, mailboxId: null }] },
      }),
    ).toBe(0);
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(1);
  });

  test('two imports at once into one list both land whole (the list lock orders them)', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    const a = Array.from({ length: 50 }, (_, i) => ({ pattern: `a${i}.example`, action: 'block' }));
    const b = Array.from({ length: 50 }, (_, i) => ({ pattern: i < 25 ? `a${i}.example` : `b${i}.example`, action: 'allow' }));
    const [ra, rb] = await Promise.all([importInto(s, rules(domain.id), { rules: a }), importInto(s, rules(domain.id), { rules: b })]);
    expect([ra.statusCode, rb.statusCode], `${ra.body} ${rb.body}`).toEqual([200, 200]);
    expect(await t.prisma.senderRule.count({ where: { domainId: domain.id } })).toBe(75);
  });
});

describe('an owner who keeps the mailboxes’ lists', () => {
  test('the users see theirs but change nothing (403 SENDER_RULES_OWNER_ONLY); the owner and keys still do; switched back, users may again', async () => {
    const { s, owner, domain, anna, annaSession } = await ownerWithMailboxes();
    const before = (await addOwn(annaSession, anna.id, 'mine.example')).json();
    const me = async () => (await call(t.app, annaSession, 'GET', '/api/v1/me')).json().mailbox.mayChangeSenderRules;
    expect(await me()).toBe(true);

    const off = await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { mailboxUsersSenderRules: false });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json().mailboxUsersSenderRules).toBe(false);
    expect(await me()).toBe(false);

    const refused = [
      await addOwn(annaSession, anna.id, 'new.example'),
      await call(t.app, annaSession, 'POST', `${mailboxRules(anna.id)}/import`, { rules: [], replace: true }),
      await call(t.app, annaSession, 'POST', `${mailboxRules(anna.id)}/import`, { rules: [], replace: true, dryRun: true }),
      await call(t.app, annaSession, 'PATCH', `/api/v1/sender-rules/${before.id}`, { action: 'allow' }),
      await call(t.app, annaSession, 'DELETE', `/api/v1/sender-rules/${before.id}`),
    ];
    for (const r of refused) {
      expect(r.statusCode, r.body).toBe(403);
      expect(r.json().code).toBe('SENDER_RULES_OWNER_ONLY');
    }
    // reading stays theirs, and nothing changed
    const listed = await call(t.app, annaSession, 'GET', mailboxRules(anna.id));
    expect(listed.json().items.map((r: { pattern: string; action: string }) => `${r.pattern} ${r.action}`)).toEqual(['mine.example block']);
    expect((await call(t.app, annaSession, 'GET', `${mailboxRules(anna.id)}/export`)).statusCode).toBe(200);
    // the user cannot switch it back themselves
    expect((await call(t.app, annaSession, 'PATCH', `/api/v1/domains/${domain.id}`, { mailboxUsersSenderRules: null })).statusCode).toBe(
      403,
    );

    // the owner, and a key with mailboxes:write, keep the list
    expect((await addOwn(s, anna.id, 'owner-set.example')).statusCode).toBe(201);
    const key = { key: await createKey(t.prisma, owner.id, ['mailboxes:read', 'mailboxes:write']) };
    expect((await call(t.app, key, 'PATCH', `/api/v1/sender-rules/${before.id}`, { action: 'allow' })).statusCode).toBe(200);

    const on = await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { mailboxUsersSenderRules: null });
    expect([on.statusCode, on.json().mailboxUsersSenderRules]).toEqual([200, null]);
    expect(await me()).toBe(true);
    expect((await call(t.app, annaSession, 'DELETE', `/api/v1/sender-rules/${before.id}`)).statusCode).toBe(204);
  });

  test('a user’s change that waits behind the owner’s switch is refused once it is off', async () => {
    const { domain, anna, annaSession } = await ownerWithMailboxes();
    // the switch holds the domain's row while the user's request passes its first check and then waits for that row
    let request: ReturnType<typeof addOwn> | undefined;
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE domains SET mailbox_users_sender_rules = false WHERE id = ${domain.id}::uuid`;
      request = addOwn(annaSession, anna.id, 'late.example');
      await new Promise((r) => setTimeout(r, 400));
    });
    const r = await request!;
    expect([r.statusCode, r.json().code]).toEqual([403, 'SENDER_RULES_OWNER_ONLY']);
    expect(await t.prisma.senderRule.count({ where: { mailboxId: anna.id } })).toBe(0);
  });

  test('so is a change or deletion of one of their rules that waits behind it', async () => {
    const { domain, anna, annaSession } = await ownerWithMailboxes();
    const rule = (await addOwn(annaSession, anna.id, 'kept.example')).json();
    for (const [method, body] of [
      ['PATCH', { action: 'allow' }],
      ['DELETE', undefined],
    ] as const) {
      await t.prisma.domain.update({ where: { id: domain.id }, data: { mailboxUsersSenderRules: null } });
      let request: ReturnType<typeof call> | undefined;
      await t.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE domains SET mailbox_users_sender_rules = false WHERE id = ${domain.id}::uuid`;
        request = call(t.app, annaSession, method, `/api/v1/sender-rules/${rule.id}`, body);
        await new Promise((r) => setTimeout(r, 400));
      });
      const r = await request!;
      expect([r.statusCode, r.json().code], `${method}: ${r.body}`).toEqual([403, 'SENDER_RULES_OWNER_ONLY']);
    }
    const stored = await t.prisma.senderRule.findUniqueOrThrow({ where: { id: rule.id } });
    expect(stored.action).toBe('block');
  });

  test('an alias domain has no such setting (400), and a domain converted into one drops it', async () => {
    const { s, owner, domain } = await createOwnerWithDomain(t, admin);
    const created = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('al')}.example`,
      ownerId: owner.id,
      verified: true,
      aliasOf: domain.id,
    });
    const r = await call(t.app, s, 'PATCH', `/api/v1/domains/${created.json().id}`, { mailboxUsersSenderRules: false });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().errors).toEqual([expect.objectContaining({ path: 'mailboxUsersSenderRules', code: 'alias_domain' })]);
    const spare = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('sp')}.example`,
      ownerId: owner.id,
      verified: true,
      mailboxUsersSenderRules: false,
    });
    expect(spare.json().mailboxUsersSenderRules).toBe(false);
    const converted = await call(t.app, s, 'PATCH', `/api/v1/domains/${spare.json().id}`, { aliasOf: domain.id });
    expect([converted.statusCode, converted.json().mailboxUsersSenderRules]).toEqual([200, null]);
  });
});
