// A pending (unverified) domain claim hosts nothing: the ingress answers exactly as for a name nobody hosts.
import { randomBytes } from 'node:crypto';
import { uniqueName } from '@mailroom/db/testing';
import { describe, expect, it } from 'vitest';
import { testPrisma, type Fixture } from './testing/fixtures.ts';
import { type RunningIngress, useIngressWithFixture } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const prisma = testPrisma(5);
let ing: RunningIngress;
let f: Fixture;
useIngressWithFixture(prisma, (started) => ({ ing, f } = started));

async function pendingClaim(name: string) {
  return prisma.domain.create({
    data: {
      name,
      ownerId: f.ownerId,
      verificationToken: randomBytes(16).toString('hex'),
      claimExpiresAt: new Date(Date.now() + 3_600_000),
    },
  });
}

async function rcpt(port: number, to: string) {
  const c = await WireClient.connect(port);
  await c.command(port === ing.ports.lmtp ? 'LHLO mta.test' : 'EHLO client.test');
  await c.command('MAIL FROM:<sender@example.org>');
  const r = await c.command(`RCPT TO:<${to}>`);
  await c.quit();
  return [r.code, r.text];
}

describe('pending domain claims', () => {
  it('RCPT to a mailbox, alias or catch-all of a pending domain gets the unhosted-domain reply over SMTP and LMTP; nothing is stored', async () => {
    const name = `${uniqueName('pend')}.example.com`;
    const d = await pendingClaim(name);
    const m = await f.mailbox('alice', { domainId: d.id });
    await f.alias('sales', [m.id], { domainId: d.id });
    await f.alias(null, [m.id], { domainId: d.id });
    // Also as the destination of an alias in a hosted domain: a pending mailbox receives nothing that way either.
    await f.alias('forward', [m.id]);
    const unhosted = await rcpt(ing.ports.smtp, `alice@${uniqueName('nobody')}.example.com`);
    expect(unhosted[0]).toBe(550);
    for (const to of [`alice@${name}`, `sales@${name}`, `anything@${name}`, `ALICE@${name.toUpperCase()}`]) {
      expect(await rcpt(ing.ports.smtp, to), to).toEqual(unhosted);
      expect(await rcpt(ing.ports.lmtp, to), `LMTP ${to}`).toEqual(unhosted);
    }
    const viaAlias = await rcpt(ing.ports.smtp, `forward@${f.domain}`);
    expect(viaAlias[0]).toBe(550);
    expect(await prisma.message.count({ where: { mailboxId: m.id } })).toBe(0);

    // Once verified, the same addresses take mail.
    await prisma.domain.update({ where: { id: d.id }, data: { verifiedAt: new Date(), verificationToken: null, claimExpiresAt: null } });
    expect((await rcpt(ing.ports.smtp, `alice@${name}`))[0]).toBe(250);
    expect((await rcpt(ing.ports.smtp, `sales@${name}`))[0]).toBe(250);
    expect((await rcpt(ing.ports.smtp, `forward@${f.domain}`))[0]).toBe(250);
  });
});
