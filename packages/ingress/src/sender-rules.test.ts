// Sender rules on the SMTP listener over real sockets against the real database: a domain's blocked senders are refused
// at RCPT for that domain's recipients only, in every spelling of the address, a mailbox's for that mailbox only (an
// alias leaves it out); allowed senders skip greylisting. The same lists apply to the message's From author at DATA.
import { randomBytes } from 'node:crypto';
import { uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { runClient, startIngress } from './testing/harness.ts';
import { greylistConfig, smtpAttempt } from './testing/smtp.ts';
import { WireClient } from './testing/wire-client.ts';

const BLOCKED = /^550 5\.7\.1 Sender address rejected: Access denied$/;

describe('sender rules on the SMTP listener (real sockets, real database)', () => {
  const prisma = testPrisma(6);
  let f: Fixture;
  let other: Fixture;
  const rule = (domainId: string, pattern: string, action: 'allow' | 'block') =>
    prisma.senderRule.create({ data: { domainId, pattern, action } });
  const mailboxRule = (mailboxId: string, pattern: string, action: 'allow' | 'block') =>
    prisma.senderRule.create({ data: { domainId: f.domainId, mailboxId, pattern, action } });

  /** One SMTP transaction whose message names `author` in its From field; the RCPT replies and DATA's reply. */
  async function withAuthor(port: number, ip: string, envelope: string, rcpts: string[], author: string, subject: string) {
    const c = await WireClient.connect(port, '127.0.0.1', ip);
    try {
      expect((await c.command('EHLO client.example')).code).toBe(250);
      expect((await c.command(`MAIL FROM:<${envelope}>`)).code).toBe(250);
      const replies: number[] = [];
      for (const r of rcpts) replies.push((await c.command(`RCPT TO:<${r}>`)).code);
      expect((await c.command('DATA')).code).toBe(354);
      c.sendData(Buffer.from(`From: ${author}\r\nTo: you@example.com\r\nSubject: ${subject}\r\n\r\nFrom: in-the-body@example.com\r\n`));
      const data = await c.read();
      return { replies, data: `${data.code} ${data.text}` };
    } finally {
      await c.quit();
    }
  }
  /** An LMTP transaction that the rules must not touch: LHLO, MAIL and RCPT answered 250, and `message`'s DATA too. */
  async function lmtpAccepts(port: number, ip: string, sender: string, rcpt: string, message?: string) {
    const lmtp = await WireClient.connect(port, '127.0.0.1', ip);
    try {
      expect((await lmtp.command('LHLO mta.example')).code).toBe(250);
      expect((await lmtp.command(`MAIL FROM:<${sender}>`)).code).toBe(250);
      expect((await lmtp.command(`RCPT TO:<${rcpt}>`)).code).toBe(250);
      if (message === undefined) return;
      expect((await lmtp.command('DATA')).code).toBe(354);
      lmtp.sendData(Buffer.from(message));
      expect((await lmtp.read()).code).toBe(250);
    } finally {
      await lmtp.quit();
    }
  }
  const subjects = async (id: string) =>
    (await mailboxState(prisma, id)).messages.map((m) => /Subject: (.*)\r\n/.exec(Buffer.from(m.raw).toString())?.[1]);

  beforeAll(async () => {
    f = await createFixture(prisma);
    other = await createFixture(prisma);
  });
  afterAll(async () => prisma.$disconnect());

  it('refuses a blocked sender for the domain’s recipients only, in any spelling, before telling which addresses exist', async () => {
    const bad = `${uniqueName('bad')}.example`;
    const rival = `${uniqueName('rival')}.example`;
    await rule(f.domainId, `spam@${bad}`, 'block');
    await rule(f.domainId, rival, 'block');
    await rule(f.domainId, `orders@${rival}`, 'allow');
    const box = await f.mailbox(uniqueName('box'));
    const theirs = await other.mailbox(uniqueName('theirs'));
    const aliasDomain = await f.domainRow({ aliasOf: f.domainId });
    const viaAlias = `${box.address.split('@')[0]}@${aliasDomain.name}`;
    const ing = await startIngress(prisma);
    try {
      const port = ing.ports.smtp;
      const r = async (sender: string, rcpt: string) => (await smtpAttempt(port, '127.0.20.1', sender, [rcpt])).replies[0];
      // the address in capitals, quoted, and a subdomain of a blocked domain
      expect(await r(`SPAM@${bad.toUpperCase()}`, box.address)).toMatch(BLOCKED);
      expect(await r(`"spam"@${bad}`, box.address)).toMatch(BLOCKED);
      expect(await r(`news@mail.${rival}`, box.address)).toMatch(BLOCKED);
      // an unknown local part gets the same refusal: a blocked sender cannot probe for addresses
      expect(await r(`spam@${bad}`, `nobody-${uniqueName('x')}@${f.domain}`)).toMatch(BLOCKED);
      // the alias domain's mail is its target's, and so are its rules
      expect(await r(`spam@${bad}`, viaAlias)).toMatch(BLOCKED);
      // not blocked: another address at the domain, a look-alike domain, the more specific allow, the null sender
      expect(await r(`ham@${bad}`, box.address)).toMatch(/^250/);
      expect(await r(`x@not${rival}`, box.address)).toMatch(/^250/);
      expect(await r(`x@${rival}.evil.example`, box.address)).toMatch(/^250/);
      expect(await r(`orders@${rival}`, box.address)).toMatch(/^250/);
      expect(await r('', box.address)).toMatch(/^250/);

      // one transaction to both tenants: another owner's recipient does not inherit the rule, and gets the message
      const mixed = await smtpAttempt(port, '127.0.20.2', `spam@${bad}`, [box.address, theirs.address], 'to both');
      expect(mixed.replies.map((x) => x.slice(0, 3))).toEqual(['550', '250']);
      expect(mixed.data).toBe(250);
      expect((await mailboxState(prisma, theirs.id)).messageCount).toBe(1);
      expect(
        (await mailboxState(prisma, box.id)).messages.map((m) => /Subject: (.*)\r\n/.exec(Buffer.from(m.raw).toString())?.[1]),
      ).toEqual(Array(5).fill('test message'));

      // a real client sees the same (swaks exits 24 when no recipient is accepted)
      const swaks = await runClient('swaks', [
        '--server',
        '127.0.0.1',
        '--port',
        String(port),
        '--from',
        `spam@${bad}`,
        '--to',
        box.address,
      ]);
      expect(swaks.stdout).toMatch(/<\*\* 550 5\.7\.1 Sender address rejected/);
      expect(swaks.status).toBe(24);

      // LMTP is the MTA in front's to police: the rules do not apply there
      await lmtpAccepts(ing.ports.lmtp, '127.0.20.3', `spam@${bad}`, box.address);

      // the owner sees each refusal in the delivery log, with its reason; the metrics count them by reply
      await ing.ingress.deliveryLog?.flush();
      const refused = await prisma.deliveryLogEntry.findMany({ where: { domainId: f.domainId, reason: 'sender blocked by the domain' } });
      expect(refused).toHaveLength(7);
      expect(refused.every((e) => e.replyCode === 550 && e.result === 'refused')).toBe(true);
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_recipients_total');
      expect(metrics).toContain('protocol="smtp",result="550_5.7.1"} 7');
    } finally {
      await ing.close();
    }
  });

  it('a sender the domain allows is never greylisted; everyone else still is', async () => {
    const partner = `${uniqueName('partner')}.example`;
    await rule(f.domainId, partner, 'allow');
    const box = await f.mailbox(uniqueName('grey'));
    const client = '127.0.21.0/24';
    await prisma.greylistEntry.deleteMany({ where: { client } });
    const ing = await startIngress(prisma, { greylist: greylistConfig() });
    try {
      const allowed = await smtpAttempt(ing.ports.smtp, '127.0.21.1', `billing@eu.${partner}`, [box.address], 'from the partner');
      expect([allowed.replies[0]?.slice(0, 3), allowed.data]).toEqual(['250', 250]);
      const stranger = await smtpAttempt(ing.ports.smtp, '127.0.21.1', `billing@${uniqueName('new')}.example`, [box.address]);
      expect(stranger.replies[0]).toMatch(/^451 4\.7\.1 Greylisted/);
      // the other tenant's recipient is greylisted even from the partner: the rule is this domain's
      const theirs = await other.mailbox(uniqueName('theirs'));
      expect((await smtpAttempt(ing.ports.smtp, '127.0.21.1', `billing@${partner}`, [theirs.address])).replies[0]).toMatch(/^451/);
      expect(await prisma.greylistEntry.count({ where: { client } })).toBe(2);
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_greylist_total');
      expect(metrics).toContain('result="sender_allowed"} 1');
      expect(metrics).toContain('result="deferred"} 2');
    } finally {
      await ing.close();
    }
  });

  it('a mailbox’s own block refuses the sender for that mailbox only: directly, by +tag, and leaves it out of an alias', async () => {
    const shop = `${uniqueName('shop')}.example`;
    const anna = await f.mailbox(uniqueName('anna'));
    const ben = await f.mailbox(uniqueName('ben'));
    await mailboxRule(anna.id, shop, 'block');
    await mailboxRule(anna.id, `receipts@${shop}`, 'allow');
    // the owner's block is not lifted by a mailbox's allow
    const rival = `${uniqueName('rival')}.example`;
    await rule(f.domainId, rival, 'block');
    await mailboxRule(ben.id, rival, 'allow');
    const team = uniqueName('team');
    await f.alias(team, [anna.id, ben.id]);
    const annaOnly = uniqueName('annaonly');
    await f.alias(annaOnly, [anna.id]);
    const ing = await startIngress(prisma);
    try {
      const port = ing.ports.smtp;
      const r = async (sender: string, rcpt: string) => (await smtpAttempt(port, '127.0.22.1', sender, [rcpt])).replies[0];
      expect(await r(`promo@news.${shop}`, anna.address)).toMatch(BLOCKED);
      expect(await r(`promo@${shop}`, anna.address.replace('@', '+orders@'))).toMatch(BLOCKED);
      expect(await r(`promo@${shop}`, `${annaOnly}@${f.domain}`)).toMatch(BLOCKED);
      expect(await r(`x@${rival}`, ben.address)).toMatch(BLOCKED);
      // the more specific allow in anna's list, ben, and other senders pass
      expect(await r(`receipts@${shop}`, anna.address)).toMatch(/^250/);
      expect(await r(`promo@${shop}`, ben.address)).toMatch(/^250/);

      // through the alias: accepted, delivered to ben only, and anna's delivery log says why she has none
      const before = (await mailboxState(prisma, anna.id)).messageCount;
      const viaAlias = await smtpAttempt(port, '127.0.22.2', `promo@${shop}`, [`${team}@${f.domain}`], 'to the team');
      expect([viaAlias.replies[0]?.slice(0, 3), viaAlias.data]).toEqual(['250', 250]);
      expect(await subjects(ben.id)).toContain('to the team');
      expect(await subjects(anna.id)).not.toContain('to the team');
      expect((await mailboxState(prisma, anna.id)).messageCount).toBe(before);

      await ing.ingress.deliveryLog?.flush();
      const annaLog = await prisma.deliveryLogEntry.findMany({ where: { mailboxId: anna.id }, orderBy: { createdAt: 'asc' } });
      expect(annaLog.map((e) => [e.result, e.replyCode, e.reason])).toEqual([
        ['refused', 550, 'sender blocked by the mailbox'],
        ['refused', 550, 'sender blocked by the mailbox'],
        ['delivered', 250, null],
        ['refused', 550, `sender blocked by the mailbox (left out of alias ${team}@${f.domain})`],
      ]);
      const benLog = await prisma.deliveryLogEntry.findMany({ where: { mailboxId: ben.id } });
      expect(benLog.map((e) => e.reason).filter(Boolean)).toEqual([]);

      // LMTP: the MTA in front polices it; a mailbox's rules do not apply there either
      await lmtpAccepts(ing.ports.lmtp, '127.0.22.3', `promo@${shop}`, anna.address);
    } finally {
      await ing.close();
    }
  });

  it('a mailbox’s own allow skips greylisting for that mailbox, and for an alias that includes it', async () => {
    const friend = `${uniqueName('friend')}.example`;
    const carl = await f.mailbox(uniqueName('carl'));
    const dora = await f.mailbox(uniqueName('dora'));
    await mailboxRule(carl.id, friend, 'allow');
    const both = uniqueName('both');
    await f.alias(both, [carl.id, dora.id]);
    const client = '127.0.23.0/24';
    await prisma.greylistEntry.deleteMany({ where: { client } });
    const ing = await startIngress(prisma, { greylist: greylistConfig() });
    try {
      const port = ing.ports.smtp;
      const first = async (rcpt: string) => (await smtpAttempt(port, '127.0.23.1', `hi@${friend}`, [rcpt])).replies[0];
      expect(await first(carl.address)).toMatch(/^250/);
      expect(await first(`${both}@${f.domain}`)).toMatch(/^250/);
      expect(await first(dora.address)).toMatch(/^451 4\.7\.1 Greylisted/);
      expect(await prisma.greylistEntry.count({ where: { client } })).toBe(1);
    } finally {
      await ing.close();
    }
  });

  it('a whole top-level domain is blocked as MAIL FROM and as the From author, and nothing that only looks like it', async () => {
    // a top-level domain is letters only
    const tld = Array.from(randomBytes(12), (b) => String.fromCharCode(97 + (b % 26))).join('');
    const own = await createFixture(prisma);
    const box = await own.mailbox(uniqueName('box'));
    await prisma.senderRule.create({ data: { domainId: own.domainId, pattern: `.${tld}`, action: 'block' } });
    const ing = await startIngress(prisma);
    try {
      const port = ing.ports.smtp;
      const r = async (sender: string) => (await smtpAttempt(port, '127.0.27.1', sender, [box.address])).replies[0];
      expect(await r(`promo@deals.shop.${tld.toUpperCase()}`)).toMatch(BLOCKED);
      expect(await r(`promo@${tld}.example`)).toMatch(/^250/);
      expect(await r(`promo@x${tld}`)).toMatch(/^250/);
      const esp = `bounce@${uniqueName('esp')}.example`;
      expect((await withAuthor(port, '127.0.27.1', esp, [box.address], `Deals <deals@shop.${tld}>`, 'tld author')).data).toMatch(BLOCKED);
      expect(await subjects(box.id)).toEqual(['test message', 'test message']);
    } finally {
      await ing.close();
    }
  });

  it('postmaster still takes mail from a blocked sender, as MAIL FROM or as the From author (RFC 5321 §4.5.1)', async () => {
    const bad = `${uniqueName('bad')}.example`;
    const own = await createFixture(prisma);
    const postmaster = await own.mailbox('postmaster');
    const box = await own.mailbox(uniqueName('box'));
    await prisma.senderRule.createMany({
      data: [
        { domainId: own.domainId, pattern: bad, action: 'block' },
        { domainId: own.domainId, mailboxId: postmaster.id, pattern: bad, action: 'block' },
      ],
    });
    const ing = await startIngress(prisma);
    try {
      const port = ing.ports.smtp;
      const r = async (rcpt: string) => (await smtpAttempt(port, '127.0.26.1', `why@${bad}`, [rcpt], 'why refused?')).replies[0];
      expect(await r(box.address)).toMatch(BLOCKED);
      expect(await r(`PostMaster@${own.domain}`)).toMatch(/^250/);
      expect(await r(`"postmaster"@${own.domain}`)).toMatch(/^250/);
      // not postmaster: a tagged address is the mailbox's, and the block holds
      expect(await r(`postmaster+x@${own.domain}`)).toMatch(BLOCKED);
      // the From author: a message to both is delivered to postmaster only
      const both = await withAuthor(
        port,
        '127.0.26.1',
        `ok@${uniqueName('ok')}.example`,
        [box.address, postmaster.address],
        `why@${bad}`,
        'both',
      );
      expect([both.replies, both.data.slice(0, 3)]).toEqual([[250, 250], '250']);
      expect(await subjects(postmaster.id)).toEqual(['why refused?', 'why refused?', 'both']);
      expect(await subjects(box.id)).toEqual([]);
    } finally {
      await ing.close();
    }
  });

  describe('the From author', () => {
    it('is refused at DATA when a list blocks it, whatever MAIL FROM says; other recipients still get the message', async () => {
      const shop = `${uniqueName('shop')}.example`;
      const esp = `${uniqueName('esp')}.example`;
      await rule(f.domainId, shop, 'block');
      await rule(f.domainId, `orders@${shop}`, 'allow');
      // the sending service is allowed (no greylisting), which does not lift a block of the author
      await rule(f.domainId, esp, 'allow');
      const box = await f.mailbox(uniqueName('box'));
      const theirs = await other.mailbox(uniqueName('theirs'));
      const ing = await startIngress(prisma);
      try {
        const port = ing.ports.smtp;
        const bounce = `bounce-${uniqueName('b')}@${esp}`;
        const send = (rcpts: string[], author: string, subject: string) => withAuthor(port, '127.0.24.1', bounce, rcpts, author, subject);
        // display name, comment, a subdomain, capitals: the address a mail client shows
        const blocked = await send([box.address], `"Shop Deals" <Deals@Mail.${shop.toUpperCase()}> (weekly)`, 'deals');
        expect(blocked.replies).toEqual([250]);
        expect(blocked.data).toMatch(BLOCKED);
        // one of two authors is enough; a group's member counts
        expect((await send([box.address], `ann@${uniqueName('ok')}.example, deals@${shop}`, 'two authors')).data).toMatch(BLOCKED);
        expect((await send([box.address], `Team: x@${shop};`, 'group')).data).toMatch(BLOCKED);
        // the more specific allow in the same list, an author that is only in the body, a look-alike domain
        expect((await send([box.address], `Orders <orders@${shop}>`, 'orders')).data).toMatch(/^250/);
        expect((await send([box.address], `<news@${shop}.evil.example>`, 'look-alike')).data).toMatch(/^250/);
        expect(await subjects(box.id)).toEqual(['orders', 'look-alike']);

        // to both tenants: the other owner's recipient gets it, and the reply is 250 for the transaction
        const mixed = await send([box.address, theirs.address], `deals@${shop}`, 'to both');
        expect([mixed.replies, mixed.data.slice(0, 3)]).toEqual([[250, 250], '250']);
        expect(await subjects(theirs.id)).toEqual(['to both']);
        expect(await subjects(box.id)).toEqual(['orders', 'look-alike']);

        // a real client: swaks with the header it is told to write
        const swaks = await runClient('swaks', [
          ...['--server', '127.0.0.1', '--port', String(port), '--from', bounce, '--to', box.address],
          ...['--h-From', `"Deals" <deals@${shop}>`],
        ]);
        expect(swaks.stdout).toMatch(/<\*\* 550 5\.7\.1 Sender address rejected/);

        // LMTP: the MTA in front polices it
        await lmtpAccepts(ing.ports.lmtp, '127.0.24.2', bounce, box.address, `From: deals@${shop}\r\nSubject: over lmtp\r\n\r\nhi\r\n`);
        expect(await subjects(box.id)).toEqual(['orders', 'look-alike', 'over lmtp']);

        // the owner sees why, with the author named; the metrics count each refused recipient
        await ing.ingress.deliveryLog?.flush();
        const log = await prisma.deliveryLogEntry.findMany({
          where: { mailboxId: box.id, result: 'refused' },
          orderBy: { createdAt: 'asc' },
        });
        expect(log.map((e) => [e.replyCode, e.envelopeFrom, e.reason])).toEqual([
          [550, bounce, `sender blocked by the domain (From: Deals@Mail.${shop.toUpperCase()})`],
          [550, bounce, `sender blocked by the domain (From: deals@${shop})`],
          [550, bounce, `sender blocked by the domain (From: x@${shop})`],
          [550, bounce, `sender blocked by the domain (From: deals@${shop})`],
          [550, bounce, `sender blocked by the domain (From: deals@${shop})`],
        ]);
        const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_author_blocked_total');
        expect(metrics).toContain('list="domain"} 5');
      } finally {
        await ing.close();
      }
    });

    it('is not looked up while no list of any recipient holds a block rule, and is as soon as one does', async () => {
      const g = await createFixture(prisma);
      const [anna, ben] = [await g.mailbox(uniqueName('anna')), await g.mailbox(uniqueName('ben'))];
      const team = uniqueName('team');
      await g.alias(team, [anna.id, ben.id]);
      const brand = `${uniqueName('brand')}.example`;
      const ing = await startIngress(prisma);
      const lookups = async () => {
        const text = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_author_lookups_total');
        const count = (result: string) => Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
        return { skipped: count('skipped'), queried: count('queried') };
      };
      try {
        const send = (envelope: string, rcpts: string[], subject: string) =>
          withAuthor(ing.ports.smtp, '127.0.26.1', envelope, rcpts, `Brand <news@${brand}>`, subject);
        const bounce = `bounce-${uniqueName('b')}@esp.example`;
        // no rule at all, then only an allow: nothing can block, so nothing is read
        expect((await send(bounce, [anna.address, `${team}@${g.domain}`], 'first')).data).toMatch(/^250/);
        await prisma.senderRule.create({ data: { domainId: g.domainId, pattern: 'esp.example', action: 'allow' } });
        expect((await send(bounce, [anna.address], 'second')).data).toMatch(/^250/);
        // the author is MAIL FROM: judged at RCPT, neither counted
        expect((await send(`news@${brand}`, [anna.address], 'third')).data).toMatch(/^250/);
        expect(await lookups()).toEqual({ skipped: 2, queried: 0 });

        // ben blocks someone else: the message to the alias is looked up (and still reaches both), anna's alone is not
        await prisma.senderRule.create({ data: { domainId: g.domainId, mailboxId: ben.id, pattern: 'other.example', action: 'block' } });
        expect((await send(bounce, [`${team}@${g.domain}`], 'to the team')).data).toMatch(/^250/);
        expect((await send(bounce, [anna.address], 'to anna')).data).toMatch(/^250/);
        expect(await lookups()).toEqual({ skipped: 3, queried: 1 });
        // ben blocks the brand: left out of the alias, which anna still gets
        await prisma.senderRule.create({ data: { domainId: g.domainId, mailboxId: ben.id, pattern: brand, action: 'block' } });
        expect((await send(bounce, [`${team}@${g.domain}`], 'team again')).data).toMatch(/^250/);
        expect(await subjects(ben.id)).toEqual(['first', 'to the team']);
        expect(await subjects(anna.id)).toEqual(['first', 'second', 'third', 'to the team', 'to anna', 'team again']);

        // the domain blocks the brand: anna's own list is empty, but the domain's is read and refuses it
        await prisma.senderRule.create({ data: { domainId: g.domainId, pattern: brand, action: 'block' } });
        expect((await send(bounce, [anna.address], 'refused')).data).toMatch(BLOCKED);
        // a bounce (the null sender) reads no list at RCPT, so its author is always looked up
        expect((await send('', [anna.address], 'bounce')).data).toMatch(BLOCKED);
        expect(await lookups()).toEqual({ skipped: 3, queried: 4 });
      } finally {
        await ing.close();
      }
    });

    it('a mailbox’s own block leaves that mailbox out of an alias, and refuses mail to it', async () => {
      const brand = `${uniqueName('brand')}.example`;
      const anna = await f.mailbox(uniqueName('anna'));
      const ben = await f.mailbox(uniqueName('ben'));
      await mailboxRule(anna.id, `promo@${brand}`, 'block');
      const team = uniqueName('team');
      await f.alias(team, [anna.id, ben.id]);
      const ing = await startIngress(prisma);
      try {
        const send = (rcpts: string[], subject: string) =>
          withAuthor(ing.ports.smtp, '127.0.25.1', `mailer@${uniqueName('esp')}.example`, rcpts, `Brand <promo@${brand}>`, subject);
        expect((await send([`${team}@${f.domain}`], 'to the team')).data).toMatch(/^250/);
        expect(await subjects(ben.id)).toEqual(['to the team']);
        expect(await subjects(anna.id)).toEqual([]);
        expect((await send([anna.address], 'to anna')).data).toMatch(BLOCKED);
        // the same sender under another address is not hers to block
        const other = await withAuthor(ing.ports.smtp, '127.0.25.1', `x@${brand}`, [anna.address], `news@${brand}`, 'news');
        expect(other.data).toMatch(/^250/);

        await ing.ingress.deliveryLog?.flush();
        const annaLog = await prisma.deliveryLogEntry.findMany({ where: { mailboxId: anna.id }, orderBy: { createdAt: 'asc' } });
        expect(annaLog.map((e) => [e.result, e.recipient, e.reason])).toEqual([
          ['refused', anna.address, `sender blocked by the mailbox (From: promo@${brand}, left out of alias ${team}@${f.domain})`],
          ['refused', anna.address, `sender blocked by the mailbox (From: promo@${brand})`],
          ['delivered', anna.address, null],
        ]);
        const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_author_blocked_total');
        expect(metrics).toContain('list="mailbox"} 2');
      } finally {
        await ing.close();
      }
    });
  });
});
