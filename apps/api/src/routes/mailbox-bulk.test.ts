import { domainToUnicode } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  authHeaders,
  call,
  createKey,
  createOwnerWithDomain,
  createTestApp,
  createTestAppWithAdmin,
  createUser,
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

const PW = 'import passphrase 1';
const GIB = 2 ** 30;

const ownerWithDomain = (limits: { maxMailboxes?: number; maxStorageBytes?: bigint } = {}, domain: Record<string, unknown> = {}) =>
  createOwnerWithDomain(t, admin, limits, domain);

function importCsv(creds: Credentials, domainId: string, csv: string | Buffer, query = '', contentType = 'text/csv') {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/domains/${domainId}/mailboxes/import${query}`,
    headers: { ...authHeaders(creds, 'POST'), 'content-type': contentType },
    payload: csv,
  });
}

async function countMailboxes(domainId: string) {
  return t.prisma.mailbox.count({ where: { domainId } });
}

describe('mailbox CSV import', () => {
  test('dry run: every kind of bad row is reported as {row, field, code} (BOM, CRLF, quoted fields); nothing is written', async () => {
    const { s, domain } = await ownerWithDomain();
    const existing = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'existing', password: PW });
    const alias = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, {
      localPart: 'sales',
      destinations: [existing.json().id],
    });
    expect(alias.statusCode, alias.body).toBe(201);
    const rows = [
      'Address,Password,Display Name,Quota,Enabled',
      `good,${PW},"Good, Person",2 GB,yes`, // 2
      `bad..dots,${PW},,,`, // 3 invalid_local_part
      `someone@other.example,${PW},,,`, // 4 wrong_domain
      `GOOD@${domain.name.toUpperCase()},${PW},,,`, // 5 duplicate_in_file (case)
      `existing,${PW},,,`, // 6 taken
      `sales,${PW},,,`, // 7 alias_taken
      `sized,${PW},,12 parsecs,`, // 8 invalid_size
      'weak,password123,,,', // 9 too_common
      `flag,${PW},,,maybe`, // 10 invalid_boolean
      `short,${PW}`, // 11 column_count
      ',,,,', // 12 required
      `multi,,"line one\r\nline two",500MiB,0`, // 13 valid (generated password, quoted newline)
    ];
    const csv = `\uFEFF${rows.join('\r\n')}\r\n`;
    const res = await importCsv(s, domain.id, csv, '?dryRun=true');
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json();
    const codes = r.errors.map((e: { row: number; field: string; code: string }) => `${e.row}:${e.field}:${e.code}`);
    expect(codes).toEqual([
      '3:address:invalid_local_part',
      '4:address:wrong_domain',
      '5:address:duplicate_in_file',
      '6:address:taken',
      '7:address:alias_taken',
      '8:quota:invalid_size',
      '9:password:too_common',
      '10:enabled:invalid_boolean',
      '11::column_count',
      '12:address:required',
    ]);
    expect(r).toMatchObject({ dryRun: true, rows: 12, valid: 2, invalid: 10, created: 0, passwordsToGenerate: 1, generatedPasswords: [] });
    expect(await countMailboxes(domain.id)).toBe(1);
  });

  test('real run is all-or-nothing: one bad row → 422 IMPORT_INVALID with the rows, nothing created', async () => {
    const { s, domain } = await ownerWithDomain();
    const res = await importCsv(s, domain.id, `address,password\nalice,${PW}\nbob,short\n`);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'IMPORT_INVALID',
      details: { rows: 2, invalid: 1, errors: [{ row: 3, field: 'password', code: 'too_short' }] },
    });
    expect(await countMailboxes(domain.id)).toBe(0);
  });

  test('LF, IDN spelling of the domain, human sizes, generated passwords that work once shown, argon2id hashes and audit events', async () => {
    const { s, domain } = await ownerWithDomain({}, { defaultQuotaBytes: 1_000_000 });
    const csv = [
      'email,pass,name,size,active',
      `Alice@${domain.name},${PW},"Alice ""Al"" Smith",2 GB,true`,
      'bob,,Bob,500MiB,false',
      'carol,,,2G,',
      'dave,,,,', // domain default quota
      'eve,,,unlimited,',
    ].join('\n');
    const res = await importCsv(s, domain.id, csv);
    expect(res.statusCode, res.body).toBe(201);
    const r = res.json();
    expect(r).toMatchObject({ dryRun: false, rows: 5, created: 5, invalid: 0, errors: [] });
    expect(r.generatedPasswords).toHaveLength(4);
    const rows = await t.prisma.mailbox.findMany({ where: { domainId: domain.id }, orderBy: { localPart: 'asc' } });
    expect(rows.map((m) => [m.localPart, m.displayName, m.quotaBytes === null ? null : Number(m.quotaBytes), m.enabled])).toEqual([
      ['alice', 'Alice "Al" Smith', 2 * GIB, true],
      ['bob', 'Bob', 500 * 2 ** 20, false],
      ['carol', null, 2 * GIB, true],
      ['dave', null, 1_000_000, true],
      ['eve', null, null, true],
    ]);
    for (const m of rows) expect(m.passwordHash).toMatch(/^\$argon2id\$/);
    const carol = r.generatedPasswords.find((g: { address: string }) => g.address === `carol@${domain.name}`);
    await login(t.app, carol.address, carol.password);
    await login(t.app, `alice@${domain.name}`, PW);
    const audits = await t.prisma.auditEvent.findMany({ where: { details: { path: ['domainId'], equals: domain.id } } });
    expect(audits.filter((a) => a.action === 'mailbox.create')).toHaveLength(5);
    const summary = audits.filter((a) => a.action === 'mailbox.import');
    expect(summary).toHaveLength(1);
    expect(summary[0]!.details).toMatchObject({ rows: 5, created: 5, skipped: 0, generated: 4 });
    expect(JSON.stringify(audits)).not.toContain(carol.password);
    // each imported mailbox also produces its webhook event, like a single creation, plus one for the import
    const events = await t.prisma.webhookEvent.findMany({ where: { domainId: domain.id } });
    expect(events.filter((e) => e.type === 'mailbox.created')).toHaveLength(5);
    expect(events.filter((e) => e.type === 'mailbox.import_completed')).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(carol.password);
  });

  test('duplicates in any spelling: letter case, Unicode and punycode forms of an IDN domain', async () => {
    const { s, domain } = await ownerWithDomain({}, { name: `${uniqueName('bücher')}.example` });
    expect(domain.name).toMatch(/^xn--/);
    const unicode = domainToUnicode(domain.name);
    const res = await importCsv(s, domain.id, `address\nInfo@${unicode}\ninfo@${domain.name.toUpperCase()}\nINFO\n`, '?dryRun=true');
    expect(res.json().errors.map((e: { row: number; code: string; message: string }) => `${e.row}:${e.code}:${e.message}`)).toEqual([
      '3:duplicate_in_file:is the same mailbox as row 2',
      '4:duplicate_in_file:is the same mailbox as row 2',
    ]);
  });

  test('over a real socket, the CSV streamed in small chunks', async () => {
    const { s, domain } = await ownerWithDomain();
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const text = `\uFEFFaddress,password\r\n${Array.from({ length: 200 }, (_, i) => `user${i},`).join('\r\n')}\r\n`;
    const body = new ReadableStream({
      start(c) {
        const bytes = new TextEncoder().encode(text);
        for (let i = 0; i < bytes.length; i += 100) c.enqueue(bytes.slice(i, i + 100));
        c.close();
      },
    });
    const res = await fetch(`${address}/api/v1/domains/${domain.id}/mailboxes/import?dryRun=true`, {
      method: 'POST',
      headers: { ...authHeaders(s, 'POST'), 'content-type': 'text/csv' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rows: 200, valid: 200, passwordsToGenerate: 200 });
  });

  test('skipInvalid imports the valid rows and reports the rest', async () => {
    const { s, domain } = await ownerWithDomain();
    const res = await importCsv(s, domain.id, `address,password\nok1,${PW}\nbad user,${PW}\nok2,\n`, '?skipInvalid=true');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ rows: 3, created: 2, invalid: 1, errors: [{ row: 3, code: 'invalid_local_part' }] });
    expect(await countMailboxes(domain.id)).toBe(2);
  });

  test('limits crossing mid-file: the first row past the mailbox or storage limit and every later one are refused', async () => {
    const { s, domain } = await ownerWithDomain({ maxMailboxes: 3 });
    await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'first', password: PW });
    const count = await importCsv(s, domain.id, `address\na\nb\nc\nd\n`, '?dryRun=true');
    expect(count.json().errors.map((e: { row: number; code: string }) => `${e.row}:${e.code}`)).toEqual([
      '4:limit_mailboxes',
      '5:limit_mailboxes',
    ]);
    const real = await importCsv(s, domain.id, `address\na\nb\nc\nd\n`, '?skipInvalid=true');
    expect(real.json()).toMatchObject({ created: 2 });
    expect(await countMailboxes(domain.id)).toBe(3);

    const st = await ownerWithDomain({ maxStorageBytes: BigInt(3 * GIB) });
    const storage = await importCsv(st.s, st.domain.id, 'address,quota\na,1GiB\nb,1GiB\nc,2GiB\nd,1GiB\ne,\n', '?dryRun=true');
    expect(storage.json().errors.map((e: { row: number; field: string; code: string }) => `${e.row}:${e.field}:${e.code}`)).toEqual([
      '4:quota:limit_storage',
      '6:quota:quota_required',
    ]);
    const all = await importCsv(st.s, st.domain.id, 'address,quota\na,1GiB\nb,1GiB\nc,2GiB\n');
    expect(all.statusCode).toBe(422);
    expect(await countMailboxes(st.domain.id)).toBe(0);
  });

  test("abuse: another tenant's domain, a domain-restricted key, wrong content type, malformed CSV, bad header", async () => {
    const a = await ownerWithDomain();
    const b = await ownerWithDomain();
    expect((await importCsv(a.s, b.domain.id, `address\nx\n`)).statusCode).toBe(404);
    const key = await createKey(t.prisma, a.owner.id, ['mailboxes:write'], [a.domain.id]);
    const other = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('d')}.example`,
      ownerId: a.owner.id,
      verified: true,
    });
    expect((await importCsv({ key }, other.json().id, `address\nx\n`)).statusCode).toBe(404);
    const readOnly = await createKey(t.prisma, a.owner.id, ['mailboxes:read']);
    expect((await importCsv({ key: readOnly }, a.domain.id, `address\nx\n`)).json().code).toBe('FORBIDDEN');
    expect((await importCsv(a.s, a.domain.id, '{"address":"x"}', '', 'application/json')).statusCode).toBe(415);
    const unclosed = await importCsv(a.s, a.domain.id, 'address,displayName\nx,"never closed\n');
    expect(unclosed.statusCode).toBe(400);
    expect(unclosed.json().code).toBe('VALIDATION_FAILED');
    const header = await importCsv(a.s, a.domain.id, 'adress,pasword\nx,y\n');
    expect(header.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'header', code: 'unknown_column' }] });
    expect((await importCsv(a.s, a.domain.id, '')).json().errors[0].code).toBe('empty_file');
    const nul = await importCsv(a.s, a.domain.id, 'address,displayName\nx,"a\u0000b"\n', '?skipInvalid=true');
    expect(nul.json()).toMatchObject({ created: 0, errors: [{ row: 2, field: 'displayName', code: 'nul_character' }] });
    expect(await countMailboxes(a.domain.id)).toBe(0);
    expect(await countMailboxes(b.domain.id)).toBe(0);
  });

  test('abuse: a huge file is refused with 413 (bytes and rows), nothing written', async () => {
    const small = await createTestApp({ importMaxBytes: 10_000, importMaxRows: 50 });
    try {
      const o = await createUser(small);
      const s = await login(small.app, o.email, o.password);
      const d = (
        await call(
          small.app,
          await login(small.app, (await createUser(small, { role: 'ADMIN' })).email, 'correct horse battery staple 42'),
          'POST',
          '/api/v1/domains',
          { name: `${uniqueName('d')}.example`, ownerId: o.id, verified: true },
        )
      ).json();
      const send = (csv: string) =>
        small.app.inject({
          method: 'POST',
          url: `/api/v1/domains/${d.id}/mailboxes/import?dryRun=true`,
          headers: { ...authHeaders(s, 'POST'), 'content-type': 'text/csv' },
          payload: csv,
        });
      const big = await send(`address\n${'x'.repeat(20_000)}\n`);
      expect(big.statusCode).toBe(413);
      expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
      const many = await send(`address\n${Array.from({ length: 51 }, (_, i) => `u${i}`).join('\n')}\n`);
      expect(many.statusCode).toBe(413);
      expect(many.json()).toMatchObject({ code: 'TOO_MANY_ROWS', details: { maxRows: 50 } });
      expect((await send(`address\n${Array.from({ length: 50 }, (_, i) => `u${i}`).join('\n')}\n`)).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('mailbox CSV export', () => {
  test('streams every mailbox as CSV without secrets; formula cells are neutralised; the file imports again', async () => {
    const { s, domain } = await ownerWithDomain();
    for (const [localPart, displayName] of [
      ['alice', '=HYPERLINK("http://evil")'],
      ['-bob', '+1 234'],
      ['carol', 'Carol, "C"'],
    ]) {
      expect(
        (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart, password: PW, displayName, quotaBytes: GIB }))
          .statusCode,
      ).toBe(201);
    }
    const res = await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes/export`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain(`mailboxes-${domain.name}.csv`);
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('address,displayName,quota,usedBytes,messageCount,enabled,lastLoginAt,createdAt');
    expect(lines[1]).toMatch(new RegExp(`^'-bob@${domain.name.replace(/\./g, '\\.')},'\\+1 234,${GIB},0,0,true,,`));
    expect(lines[2]).toMatch(/^alice@[^,]+,"'=HYPERLINK\(""http:\/\/evil""\)",/);
    expect(lines[3]).toMatch(/^carol@[^,]+,"Carol, ""C""",/);
    expect(res.body).not.toMatch(/argon2|\$argon|passphrase/);
    // Another tenant cannot export it.
    const other = await ownerWithDomain();
    expect((await call(t.app, other.s, 'GET', `/api/v1/domains/${domain.id}/mailboxes/export`)).statusCode).toBe(404);
    // The export's columns import again (state columns ignored): every row is taken in this domain.
    const again = await importCsv(s, domain.id, res.body.replace(`'-bob`, '-bob'), '?dryRun=true');
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().errors.map((e: { code: string }) => e.code)).toEqual(['taken', 'taken', 'taken']);
  });
});

describe('bulk mailbox actions', () => {
  async function withMailboxes(n: number, limits: { maxStorageBytes?: bigint } = {}) {
    const f = await ownerWithDomain(limits);
    const csv = `address,password,quota\n${Array.from({ length: n }, (_, i) => `user${i},${PW},1GiB`).join('\n')}\n`;
    expect((await importCsv(f.s, f.domain.id, csv)).statusCode).toBe(201);
    const ids = (
      await t.prisma.mailbox.findMany({ where: { domainId: f.domain.id }, orderBy: { localPart: 'asc' }, select: { id: true } })
    ).map((m) => m.id);
    return { ...f, ids };
  }
  const bulk = (creds: Credentials, domainId: string, body: unknown) =>
    call(t.app, creds, 'POST', `/api/v1/domains/${domainId}/mailboxes/bulk`, body);

  test('disable a selection and enable by filter, with one summary audit and one per mailbox; disabled users are signed out', async () => {
    const { s, domain, ids } = await withMailboxes(4);
    const mailboxSession = await login(t.app, `user0@${domain.name}`, PW);
    const res = await bulk(s, domain.id, { action: 'disable', selection: { ids: ids.slice(0, 3) } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ action: 'disable', matched: 3, changed: 3, generatedPasswords: [] });
    expect((await call(t.app, mailboxSession, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id, enabled: false } })).toBe(3);
    const en = await bulk(s, domain.id, { action: 'enable', selection: { filter: { enabled: false, q: 'user' } } });
    expect(en.json()).toMatchObject({ matched: 3, changed: 3 });
    const audits = await t.prisma.auditEvent.findMany({ where: { details: { path: ['domainId'], equals: domain.id } } });
    expect(audits.filter((a) => a.action === 'mailbox.disable')).toHaveLength(3);
    expect(
      audits
        .filter((a) => a.action === 'mailbox.bulk')
        .map((a) => (a.details as { action: string }).action)
        .sort(),
    ).toEqual(['disable', 'enable']);
  });

  test("abuse: another tenant's ids in the selection, or a key restricted to another domain, are refused and change nothing", async () => {
    const a = await withMailboxes(2);
    const b = await withMailboxes(2);
    const mixed = await bulk(a.s, a.domain.id, { action: 'delete', selection: { ids: [...a.ids, b.ids[0]] } });
    expect(mixed.statusCode).toBe(404);
    expect(mixed.json()).toMatchObject({ code: 'NOT_FOUND', errors: [{ path: 'selection.ids', code: 'unknown_ids' }] });
    // Naming the other tenant's domain in the URL does not help either.
    expect((await bulk(a.s, b.domain.id, { action: 'disable', selection: { ids: b.ids } })).statusCode).toBe(404);
    const key = await createKey(t.prisma, a.owner.id, ['mailboxes:write'], [a.domain.id]);
    const other = (
      await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, ownerId: a.owner.id, verified: true })
    ).json();
    expect((await bulk({ key }, other.id, { action: 'disable', selection: { filter: {} } })).statusCode).toBe(404);
    expect(await t.prisma.mailbox.count({ where: { id: { in: [...a.ids, ...b.ids] }, enabled: true } })).toBe(4);
    expect((await bulk(a.s, a.domain.id, { action: 'frobnicate', selection: { ids: a.ids } })).statusCode).toBe(400);
    expect((await bulk(a.s, a.domain.id, { action: 'setQuota', selection: { ids: a.ids } })).statusCode).toBe(400);
  });

  test('setQuota crossing the storage limit is refused with LIMIT_STORAGE_EXCEEDED and changes nothing; within it, all change', async () => {
    const { s, domain, ids } = await withMailboxes(3, { maxStorageBytes: BigInt(5 * GIB) });
    const over = await bulk(s, domain.id, { action: 'setQuota', selection: { ids }, quotaBytes: 2 * GIB });
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ code: 'LIMIT_STORAGE_EXCEEDED', details: { scope: 'owner' } });
    expect((await bulk(s, domain.id, { action: 'setQuota', selection: { ids }, quotaBytes: null })).json().code).toBe('QUOTA_REQUIRED');
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id, quotaBytes: BigInt(GIB) } })).toBe(3);
    const ok = await bulk(s, domain.id, { action: 'setQuota', selection: { ids: ids.slice(0, 2) }, quotaBytes: 2 * GIB });
    expect(ok.json()).toMatchObject({ matched: 2, changed: 2 });
  });

  test('resetPassword returns working passwords once; delete by filter frees the domain', async () => {
    const { s, domain, ids } = await withMailboxes(3);
    const res = await bulk(s, domain.id, { action: 'resetPassword', selection: { ids: ids.slice(0, 2) } });
    expect(res.statusCode, res.body).toBe(200);
    const gen = res.json().generatedPasswords as { address: string; password: string }[];
    expect(gen.map((g) => g.address)).toEqual([`user0@${domain.name}`, `user1@${domain.name}`]);
    await login(t.app, gen[0]!.address, gen[0]!.password);
    const old = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: gen[1]!.address, password: PW } });
    expect(old.statusCode).toBe(401);
    const del = await bulk(s, domain.id, { action: 'delete', selection: { filter: { q: 'user' } } });
    expect(del.json()).toMatchObject({ action: 'delete', matched: 3, changed: 3 });
    expect(await countMailboxes(domain.id)).toBe(0);
  });
});
