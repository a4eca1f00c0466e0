/**
 * The ingress's quota and usage rules in one place (RCPT-time checks, the owner row locks, the quota warning SQL and
 * the diagnosis of a refused copy). The charge itself ("add the delivered bytes under the mailbox quota, the domain's
 * and the owner's storage limit") is part of the storage statements in store-statements.ts, whose conditions read
 * these columns the same way; a shared home for usage arithmetic in packages/core can replace this module.
 */
import type { PgPoolClient } from '@mailroom/db';
import type { PendingStore, QuotaWarning } from './delivery-types.ts';
import { quotaReply, type QuotaReplyMode, type SmtpReply } from './replies.ts';

/** Operator default of the quota warning thresholds, in percent of a mailbox's quota. */
export const DEFAULT_QUOTA_WARNING_THRESHOLDS: readonly number[] = [80, 95];

/** The owner's storage limit and usage (the sum over the owner's domains; 0 when the owner is unlimited). */
export interface OwnerColumns {
  owner_max: bigint | null;
  owner_used: bigint | null;
}

export interface Usage {
  quota: bigint | null;
  used: bigint;
}

export function fits(u: Usage, extra: number): boolean {
  return u.quota === null || u.used + BigInt(extra) <= u.quota;
}

export function ownerUsage(r: OwnerColumns): Usage {
  return { quota: r.owner_max, used: r.owner_used ?? 0n };
}

/** Owner limit and usage of the row's `u` (users) alias, for the recipient queries; usage is only summed for limited owners. */
export const OWNER_COLUMNS = `u.max_storage_bytes AS owner_max,
  CASE WHEN u.max_storage_bytes IS NULL THEN 0::bigint
       ELSE (SELECT coalesce(sum(o.used_bytes), 0)::bigint FROM domains o WHERE o.owner_id = u.id) END AS owner_used`;

/**
 * Locks the rows of the mailboxes being stored into (in id order, as FOR NO KEY UPDATE) and reads, as of the lock, the
 * threshold each was last warned about and its domain's thresholds. In READ COMMITTED a locking read returns the
 * latest committed row, so two deliveries crossing one threshold at once see each other: the second sees the first's
 * warning (a plain read of the same statement's snapshot would not).
 */
export function quotaWarningLockSql(mailboxIds: string, defaultThresholds: string): string {
  return `warn_lock AS (
        SELECT m.id, m.quota_warned_percent AS warned, coalesce(d.quota_warning_thresholds, ${defaultThresholds}) AS thresholds
          FROM mailboxes m JOIN domains d ON d.id = m.domain_id
         WHERE m.id IN ${mailboxIds}
         ORDER BY m.id FOR NO KEY UPDATE OF m
      )`;
}

/** The highest warning threshold `used` reaches of the mailbox `m`'s quota (null: none); stored as quota_warned_percent. */
export function quotaLevelSql(used: string): string {
  return `mailroom_quota_warning_level(${used}, m.quota_bytes, wl.thresholds)`;
}

/**
 * QUOTA_WARNING_DUE — the one place where a quota warning is decided, inside the delivery's statement (RETURNING of the
 * mailbox UPDATE, `m` = the updated row, `wl` = warn_lock): a warning is due when the level reached now is above both
 * the level last warned about and the level before this delivery. The second term re-arms a warning once usage fell
 * below its threshold (POP3 DELE, deletions in the panel) without anything else having to reset it; the first keeps
 * a warning from repeating while usage stays above it. The row lock makes concurrent deliveries see each other.
 */
export function quotaWarningDueSql(addedBytes: string): string {
  return `CASE WHEN m.quota_warned_percent > LEAST(coalesce(wl.warned, 0),
                   coalesce(mailroom_quota_warning_level(m.used_bytes - ${addedBytes}, m.quota_bytes, wl.thresholds), 0))
               THEN m.quota_warned_percent END`;
}

export interface WarnRow {
  mailbox_id: string;
  percent: number;
  used: string;
  quota: string;
}

export function toQuotaWarning(w: WarnRow, address: string): QuotaWarning {
  return { mailboxId: w.mailbox_id, address, percent: Number(w.percent), usedBytes: BigInt(w.used), quotaBytes: BigInt(w.quota) };
}

export function quotaCheck(mode: QuotaReplyMode, mailbox: Usage, domain: Usage, owner: Usage, declaredSize: number): SmtpReply | undefined {
  // Without a declared size, refuse only what is already full; the exact check happens when storing.
  const extra = declaredSize > 0 ? declaredSize : 1;
  if (!fits(mailbox, extra)) return quotaReply(mode, 'mailbox');
  if (!fits(domain, extra)) return quotaReply(mode, 'domain');
  if (!fits(owner, extra)) return quotaReply(mode, 'owner');
  return undefined;
}

/**
 * Locks (FOR NO KEY UPDATE, in id order) the rows of the limited owners of the batch's mailboxes and returns their
 * ids. An owner's usage is the sum over its domains, which several transactions can raise at once; every delivery
 * to a limited owner holds this lock until its commit, and sums the usage in a later statement (a fresh snapshot in
 * READ COMMITTED), so it sees every earlier delivery and concurrent ones cannot overshoot the limit together.
 */
export async function lockOwners(tx: PgPoolClient, batch: PendingStore[]): Promise<string[]> {
  const domainIds = [...new Set(batch.flatMap((item) => item.copies.map((c) => c.target.domainId)))];
  const { rows } = await tx.query<{ id: string }>(
    `SELECT u.id::text AS id FROM users u
      WHERE u.max_storage_bytes IS NOT NULL
        AND u.id IN (SELECT d.owner_id FROM domains d WHERE d.id = ANY($1::uuid[]))
      ORDER BY u.id FOR NO KEY UPDATE`,
    [domainIds],
  );
  return rows.map((r) => r.id);
}
