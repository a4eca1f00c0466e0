/**
 * What a recipient lookup costs at RCPT (src/recipients.ts), and what the sender rules add to it: the same lookups
 * with no sender patterns (LMTP, the null sender: the rule subqueries are skipped) and with the four of an SMTP sender
 * at a subdomain, against lists of 1,000 rules (the most a domain's or a mailbox's may hold) that do not name it. Then
 * what the same lists cost at DATA for a From author that is not MAIL FROM (screenAuthors), and what lists that block
 * nobody cost there (no query).
 * Against an embedded PostgreSQL with the deployed settings; eight lookups at a time, as eight SMTP sessions would.
 * Nothing here is a test.
 *
 *   npx tsx bench/rcpt.ts [--n=N]        (npm run bench -- rcpt)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_SENDER_RULES, senderRuleCandidates } from '@mailroom/core';
import { createPrismaClient, openDatabase, pgPoolOf } from '@mailroom/db';
import { processTreeCpuMs } from '@mailroom/runtime/testing';
import { screenAuthors, type BlockedAuthors } from '../src/author-rules.ts';
import { RecipientResolver } from '../src/recipients.ts';

const N = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 20_000);
const CONCURRENCY = 8;
/**
 * What the sender rules may add to a lookup's CPU (ingress + PostgreSQL), in ms: a twentieth of what storing a 10 KB
 * message costs the two (about 1 ms; `npm run bench -- ingress`).
 */
const TARGET_EXTRA_MS = 0.05;
/** What applying the rules to a message's From author may cost (ingress + PostgreSQL), in ms: a tenth of storing it. */
const TARGET_AUTHOR_MS = 0.1;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-rcpt-bench-'));
const db = await openDatabase({ dataDir, migrate: true });
const prisma = createPrismaClient(db.url, { maxConnections: CONCURRENCY, applicationName: 'rcpt-bench' });
try {
  const pool = pgPoolOf(prisma)!;
  const postmaster = db.postgres?.pid;
  const owner = await prisma.user.create({ data: { email: 'bench@example.com', passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: 'hosted.example', ownerId: owner.id, verifiedAt: new Date() } });
  const boxes = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) =>
      prisma.mailbox.create({ data: { domainId: domain.id, localPart: `user${i}`, passwordHash: 'x' } }),
    ),
  );
  await prisma.alias.create({
    data: { domainId: domain.id, localPart: 'team', destinations: { create: boxes.slice(0, 3).map((b) => ({ mailboxId: b.id })) } },
  });
  const resolver = new RecipientResolver(pool, { quotaReply: 'temporary', recipientDelimiter: '+' });
  const sender = senderRuleCandidates('news@mail.sender.example');

  /** `n` calls of `op`, eight at a time; the wall time and the CPU of this process and of PostgreSQL per call. */
  async function timed(label: string, n: number, op: (c: number, i: number) => Promise<void>) {
    let left = n;
    const pg0 = postmaster ? processTreeCpuMs(postmaster) : NaN;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, c) => {
        for (let i = 0; left-- > 0; i++) await op(c, i);
      }),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(cpu0);
    const ingressMs = (c.user + c.system) / 1000 / n;
    const pgMs = postmaster ? (processTreeCpuMs(postmaster) - pg0) / n : NaN;
    return { label, rate: n / (ms / 1000), ingressMs, pgMs, cpuMs: ingressMs + pgMs };
  }
  /** `n` RCPT lookups of `rcpts` in turn with the sender patterns `patterns`. */
  const run = (label: string, rcpts: string[], patterns: string[], n = N) =>
    timed(label, n, async (c, i) => {
      const r = await resolver.resolveRecipient(rcpts[(c + i) % rcpts.length]!, 0, patterns);
      if (!r.ok) throw new Error(`${label}: refused (${r.reason})`);
    });
  const show = (r: Awaited<ReturnType<typeof run>>) =>
    `${r.label}: ${r.rate.toFixed(0)} lookups/s, CPU per lookup ${r.ingressMs.toFixed(3)} ms ingress + ${r.pgMs.toFixed(3)} ms PostgreSQL`;

  const mailboxes = boxes.map((b) => `${b.localPart}@${domain.name}`);
  // LMTP first, as an ingress that takes only LMTP runs its statements (see RCPT_LOOKUPS in src/recipients.ts)
  await run('warm-up', mailboxes, [], 2000);
  const cases = [
    { name: 'mailbox', rcpts: mailboxes },
    { name: 'mailbox by +tag', rcpts: mailboxes.map((a) => a.replace('@', '+tag@')) },
    { name: 'alias of 3 mailboxes', rcpts: [`team@${domain.name}`] },
  ];
  // full lists that do not name the sender: the domain's, and each mailbox's
  const patterns = (prefix: string) => Array.from({ length: MAX_SENDER_RULES }, (_, i) => `${prefix}${i}.example`);
  await prisma.senderRule.createMany({ data: patterns('d').map((pattern) => ({ domainId: domain.id, pattern, action: 'block' })) });
  for (const b of boxes) {
    await prisma.senderRule.createMany({
      data: patterns('m').map((pattern) => ({ domainId: domain.id, mailboxId: b.id, pattern, action: 'block' })),
    });
  }
  await prisma.$executeRawUnsafe('ANALYZE sender_rules');
  const rules = (await prisma.senderRule.count()).toLocaleString('en');
  console.log(`${rules} sender rules: ${MAX_SENDER_RULES} of the domain's own and as many of each of its ${boxes.length} mailboxes'`);
  let met = true;
  for (const k of cases) {
    // interleaved, twice: the machine is shared
    const pairs = [];
    for (let i = 0; i < 2; i++)
      pairs.push([
        await run(`${k.name}, LMTP (no sender patterns)`, k.rcpts, []),
        await run(`${k.name}, SMTP (${sender.length} sender patterns)`, k.rcpts, sender),
      ] as const);
    for (const [lmtp, smtp] of pairs) {
      const extra = smtp.cpuMs - lmtp.cpuMs;
      met &&= extra <= TARGET_EXTRA_MS;
      console.log(`RESULT ${show(lmtp)}`);
      console.log(`RESULT ${show(smtp)}; ${extra >= 0 ? '+' : ''}${extra.toFixed(3)} ms CPU with the rules`);
    }
  }
  console.log(`RESULT sender rules add at most ${TARGET_EXTRA_MS} ms CPU to a lookup: ${met ? 'MET' : 'NOT MET'}`);

  // the From author at DATA (src/author-rules.ts), as the SMTP listener applies it to recipients resolved at RCPT: one
  // query per message whose author is not MAIL FROM against the same full lists, for one mailbox and an alias of
  // three; and none for a domain whose lists block nobody (most domains), where the RCPT lookup said so
  const quiet = await prisma.domain.create({ data: { name: 'quiet.example', ownerId: owner.id, verifiedAt: new Date() } });
  await prisma.mailbox.create({ data: { domainId: quiet.id, localPart: 'user0', passwordHash: 'x' } });
  await prisma.senderRule.create({ data: { domainId: quiet.id, pattern: 'sender.example', action: 'allow' } });
  const lookup: BlockedAuthors = (a, d, m) => resolver.blockedAuthors(a, d, m);
  let authorMet = true;
  for (const [name, rcpt, full] of [
    ['one mailbox', mailboxes[0]!, true],
    ['alias of 3 mailboxes', `team@${domain.name}`, true],
    ['one mailbox, lists that block nobody', 'user0@quiet.example', false],
  ] as const) {
    const resolved = await resolver.resolveRecipient(rcpt, 0, sender);
    if (!resolved.ok) throw new Error(`${rcpt}: refused (${resolved.reason})`);
    for (let i = 0; i < 2; i++) {
      const r = await timed(`From author, ${name}`, N, async () => {
        const screened = await screenAuthors([[rcpt, resolved]], ['deals@news.shop.example'], sender, lookup);
        if (screened.refused.length || screened.lookup !== (full ? 'queried' : 'skipped')) throw new Error(`${name}: ${screened.lookup}`);
      });
      if (full) authorMet &&= r.cpuMs <= TARGET_AUTHOR_MS;
      console.log(`RESULT ${show(r).replace('lookups/s', 'messages/s')}`);
    }
  }
  console.log(`RESULT the From author's rules cost at most ${TARGET_AUTHOR_MS} ms CPU a message: ${authorMet ? 'MET' : 'NOT MET'}`);
  console.log(`(load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores; node ${process.version})`);
} finally {
  await prisma.$disconnect();
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
}
