/**
 * Recipient policy: resolves `local@domain` to the mailboxes it delivers to (mailbox, alias fan-out, catch-all, the
 * operator's postmaster address) and refuses what cannot be delivered at RCPT time (unknown, disabled, over quota).
 */
import { normalizeDomain, normalizeLocalPart, unquoteLocalPart } from '@mailroom/core';
import type { PgPool, PgRow } from '@mailroom/db';
import type { DeliveryTarget, RecipientResolution } from './delivery-types.ts';
import { OWNER_COLUMNS, ownerUsage, quotaCheck, type OwnerColumns, type Usage } from './quota.ts';
import { REPLIES, type QuotaReplyMode, type SmtpReply } from './replies.ts';

/** A bigint column as pg returns it (text), or null. */
type Int8 = string | null;

interface OwnerRow {
  owner_max: Int8;
  owner_used: Int8;
}

type RuleAction = 'allow' | 'block' | null;

interface MailboxColumns {
  mailbox_id: string | null;
  enabled: boolean | null;
  quota_bytes: Int8;
  used_bytes: Int8;
  /** The action of the mailbox's own most specific sender rule that names the envelope sender, if any. */
  mailbox_sender_rule: RuleAction;
  /** The mailbox's own list holds a block rule (null: not read, for LMTP and the null sender). */
  mailbox_blocks: boolean | null;
}

interface DomainRow extends OwnerRow, MailboxColumns {
  domain_id: string;
  domain_active: boolean;
  max_storage_bytes: Int8;
  domain_used: string;
  greylisting: boolean | null;
  /** The action of the domain's most specific sender rule that names the envelope sender, if any. */
  sender_rule: RuleAction;
  /** The domain's own list holds a block rule (null: not read, for LMTP and the null sender). */
  domain_blocks: boolean | null;
}

interface AliasRow extends OwnerRow {
  alias_local_part: string | null;
  mailbox_id: string | null;
  local_part: string | null;
  enabled: boolean | null;
  quota_bytes: Int8;
  used_bytes: Int8;
  mailbox_sender_rule: RuleAction;
  mailbox_blocks: boolean | null;
  domain_id: string | null;
  domain_name: string | null;
  domain_active: boolean | null;
  max_storage_bytes: Int8;
  domain_used: Int8;
}

const int8 = (v: Int8): bigint | null => (v === null ? null : BigInt(v));
const owner = (r: OwnerRow): OwnerColumns => ({ owner_max: int8(r.owner_max), owner_used: int8(r.owner_used) });

/**
 * The action of the first rule of one list (`list`: a condition on `sr`) whose pattern is in `$3`, the sender rule
 * patterns that name the envelope sender, most specific first (core senderRuleCandidates). Each list is read through
 * its own partial unique index. The patterns reach the index through `ARRAY(SELECT unnest($3))`, which the planner
 * cannot see into: a custom plan then costs what the generic one does, so the plan cache settles on the generic plan
 * (see {@link lookups}).
 */
const senderRule = (list: string) =>
  `(SELECT sr.action FROM sender_rules sr WHERE ${list} AND sr.pattern = ANY(ARRAY(SELECT unnest($3::text[])))
    ORDER BY array_position($3::text[], sr.pattern) LIMIT 1)`;

/**
 * The lookups of every RCPT, as named statements: each pooled connection parses and plans them once, and the ingress
 * skips the ORM's query path (issue 17: a lookup per message is a visible share of 10 KB ingest).
 *
 * Planned once is what keeps them cheap: PostgreSQL's plan cache makes five custom plans (for the values given), then
 * keeps the generic plan unless the custom ones were estimated cheaper, in which case it plans every execution anew:
 * for these joins that costs several times what running them does. Two traps of that kind, both measured (`npm run bench -- rcpt`)
 * and both guarded by src/recipients.test.ts:
 * - an empty pattern list (LMTP, the null sender) folds the rule subqueries away in a custom plan; so each lookup
 *   comes twice, with the rule columns for an SMTP sender and without them (`NULL`, no `$3`) for the rest;
 * - a custom plan with the patterns as constants knows from the statistics that no rule names them; so the
 *   subqueries hide them from the planner (see {@link senderRule}).
 *
 * The domain lookup resolves an alias domain to its target (`r` is the domain named in RCPT, `d` the one whose
 * mailboxes and aliases take its mail: the same row unless `r` is an alias domain). Either being disabled refuses it.
 * It reads `d`'s own sender rule for the sender, and the mailbox's; the other two read the mailbox's.
 */
function lookups(withRules: boolean) {
  const rule = (list: string) => (withRules ? senderRule(list) : 'NULL::text');
  // whether a list holds any block rule (its row's count, kept by triggers), for the From author's check at DATA
  const blocks = (row: string) => (withRules ? `${row}.sender_blocks > 0` : 'NULL::boolean');
  const suffix = withRules ? '_rules' : '';
  // without a mailbox of that name (an alias, `name+tag`, an unknown one) there is nothing to look for
  const mailboxRule = `CASE WHEN m.id IS NOT NULL THEN ${rule('sr.mailbox_id = m.id')} END AS mailbox_sender_rule,
                CASE WHEN m.id IS NOT NULL THEN ${blocks('m')} END AS mailbox_blocks`;
  return {
    domain: {
      name: `mailroom_rcpt_domain${suffix}`,
      text: `SELECT d.id::text AS domain_id, (r.active AND d.active AND NOT u.disabled) AS domain_active, d.max_storage_bytes,
                d.used_bytes AS domain_used, d.greylisting, m.id::text AS mailbox_id, m.enabled, m.quota_bytes, m.used_bytes,
                ${rule('sr.domain_id = d.id AND sr.mailbox_id IS NULL')} AS sender_rule,
                ${blocks('d')} AS domain_blocks, ${mailboxRule},
                ${OWNER_COLUMNS}
         FROM domains r
         JOIN domains d ON d.id = COALESCE(r.alias_of_id, r.id) AND d.verified_at IS NOT NULL
         JOIN users u ON u.id = d.owner_id
         LEFT JOIN mailboxes m ON m.domain_id = d.id AND m.local_part = $2
         WHERE r.name = $1 AND r.verified_at IS NOT NULL`,
    },
    /** The mailbox `name` of `name+tag` in the domain the first lookup found (its domain and owner columns are that row's). */
    mailbox: {
      name: `mailroom_rcpt_mailbox${suffix}`,
      text: `SELECT m.id::text AS mailbox_id, m.enabled, m.quota_bytes, m.used_bytes, ${mailboxRule}
         FROM mailboxes m WHERE m.domain_id = $1::uuid AND m.local_part = $2`,
    },
    alias: {
      name: `mailroom_rcpt_alias${suffix}`,
      text: `SELECT a.local_part AS alias_local_part, m.id::text AS mailbox_id, m.local_part, m.enabled, m.quota_bytes,
                m.used_bytes, ${mailboxRule}, md.id::text AS domain_id, md.name AS domain_name,
                (md.active AND md.verified_at IS NOT NULL AND NOT u.disabled) AS domain_active, md.max_storage_bytes, md.used_bytes AS domain_used,
                ${OWNER_COLUMNS}
         FROM aliases a
         LEFT JOIN alias_destinations ad ON ad.alias_id = a.id
         LEFT JOIN mailboxes m ON m.id = ad.mailbox_id
         LEFT JOIN domains md ON md.id = m.domain_id
         LEFT JOIN users u ON u.id = md.owner_id
         WHERE a.domain_id = $1::uuid AND a.enabled
           AND (a.local_part IS NULL OR a.local_part = $2)`,
    },
  };
}
type Statement = { name: string; text: string };
/** The lookups without sender rules, and with them (see {@link lookups}). */
const RCPT_LOOKUPS = { plain: lookups(false), withRules: lookups(true) };

/**
 * What an accepted recipient carries for the From author's rules (see screenAuthors): `listsBlock` false when its
 * domain's list and every target mailbox's were read and none holds a block rule, so the author needs no lookup.
 */
function ruleFields({ rulesDomainId, exemptFromBlocks, domainBlocks }: Attempt, mailboxBlocks: (boolean | null)[]) {
  const listsBlock = domainBlocks !== false || mailboxBlocks.some((b) => b !== false);
  return { rulesDomainId, listsBlock, ...(exemptFromBlocks ? { exemptFromBlocks } : {}) };
}

/** `recipient` with its local part unquoted (see {@link unquoteLocalPart}). */
function plainAddress(recipient: string): string {
  const at = recipient.lastIndexOf('@');
  return at <= 0 ? unquoteLocalPart(recipient) : `${unquoteLocalPart(recipient.slice(0, at))}${recipient.slice(at)}`;
}

/** Postfix's and Dovecot's usual subaddress delimiter: `alice+news@` is alice's. */
export const DEFAULT_RECIPIENT_DELIMITER = '+';

export interface RecipientPolicy {
  quotaReply: QuotaReplyMode;
  /** Takes mail to `postmaster` that no hosted domain takes (RFC 5321 §4.5.1). */
  postmasterAddress?: string | undefined;
  /** Subaddress delimiters (INGRESS_RECIPIENT_DELIMITER): each character splits `name+tag`; empty: off. */
  recipientDelimiter: string;
  /** Named statements (see DATABASE_PREPARED_STATEMENTS); unnamed ones work through any pooler. */
  prepared?: boolean;
}

/** One resolution's recipient (as given), its declared size and how it is refused. */
interface Attempt {
  recipient: string;
  declaredSize: number;
  /** The envelope sender matched a rule of the recipient's domain that allows it (never greylisted). */
  senderAllowed: boolean;
  fail: (reply: SmtpReply, reason: string, ids?: { domainId?: string; mailboxId?: string }) => RecipientResolution;
  /** The domain whose own list applies (an alias domain's target). */
  rulesDomainId: string;
  /** Mail to postmaster: no `block` rule refuses it. */
  exemptFromBlocks: boolean;
  /** The domain's own list holds a block rule (null: not read). */
  domainBlocks: boolean | null;
}

/**
 * The sender rule lists that block a message's author (see {@link RecipientResolver.blockedAuthors}), each with the
 * index of the first author it blocks.
 */
export interface AuthorBlocks {
  /** Domains whose own list blocks an author. */
  domains: Map<string, number>;
  /** Mailboxes whose own list blocks an author. */
  mailboxes: Map<string, number>;
}

/**
 * Every rule of the given lists (`$2` domains' own, `$3` mailboxes') whose pattern is in `$1`: one index scan per
 * list kind, each through its partial unique index, as a named statement. The arrays reach the indexes through
 * `ARRAY(SELECT unnest(…))` for the reason {@link senderRule} gives: with them in sight, each custom plan looked cheaper
 * than the generic one and every execution was planned anew (10 custom plans of 10; 0.12 ms of planning each).
 */
const AUTHOR_RULES: Statement = {
  name: 'mailroom_author_rules',
  text: `SELECT sr.domain_id::text AS domain_id, NULL::text AS mailbox_id, sr.pattern, sr.action FROM sender_rules sr
   WHERE sr.mailbox_id IS NULL AND sr.domain_id = ANY(ARRAY(SELECT unnest($2::uuid[])))
     AND sr.pattern = ANY(ARRAY(SELECT unnest($1::text[])))
  UNION ALL
  SELECT sr.domain_id::text, sr.mailbox_id::text, sr.pattern, sr.action FROM sender_rules sr
   WHERE sr.mailbox_id = ANY(ARRAY(SELECT unnest($3::uuid[]))) AND sr.pattern = ANY(ARRAY(SELECT unnest($1::text[])))`,
};

export class RecipientResolver {
  constructor(
    private readonly pool: PgPool,
    private readonly policy: RecipientPolicy,
  ) {}

  /** One lookup, with the sender rule variant and its `$3` when the sender has patterns. */
  private lookup<R extends PgRow>(which: keyof (typeof RCPT_LOOKUPS)['plain'], values: unknown[], senderPatterns: readonly string[]) {
    const withRules = senderPatterns.length > 0;
    const statement: Statement = RCPT_LOOKUPS[withRules ? 'withRules' : 'plain'][which];
    const all = withRules ? [...values, senderPatterns] : values;
    return this.pool.query<R>(this.policy.prepared !== false ? { ...statement, values: all } : { text: statement.text, values: all });
  }

  /**
   * The lists among `domainIds` (domains' own) and `mailboxIds` that block one of `authors`, each given as its
   * senderRuleCandidates (most specific first). As for MAIL FROM, a list blocks an author when the first of the
   * author's patterns that the list has a rule for is a `block`: `orders@shop.example` allowed beside `shop.example`
   * blocked lets the first through. One query, through the two partial unique indexes on the lists' patterns.
   */
  async blockedAuthors(authors: readonly (readonly string[])[], domainIds: string[], mailboxIds: string[]): Promise<AuthorBlocks> {
    const blocks: AuthorBlocks = { domains: new Map(), mailboxes: new Map() };
    const patterns = [...new Set(authors.flat())];
    if (!patterns.length || (!domainIds.length && !mailboxIds.length)) return blocks;
    const { rows } = await this.pool.query<{ domain_id: string; mailbox_id: string | null; pattern: string; action: 'allow' | 'block' }>(
      this.policy.prepared !== false
        ? { ...AUTHOR_RULES, values: [patterns, domainIds, mailboxIds] }
        : { text: AUTHOR_RULES.text, values: [patterns, domainIds, mailboxIds] },
    );
    // each list's rules by pattern: a domain's own list under its id, a mailbox's under its id (uuids never collide)
    const lists = new Map<string, { mailbox: boolean; rules: Map<string, 'allow' | 'block'> }>();
    for (const r of rows) {
      const id = r.mailbox_id ?? r.domain_id;
      const list = lists.get(id) ?? { mailbox: r.mailbox_id !== null, rules: new Map() };
      list.rules.set(r.pattern, r.action);
      lists.set(id, list);
    }
    for (const [id, { mailbox, rules }] of lists) {
      const author = authors.findIndex((candidates) => candidates.map((p) => rules.get(p)).find(Boolean) === 'block');
      if (author >= 0) (mailbox ? blocks.mailboxes : blocks.domains).set(id, author);
    }
    return blocks;
  }

  /**
   * Resolves a recipient. `declaredSize` (MAIL FROM SIZE=) lets a full mailbox be refused at RCPT time; without it a
   * mailbox already at or over its quota is refused. Case-insensitive; the first match wins: mailbox, alias, then for
   * `name+tag` (subaddressing) the mailbox or alias `name`, then the catch-all. `senderPatterns` (core
   * senderRuleCandidates of MAIL FROM) applies the domain's sender rules: a blocked sender is refused before anything
   * about the local part is looked up, so it learns nothing of which addresses exist.
   */
  async resolveRecipient(recipient: string, declaredSize = 0, senderPatterns: readonly string[] = []): Promise<RecipientResolution> {
    const { postmasterAddress } = this.policy;
    const plain = plainAddress(recipient);
    // RFC 5321 §4.5.1 asks every effort to accept mail to postmaster: a sender the rules block may still write there
    // (to ask why its mail is refused); allows still apply
    const toPostmaster = /^postmaster(@|$)/i.test(plain);
    const resolved = await this.resolveHosted(recipient, declaredSize, senderPatterns, toPostmaster);
    // RFC 5321 §4.5.1: mail to postmaster is accepted — the bare <postmaster>, or postmaster@ a hosted, active domain
    // that has no address for it — and goes to the operator's postmaster address when one is configured.
    const isPostmaster = /^postmaster$/i.test(plain) || (toPostmaster && !resolved.ok && resolved.reply === REPLIES.unknownUser);
    if (!isPostmaster || !postmasterAddress) return resolved;
    const routed = await this.resolveHosted(postmasterAddress, declaredSize, senderPatterns, true);
    if (!routed.ok) return { ...routed, recipient, reason: `postmaster address ${postmasterAddress}: ${routed.reason}` };
    return { ...routed, recipient, kind: 'postmaster' };
  }

  /** `name` of `name+tag` (the local part up to the first delimiter), or undefined when it has none before its end. */
  private baseLocalPart(localPart: string): string | undefined {
    const { recipientDelimiter } = this.policy;
    if (!recipientDelimiter) return undefined;
    for (let i = 1; i < localPart.length; i++) if (recipientDelimiter.includes(localPart[i]!)) return localPart.slice(0, i);
    return undefined;
  }

  private async resolveHosted(
    recipient: string,
    declaredSize: number,
    senderPatterns: readonly string[],
    exemptFromBlocks: boolean,
  ): Promise<RecipientResolution> {
    const fail: Attempt['fail'] = (reply, reason, ids = {}) => ({ ok: false, recipient, reply, reason, ...ids });
    const at = recipient.lastIndexOf('@');
    if (at <= 0 || at === recipient.length - 1) return fail(REPLIES.badAddress, 'address without domain');
    const domain = normalizeDomain(recipient.slice(at + 1));
    if (!domain) return fail(REPLIES.badAddress, 'invalid domain');
    const localPart = normalizeLocalPart(unquoteLocalPart(recipient.slice(0, at))) ?? null;

    const { rows } = await this.lookup<DomainRow>('domain', [domain, localPart ?? ''], senderPatterns);
    const row = rows[0];
    // A pending (unverified) claim is not hosted: refused exactly like a name nobody claimed.
    if (!row) return fail(REPLIES.relayDenied, 'domain not hosted');
    if (!row.domain_active) return fail(REPLIES.domainDisabled, 'domain disabled', { domainId: row.domain_id });
    if (row.sender_rule === 'block' && !exemptFromBlocks) {
      return fail(REPLIES.senderBlocked, 'sender blocked by the domain', { domainId: row.domain_id });
    }
    const senderAllowed = row.sender_rule === 'allow';
    const attempt: Attempt = {
      recipient,
      declaredSize,
      senderAllowed,
      fail,
      rulesDomainId: row.domain_id,
      exemptFromBlocks,
      domainBlocks: row.domain_blocks,
    };
    // Delivered-To names the address as the sender wrote it (with its tag), as Postfix and Dovecot write it
    if (row.mailbox_id) return this.mailbox(attempt, row, `${localPart}@${domain}`);

    const { rows: aliasRows } = await this.lookup<AliasRow>('alias', [row.domain_id, localPart ?? ''], senderPatterns);
    const exact = localPart ? aliasRows.filter((r) => r.alias_local_part === localPart) : [];
    if (exact.length) return this.alias(attempt, exact, 'alias', row);

    const base = localPart ? this.baseLocalPart(localPart) : undefined;
    if (base) {
      const { rows: baseRows } = await this.lookup<MailboxColumns>('mailbox', [row.domain_id, base], senderPatterns);
      const baseBox = baseRows[0];
      if (baseBox) return this.mailbox(attempt, { ...row, ...baseBox }, `${localPart}@${domain}`);
      const { rows: baseAliasRows } = await this.lookup<AliasRow>('alias', [row.domain_id, base], senderPatterns);
      const baseAlias = baseAliasRows.filter((r) => r.alias_local_part === base);
      if (baseAlias.length) return this.alias(attempt, baseAlias, 'alias', row);
    }

    const catchAll = aliasRows.filter((r) => r.alias_local_part === null);
    if (!catchAll.length) return fail(REPLIES.unknownUser, localPart ? 'unknown user' : 'invalid local part', { domainId: row.domain_id });
    return this.alias(attempt, catchAll, 'catch-all', row);
  }

  /** A recipient that is a mailbox: refused when it or its domain is disabled or over quota, or it blocks the sender. */
  private mailbox(attempt: Attempt, row: DomainRow, deliveredTo: string): RecipientResolution {
    const { recipient, declaredSize, senderAllowed, fail } = attempt;
    const ids = { domainId: row.domain_id, mailboxId: row.mailbox_id! };
    if (!row.enabled) return fail(REPLIES.disabled, 'mailbox disabled', ids);
    if (row.mailbox_sender_rule === 'block' && !attempt.exemptFromBlocks)
      return fail(REPLIES.senderBlocked, 'sender blocked by the mailbox', ids);
    const domainUsage: Usage = { quota: int8(row.max_storage_bytes), used: BigInt(row.domain_used) };
    const mailboxUsage: Usage = { quota: int8(row.quota_bytes), used: int8(row.used_bytes) ?? 0n };
    const q = quotaCheck(this.policy.quotaReply, mailboxUsage, domainUsage, ownerUsage(owner(row)), declaredSize);
    if (q) return fail(q, 'over quota', ids);
    const target = { mailboxId: row.mailbox_id!, domainId: row.domain_id, address: deliveredTo, ownerLimited: row.owner_max !== null };
    const allowed = senderAllowed || row.mailbox_sender_rule === 'allow';
    return {
      ok: true,
      recipient,
      kind: 'mailbox',
      targets: [target],
      greylisting: row.greylisting,
      senderAllowed: allowed,
      ...ruleFields(attempt, [row.mailbox_blocks]),
    };
  }

  /**
   * A recipient that is an alias or the catch-all: fanned out to its live mailboxes, each once. A mailbox that blocks
   * the sender is left out (and named in `leftOut`, for the delivery log); when every live one does, it is refused.
   */
  private alias(
    attempt: Attempt,
    chosen: AliasRow[],
    kind: 'alias' | 'catch-all',
    { domain_id: domainId, greylisting }: DomainRow,
  ): RecipientResolution {
    const { recipient, declaredSize, senderAllowed, fail } = attempt;
    const domainIds = { domainId };
    const destinations = chosen.filter((r) => r.mailbox_id);
    if (!destinations.length) return fail(REPLIES.unknownUser, `${kind} without destinations`, domainIds);
    const live = destinations.filter((r) => r.enabled && r.domain_active);
    if (!live.length) return fail(REPLIES.disabled, `${kind} destinations disabled`, domainIds);
    const targets = new Map<string, DeliveryTarget>();
    const leftOut = new Map<string, DeliveryTarget>();
    const mailboxBlocks: (boolean | null)[] = [];
    let allowed = senderAllowed;
    for (const r of live) {
      const target: DeliveryTarget = {
        mailboxId: r.mailbox_id!,
        domainId: r.domain_id!,
        address: `${r.local_part}@${r.domain_name}`,
        ownerLimited: r.owner_max !== null,
      };
      if (r.mailbox_sender_rule === 'block' && !attempt.exemptFromBlocks) {
        leftOut.set(target.mailboxId, target);
        continue;
      }
      allowed ||= r.mailbox_sender_rule === 'allow';
      const q = quotaCheck(
        this.policy.quotaReply,
        { quota: int8(r.quota_bytes), used: int8(r.used_bytes) ?? 0n },
        { quota: int8(r.max_storage_bytes), used: int8(r.domain_used) ?? 0n },
        ownerUsage(owner(r)),
        declaredSize,
      );
      if (q) return fail(q, `${kind} destination over quota`, domainIds);
      targets.set(target.mailboxId, target);
      mailboxBlocks.push(r.mailbox_blocks);
    }
    if (!targets.size) return fail(REPLIES.senderBlocked, `sender blocked by every ${kind} destination`, domainIds);
    const resolved = {
      ok: true as const,
      recipient,
      kind,
      targets: [...targets.values()],
      greylisting,
      senderAllowed: allowed,
      ...ruleFields(attempt, mailboxBlocks),
    };
    return leftOut.size ? { ...resolved, leftOut: [...leftOut.values()] } : resolved;
  }
}
