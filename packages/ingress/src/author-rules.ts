/**
 * Sender rules against a message's author (its From field), on the SMTP listener. MAIL FROM's rules were applied at
 * RCPT; this applies the same lists to what the recipient's mail client shows as the sender, which for most bulk mail is
 * not MAIL FROM (a bounce address at the sending service). Only `block` counts here: greylisting, which `allow` skips,
 * happened before the message was sent.
 */
import { senderRuleCandidates } from '@mailroom/core';
import type { DeliveryTarget, RecipientResolution } from './delivery-types.ts';
import type { AuthorBlocks } from './recipients.ts';

type Accepted = Extract<RecipientResolution, { ok: true }>;

/** A recipient, or one mailbox of an alias, that the sender rules refused the message for. */
export interface AuthorRefusal {
  /** As the delivery log names it: the recipient, or the mailbox an alias left out. */
  recipient: string;
  /** Whose list blocked the author: the recipient's domain's, or the mailbox's own. */
  list: 'domain' | 'mailbox';
  domainId: string;
  mailboxId?: string;
  /** For the delivery log: which list, and which author. */
  reason: string;
}

export interface ScreenedRecipients {
  /** The recipients still delivered to, in RCPT order. */
  rcpts: string[];
  /** Their mailboxes, each once (with the first recipient that led to it). */
  targets: (DeliveryTarget & { rcptTo: string })[];
  refused: AuthorRefusal[];
  /** Whether the lists were read: no author other than MAIL FROM (none), none of them may block (skipped), or read. */
  lookup: 'none' | 'skipped' | 'queried';
}

/** Looks up which lists block which author (DeliveryService.blockedAuthors). */
export type BlockedAuthors = (authors: string[][], domainIds: string[], mailboxIds: string[]) => Promise<AuthorBlocks>;

/**
 * Applies the recipients' sender rule lists to `authors` (authorAddresses of the message). A recipient whose domain's
 * own list blocks an author is refused; a mailbox whose own list does is left out of its recipient (a mailbox recipient
 * is then refused). `envelopePatterns` (MAIL FROM's candidates) are not looked up again: an author that is the envelope
 * sender was judged at RCPT. Only the lists of recipients that may block anyone are read (`listsBlock`: at RCPT their
 * domain's or a mailbox's list held a block rule, or was not read; postmaster is never refused); without such a
 * recipient, or without an author to look up, no query is made.
 */
export async function screenAuthors(
  recipients: [string, Accepted][],
  authors: string[],
  envelopePatterns: readonly string[],
  blockedAuthors: BlockedAuthors,
): Promise<ScreenedRecipients> {
  const envelope = envelopePatterns.join('\n');
  const named = authors
    .map((address) => ({ address, candidates: senderRuleCandidates(address) }))
    .filter((a) => a.candidates.length && a.candidates.join('\n') !== envelope);
  const screened = recipients.filter(([, r]) => r.listsBlock && r.exemptFromBlocks !== true);
  const domainIds = [...new Set(screened.map(([, r]) => r.rulesDomainId))];
  const mailboxIds = [...new Set(screened.flatMap(([, r]) => r.targets.map((t) => t.mailboxId)))];
  const lookup = !named.length ? 'none' : screened.length ? 'queried' : 'skipped';
  const blocks: AuthorBlocks =
    lookup === 'queried'
      ? await blockedAuthors(
          named.map((a) => a.candidates),
          domainIds,
          mailboxIds,
        )
      : { domains: new Map(), mailboxes: new Map() };
  const from = (i: number) => `From: ${named[i]!.address}`;

  const out: ScreenedRecipients = { rcpts: [], targets: [], refused: [], lookup };
  const seen = new Set<string>();
  for (const [rcpt, r] of recipients) {
    const exempt = r.exemptFromBlocks === true;
    const byDomain = exempt ? undefined : blocks.domains.get(r.rulesDomainId);
    if (byDomain !== undefined) {
      const mailbox = r.kind === 'mailbox' && r.targets[0] ? { mailboxId: r.targets[0].mailboxId } : {};
      out.refused.push({
        recipient: rcpt,
        list: 'domain',
        domainId: r.rulesDomainId,
        ...mailbox,
        reason: `sender blocked by the domain (${from(byDomain)})`,
      });
      continue;
    }
    const kept = r.targets.filter((t) => {
      const byMailbox = exempt ? undefined : blocks.mailboxes.get(t.mailboxId);
      if (byMailbox === undefined) return true;
      const where = r.kind === 'mailbox' ? '' : `, left out of ${r.kind} ${rcpt}`;
      out.refused.push({
        recipient: r.kind === 'mailbox' ? rcpt : t.address,
        list: 'mailbox',
        domainId: t.domainId,
        mailboxId: t.mailboxId,
        reason: `sender blocked by the mailbox (${from(byMailbox)}${where})`,
      });
      return false;
    });
    if (!kept.length) continue;
    out.rcpts.push(rcpt);
    for (const t of kept) {
      if (seen.has(t.mailboxId)) continue;
      seen.add(t.mailboxId);
      out.targets.push({ ...t, rcptTo: rcpt });
    }
  }
  return out;
}
