import type { Prisma } from '@mailroom/db';

/**
 * POP3 policy (RFC 2449 LOGIN-DELAY and EXPIRE). A mailbox's own value overrides its domain's, which overrides the
 * operator default (POP3_LOGIN_DELAY_S, POP3_EXPIRE_DAYS); null at a level means "inherit".
 * Retention: null = NEVER (messages stay until a client deletes them), 0 = a message is deleted at the QUIT of the
 * session that retrieved it (never one that was not retrieved), n > 0 = messages received more than n days ago are
 * deleted (by the worker's retention job, and at login before the maildrop snapshot).
 */
export interface Pop3Policy {
  loginDelaySeconds: number;
  retentionDays: number | null;
}

/** One level's settings (mailbox or domain): null inherits from the next level. */
export interface Pop3PolicySettings {
  loginDelaySeconds: number | null;
  retentionDays: number | null;
}

/**
 * How `retention_days` stores an explicit NEVER (API value "never"), so that a mailbox or domain can override an
 * inherited retention with "keep forever"; null stays "inherit". Any negative stored value reads as NEVER.
 */
export const RETENTION_NEVER_STORED = -1;

export function toStoredRetention(v: number | 'never' | null): number | null;
export function toStoredRetention(v: number | 'never' | null | undefined): number | null | undefined;
export function toStoredRetention(v: number | 'never' | null | undefined): number | null | undefined {
  return v === 'never' ? RETENTION_NEVER_STORED : v;
}

export function fromStoredRetention(v: number | null): number | 'never' | null {
  return v !== null && v < 0 ? 'never' : v;
}

/** Settings as stored (retention_days: null inherits, negative = NEVER). */
export function resolvePop3Policy(mailbox: Pop3PolicySettings, domain: Pop3PolicySettings, defaults: Pop3Policy): Pop3Policy {
  const retention = mailbox.retentionDays ?? domain.retentionDays ?? defaults.retentionDays;
  return {
    loginDelaySeconds: mailbox.loginDelaySeconds ?? domain.loginDelaySeconds ?? defaults.loginDelaySeconds,
    retentionDays: retention !== null && retention < 0 ? null : retention,
  };
}

/** Which messages of a mailbox to delete: these ids, or everything received more than `olderThanDays` days ago. */
export type MessageSelection = { ids: readonly string[] } | { olderThanDays: number };

export interface DeletedMessages {
  deleted: number;
  bytes: number;
}

/**
 * Deletes messages of one mailbox and lowers the mailbox's and its domain's usage by exactly what was deleted, inside
 * the caller's transaction (the one home of the delete-side usage arithmetic; ingress has the delivery side). The
 * caller holds whatever lock makes the deletion legal (for a maildrop: its POP3 lease).
 */
export async function deleteMailboxMessages(tx: Prisma.TransactionClient, mailboxId: string, which: MessageSelection): Promise<DeletedMessages> {
  if ('ids' in which && which.ids.length === 0) return { deleted: 0, bytes: 0 };
  const rows =
    'ids' in which
      ? await tx.$queryRaw<{ size_octets: number }[]>`
          DELETE FROM messages WHERE mailbox_id = ${mailboxId}::uuid AND id = ANY(${[...which.ids]}::uuid[]) RETURNING size_octets`
      : await tx.$queryRaw<{ size_octets: number }[]>`
          DELETE FROM messages WHERE mailbox_id = ${mailboxId}::uuid
            AND received_at < now() - ${which.olderThanDays}::int * interval '1 day' RETURNING size_octets`;
  const bytes = rows.reduce((sum, r) => sum + Number(r.size_octets), 0);
  if (rows.length > 0) {
    await tx.$executeRaw`
      UPDATE mailboxes SET used_bytes = used_bytes - ${bytes}::bigint, message_count = message_count - ${rows.length}::int
      WHERE id = ${mailboxId}::uuid`;
    await tx.$executeRaw`
      UPDATE domains SET used_bytes = used_bytes - ${bytes}::bigint
      WHERE id = (SELECT domain_id FROM mailboxes WHERE id = ${mailboxId}::uuid)`;
  }
  return { deleted: rows.length, bytes };
}
