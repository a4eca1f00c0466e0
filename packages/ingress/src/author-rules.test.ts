// screenAuthors over a recorded lookup: which recipients and mailboxes stay, and when no query is made at all (the
// socket tests in sender-rules.test.ts run it against the real database).
import { senderRuleCandidates } from '@mailroom/core';
import { describe, expect, it } from 'vitest';
import { screenAuthors, type BlockedAuthors } from './author-rules.ts';
import type { RecipientResolution } from './delivery-types.ts';

type Accepted = Extract<RecipientResolution, { ok: true }>;
const target = (mailboxId: string, domainId = 'd1') => ({ mailboxId, domainId, address: `${mailboxId}@one.example` });
const mailbox = (rcpt: string, id: string, listsBlock = true, rulesDomainId = 'd1'): [string, Accepted] => [
  rcpt,
  { ok: true, recipient: rcpt, kind: 'mailbox', targets: [target(id)], greylisting: null, senderAllowed: false, rulesDomainId, listsBlock },
];
const alias = (rcpt: string, ids: string[], rulesDomainId = 'd1', listsBlock = true): [string, Accepted] => [
  rcpt,
  {
    ok: true,
    recipient: rcpt,
    kind: 'alias',
    targets: ids.map((id) => target(id)),
    greylisting: null,
    senderAllowed: false,
    rulesDomainId,
    listsBlock,
  },
];

function recording(blocks: { domains?: [string, number][]; mailboxes?: [string, number][] }) {
  const calls: Parameters<BlockedAuthors>[] = [];
  const lookup: BlockedAuthors = (...args) => {
    calls.push(args);
    return Promise.resolve({ domains: new Map(blocks.domains), mailboxes: new Map(blocks.mailboxes) });
  };
  return { calls, lookup };
}

describe('screenAuthors', () => {
  it('asks nothing when the only author is the envelope sender (judged at RCPT), or there is none', async () => {
    const { calls, lookup } = recording({ domains: [['d1', 0]] });
    const rcpts = [mailbox('a@one.example', 'm1')];
    const same = await screenAuthors(rcpts, ['Bob@Shop.example'], senderRuleCandidates('bob@shop.example'), lookup);
    expect(same.targets.map((t) => t.mailboxId)).toEqual(['m1']);
    await screenAuthors(rcpts, [], senderRuleCandidates('bob@shop.example'), lookup);
    expect(calls).toEqual([]);
  });

  it('asks once for every list of every recipient, and keeps each mailbox once', async () => {
    const { calls, lookup } = recording({ mailboxes: [['m2', 0]] });
    const out = await screenAuthors(
      [mailbox('a@one.example', 'm1'), alias('team@one.example', ['m1', 'm2', 'm3']), alias('x@two.example', ['m2'], 'd2')],
      ['news@shop.example'],
      [],
      lookup,
    );
    expect(calls).toEqual([[[senderRuleCandidates('news@shop.example')], ['d1', 'd2'], ['m1', 'm2', 'm3']]]);
    expect(out.rcpts).toEqual(['a@one.example', 'team@one.example']);
    expect(out.targets.map((t) => [t.mailboxId, t.rcptTo])).toEqual([
      ['m1', 'a@one.example'],
      ['m3', 'team@one.example'],
    ]);
    expect(out.refused.map((r) => r.reason)).toEqual([
      'sender blocked by the mailbox (From: news@shop.example, left out of alias team@one.example)',
      'sender blocked by the mailbox (From: news@shop.example, left out of alias x@two.example)',
    ]);
  });

  it('reads only the lists of recipients that may block anyone: none at all when no list holds a block rule', async () => {
    const { calls, lookup } = recording({ domains: [['d2', 0]] });
    const none = await screenAuthors(
      [mailbox('a@one.example', 'm1', false), alias('team@one.example', ['m1', 'm2'], 'd1', false)],
      ['news@shop.example'],
      [],
      lookup,
    );
    expect(calls).toEqual([]);
    expect(none.rcpts).toEqual(['a@one.example', 'team@one.example']);
    expect(none.targets.map((t) => t.mailboxId)).toEqual(['m1', 'm2']);
    // postmaster is never refused, so its lists are not read either
    const postmaster: [string, Accepted] = [
      'postmaster@one.example',
      { ...mailbox('postmaster@one.example', 'm9')[1], exemptFromBlocks: true },
    ];
    await screenAuthors([postmaster], ['news@shop.example'], [], lookup);
    expect(calls).toEqual([]);
    // one recipient whose domain's list blocks someone: only its lists are read, and the others are kept
    const mixed = await screenAuthors(
      [mailbox('a@one.example', 'm1', false), mailbox('b@two.example', 'm2', true, 'd2'), postmaster],
      ['news@shop.example'],
      [],
      lookup,
    );
    expect(calls).toEqual([[[senderRuleCandidates('news@shop.example')], ['d2'], ['m2']]]);
    expect(mixed.rcpts).toEqual(['a@one.example', 'postmaster@one.example']);
  });

  it('refuses a whole recipient when its domain’s list blocks the author, naming the author it blocked', async () => {
    const { lookup } = recording({ domains: [['d2', 1]] });
    const out = await screenAuthors(
      [mailbox('a@one.example', 'm1'), alias('x@two.example', ['m2'], 'd2')],
      ['ok@fine.example', 'spam@bad.example'],
      [],
      lookup,
    );
    expect(out.rcpts).toEqual(['a@one.example']);
    expect(out.refused).toEqual([
      { recipient: 'x@two.example', list: 'domain', domainId: 'd2', reason: 'sender blocked by the domain (From: spam@bad.example)' },
    ]);
  });
});
