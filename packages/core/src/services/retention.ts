import type { PrismaClient } from '@mailroom/db';
import { removeStoredMessages } from './messages.ts';

/** Lease holder the retention job writes into maildrop_leases while it works on a maildrop (never renewed). */
export const RETENTION_LEASE_HOLDER = 'worker:retention';
/** Lifetime of that lease: a crashed job's lease lapses after it, like a crashed POP3 process's. */
const RETENTION_LEASE_TTL_S = 300;

export interface ExpireRetentionOptions {
  /** The operator default (POP3_EXPIRE_DAYS); null = NEVER. */
  defaultRetentionDays: number | null;
  /** Mailboxes looked up per query. */
  batchSize: number;
  /** Checked between mailboxes: true ends the run early (the next run goes on). */
  stopping?: () => boolean;
}

export interface ExpireRetentionSummary extends Record<string, number | boolean> {
  mailboxes: number;
  deleted: number;
  bytes: number;
  /** Maildrops skipped because a POP3 session holds them (their turn comes at the next run, or at their next login). */
  leased: number;
  interrupted: boolean;
}

/**
 * RFC 2449 EXPIRE n (n > 0): deletes every message received more than n days ago, n being the mailbox's effective
 * retention (mailbox → domain → default). Each maildrop is done in its own transaction that first takes the maildrop's
 * POP3 lease (as a login would), so a maildrop a POP3 session holds is skipped and a login waits for the transaction;
 * usage drops in the same transaction. EXPIRE 0 is not handled here: it deletes only retrieved messages, at QUIT.
 */
export async function expireMessagesPastRetention(prisma: PrismaClient, opts: ExpireRetentionOptions): Promise<ExpireRetentionSummary> {
  const summary: ExpireRetentionSummary = { mailboxes: 0, deleted: 0, bytes: 0, leased: 0, interrupted: false };
  const fallback = opts.defaultRetentionDays;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const due = await prisma.$queryRaw<{ id: string; days: number }[]>`
      SELECT m.id::text AS id, coalesce(m.retention_days, d.retention_days, ${fallback}::int) AS days
      FROM mailboxes m JOIN domains d ON d.id = m.domain_id
      WHERE m.id > ${after}::uuid AND coalesce(m.retention_days, d.retention_days, ${fallback}::int) > 0
        AND EXISTS (SELECT 1 FROM messages x WHERE x.mailbox_id = m.id
                    AND x.received_at < now() - coalesce(m.retention_days, d.retention_days, ${fallback}::int) * interval '1 day')
      ORDER BY m.id LIMIT ${opts.batchSize}`;
    for (const m of due) {
      if (opts.stopping?.()) {
        summary.interrupted = true;
        return summary;
      }
      after = m.id;
      const r = await prisma.$transaction(async (tx) => {
        const taken = await tx.$queryRaw<{ mailbox_id: string }[]>`
          INSERT INTO maildrop_leases (mailbox_id, holder, session, acquired_at, expires_at)
          VALUES (${m.id}::uuid, ${RETENTION_LEASE_HOLDER}, ${RETENTION_LEASE_HOLDER}, now(), now() + ${RETENTION_LEASE_TTL_S}::int * interval '1 second')
          ON CONFLICT (mailbox_id) DO UPDATE
            SET holder = EXCLUDED.holder, session = EXCLUDED.session, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
            WHERE maildrop_leases.expires_at < now()
          RETURNING mailbox_id`;
        if (taken.length === 0) return null;
        const deleted = await removeStoredMessages(tx, m.id, { olderThanDays: Number(m.days) });
        await tx.$executeRaw`DELETE FROM maildrop_leases WHERE mailbox_id = ${m.id}::uuid AND session = ${RETENTION_LEASE_HOLDER}`;
        return deleted;
      });
      if (r === null) {
        summary.leased++;
        continue;
      }
      summary.mailboxes++;
      summary.deleted += r.deleted;
      summary.bytes += r.bytes;
    }
    if (due.length < opts.batchSize) return summary;
  }
}
