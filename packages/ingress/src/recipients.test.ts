// The RCPT lookups (and the From author's rules at DATA) as PostgreSQL runs them: each named statement settles on its
// generic plan after the plan cache's five custom ones, with and without sender patterns, against full rule lists with
// statistics. A statement that kept
// custom plans was planned anew at every RCPT, several times the cost of running it (see `lookups` in recipients.ts,
// and `npm run bench -- rcpt`), which no functional test would notice.
import { MAX_SENDER_RULES, senderRuleCandidates } from '@mailroom/core';
import { pgPoolOf } from '@mailroom/db';
import { uniqueName } from '@mailroom/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RecipientResolver } from './recipients.ts';
import { createFixture, testPrisma } from './testing/fixtures.ts';

describe('RCPT lookups and the plan cache (real database)', () => {
  // one connection, so pg_prepared_statements is the resolver's own session
  const prisma = testPrisma(1);
  afterAll(async () => prisma.$disconnect());

  it('every lookup statement runs on its generic plan, for LMTP and the null sender as for an SMTP sender, and for the author', async () => {
    const f = await createFixture(prisma);
    const box = await f.mailbox(uniqueName('box'));
    const alias = uniqueName('alias');
    await f.alias(alias, [box.id]);
    // full lists that do not name the sender, with statistics: the planner then knows a custom plan finds nothing
    const list = (prefix: string) => Array.from({ length: MAX_SENDER_RULES }, (_, i) => `${prefix}${i}.${f.domain}`);
    await prisma.senderRule.createMany({ data: list('d').map((pattern) => ({ domainId: f.domainId, pattern, action: 'block' })) });
    await prisma.senderRule.createMany({
      data: list('m').map((pattern) => ({ domainId: f.domainId, mailboxId: box.id, pattern, action: 'block' })),
    });
    await prisma.$executeRawUnsafe('ANALYZE sender_rules');
    const pool = pgPoolOf(prisma)!;
    const resolver = new RecipientResolver(pool, { quotaReply: 'temporary', recipientDelimiter: '+' });
    const recipients = [box.address, box.address.replace('@', '+tag@'), `${alias}@${f.domain}`];
    const senders = [[], senderRuleCandidates(`someone@mail.${uniqueName('s')}.example`)];
    const runs = 12;
    // LMTP first, alone, as an ingress that only takes LMTP would run them; then an SMTP sender's
    for (const patterns of senders) {
      for (let i = 0; i < runs; i++) {
        for (const rcpt of recipients) expect((await resolver.resolveRecipient(rcpt, 0, patterns)).ok).toBe(true);
      }
    }
    // and at DATA, the From author's rules of a mailbox's and an alias's lists
    const author = [senderRuleCandidates(`deals@news.${uniqueName('shop')}.example`)];
    for (let i = 0; i < runs; i++) {
      const blocks = await resolver.blockedAuthors(author, [f.domainId], i % 2 ? [box.id] : [box.id, box.id]);
      expect([blocks.domains.size, blocks.mailboxes.size]).toEqual([0, 0]);
    }
    const { rows } = await pool.query<{ name: string; generic_plans: string; custom_plans: string }>(
      `SELECT name, generic_plans::text, custom_plans::text FROM pg_prepared_statements
        WHERE name LIKE 'mailroom_rcpt_%' OR name = 'mailroom_author_rules' ORDER BY name`,
    );
    for (const r of rows) {
      expect(Number(r.custom_plans), `${r.name}: custom plans`).toBeLessThanOrEqual(5);
      expect(Number(r.generic_plans), `${r.name}: generic plans`).toBeGreaterThan(0);
    }
    expect(rows.map((r) => r.name)).toEqual([
      'mailroom_author_rules',
      'mailroom_rcpt_alias',
      'mailroom_rcpt_alias_rules',
      'mailroom_rcpt_domain',
      'mailroom_rcpt_domain_rules',
      'mailroom_rcpt_mailbox',
      'mailroom_rcpt_mailbox_rules',
    ]);
  });
});
