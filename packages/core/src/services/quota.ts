import { Prisma } from '@mailroom/db';

/**
 * The one home of the quota/usage arithmetic. Usage lives in three counters: `mailboxes.used_bytes` and
 * `message_count`, `domains.used_bytes` (an owner's usage is the sum over its domains). Deliveries add under three
 * limits (mailbox quota, domain storage limit, owner storage limit); deletions give back what counted, clamped at 0.
 * Messages stored with `counts_toward_quota = false` (quota warnings) add to the count but never to the bytes.
 *
 * Two forms: SQL fragment builders (plain text, for statements written with pg `$n` parameters such as the ingress's
 * one-statement delivery; each takes SQL expressions, never values) and functions that run inside a Prisma
 * transaction (deletions in core, POP3's UPDATE state, retention).
 */

/** `limit` NULL means unlimited; otherwise `used + added` must stay at or under it. */
export function fitsUnderLimitSql(used: string, added: string, limit: string): string {
  return `(${limit} IS NULL OR ${used} + ${added} <= ${limit})`;
}

/** The mailbox row `m` takes `added` bytes under its quota. */
export function mailboxFitsSql(added: string, m = 'm'): string {
  return fitsUnderLimitSql(`${m}.used_bytes`, added, `${m}.quota_bytes`);
}

/** The domain row `d` takes `added` bytes under its storage limit. */
export function domainFitsSql(added: string, d = 'd'): string {
  return fitsUnderLimitSql(`${d}.used_bytes`, added, `${d}.max_storage_bytes`);
}

/** The owner (users row `u`)'s usage: the sum over its domains (read it with the owner's row locked). */
export function ownerUsedSql(u = 'u'): string {
  return `(SELECT coalesce(sum(o.used_bytes), 0) FROM domains o WHERE o.owner_id = ${u}.id)`;
}

/** The owner (users row `u`) takes `added` bytes under its storage limit. */
export function ownerFitsSql(added: string, u = 'u'): string {
  return fitsUnderLimitSql(ownerUsedSql(u), added, `${u}.max_storage_bytes`);
}

/** SET list of a mailbox UPDATE (row `m`) that stores `messages` messages of `bytes` counted bytes. */
export function mailboxUsageAddSql(bytes: string, messages: string, m = 'm'): string {
  return `used_bytes = ${m}.used_bytes + ${bytes}, message_count = ${m}.message_count + ${messages}`;
}

/** SET list of a domain UPDATE (row `d`) that stores `bytes` counted bytes. */
export function domainUsageAddSql(bytes: string, d = 'd'): string {
  return `used_bytes = ${d}.used_bytes + ${bytes}`;
}

/** `column` lowered by `amount`, never below 0 (a counter that drifted must not go negative). */
export function releasedSql(column: string, amount: string): string {
  return `GREATEST(${column} - ${amount}, 0)`;
}

/** The highest warning threshold `used` reaches of the mailbox `m`'s quota (null: none); stored as quota_warned_percent. */
export function quotaLevelSql(used: string, m = 'm', thresholds = 'wl.thresholds'): string {
  return `mailroom_quota_warning_level(${used}, ${m}.quota_bytes, ${thresholds})`;
}

/**
 * QUOTA_WARNING_DUE — the one place where a quota warning is decided, inside the delivery's statement (RETURNING of the
 * mailbox UPDATE, `m` = the updated row, `wl` = quotaWarningLockSql's CTE): a warning is due when the level reached now
 * is above both the level last warned about and the level before this delivery. The second term re-arms a warning once
 * usage fell below its threshold (POP3 DELE, deletions in the panel) without anything else having to reset it; the
 * first keeps a warning from repeating while usage stays above it. The row lock makes concurrent deliveries see each other.
 */
export function quotaWarningDueSql(addedBytes: string): string {
  return `CASE WHEN m.quota_warned_percent > LEAST(coalesce(wl.warned, 0),
                   coalesce(${quotaLevelSql(`m.used_bytes - ${addedBytes}`)}, 0))
               THEN m.quota_warned_percent END`;
}

/**
 * The `warn_lock` CTE: locks the rows of the mailboxes being stored into (in id order, as FOR NO KEY UPDATE) and reads,
 * as of the lock, the threshold each was last warned about and its domain's thresholds. In READ COMMITTED a locking
 * read returns the latest committed row, so two deliveries crossing one threshold at once see each other.
 */
export function quotaWarningLockSql(mailboxIds: string, defaultThresholds: string): string {
  return `warn_lock AS (
        SELECT m.id, m.quota_warned_percent AS warned, coalesce(d.quota_warning_thresholds, ${defaultThresholds}) AS thresholds
          FROM mailboxes m JOIN domains d ON d.id = m.domain_id
         WHERE m.id IN ${mailboxIds}
         ORDER BY m.id FOR NO KEY UPDATE OF m
      )`;
}

/** What stored messages hold and what of it counts toward usage (quota warnings do not). */
export function countedBytes(rows: readonly { size_octets: number | bigint; counts_toward_quota: boolean }[]): {
  bytes: number;
  counted: number;
} {
  let bytes = 0;
  let counted = 0;
  for (const r of rows) {
    bytes += Number(r.size_octets);
    if (r.counts_toward_quota) counted += Number(r.size_octets);
  }
  return { bytes, counted };
}

/** Prisma form of releasedSql. */
function released(column: string, amount: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`GREATEST(${Prisma.raw(column)} - ${amount}, 0)`;
}

/**
 * Gives back what deleted messages of a mailbox held: `counted` bytes and `messages` messages of the mailbox, and the
 * bytes of its domain (each clamped at 0), in the caller's transaction.
 */
export async function releaseMailboxUsage(
  tx: Prisma.TransactionClient,
  mailboxId: string,
  counted: number | bigint,
  messages: number,
): Promise<void> {
  if (messages === 0 && BigInt(counted) === 0n) return;
  const bytes = Prisma.sql`${BigInt(counted)}::bigint`;
  await tx.$executeRaw`
    UPDATE mailboxes SET used_bytes = ${released('used_bytes', bytes)}, message_count = ${released('message_count', Prisma.sql`${messages}::int`)}
    WHERE id = ${mailboxId}::uuid`;
  if (BigInt(counted) > 0n) {
    await tx.$executeRaw`
      UPDATE domains SET used_bytes = ${released('used_bytes', bytes)}
      WHERE id = (SELECT domain_id FROM mailboxes WHERE id = ${mailboxId}::uuid)`;
  }
}

/** Gives back the bytes deleted mailboxes held to their domain (clamped at 0), in the caller's transaction. */
export async function releaseDomainUsage(tx: Prisma.TransactionClient, domainId: string, bytes: bigint): Promise<void> {
  if (bytes <= 0n) return;
  await tx.$executeRaw`UPDATE domains SET used_bytes = ${released('used_bytes', Prisma.sql`${bytes}::bigint`)} WHERE id = ${domainId}::uuid`;
}
