/**
 * The ingress's quota and usage rules in one place (RCPT-time checks, the owner row locks, the quota warning SQL and
 * the diagnosis of a refused copy). The charge itself ("add the delivered bytes under the mailbox quota, the domain's
 * and the owner's storage limit") is part of the storage statements in store-statements.ts, whose conditions read
 * these columns the same way; the arithmetic itself (limits, usage increments, warning levels) comes from the one home
 * in @mailroom/core (services/quota.ts).
 */
import { ownerUsedSql } from '@mailroom/core';
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
       ELSE ${ownerUsedSql()}::bigint END AS owner_used`;

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
