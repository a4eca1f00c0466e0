import { authenticateMailbox, type AuthThrottle, type PasswordHasher } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { LockLostError, MessageGoneError, type AuthOutcome, type CommitResult, type MaildropStore, type MessageInfo } from './store.ts';

/** Octets fetched per query when streaming a message out of `messages.raw` (stored EXTERNAL, so substring is cheap). */
export const MESSAGE_CHUNK_OCTETS = 1024 * 1024;

export interface PrismaMaildropStoreOptions {
  prisma: PrismaClient;
  hasher: PasswordHasher;
  throttle: AuthThrottle;
  chunkOctets?: number;
}

/** The maildrop store on PostgreSQL through Prisma. */
export class PrismaMaildropStore implements MaildropStore {
  private readonly prisma: PrismaClient;
  private readonly hasher: PasswordHasher;
  private readonly throttle: AuthThrottle;
  private readonly chunkOctets: number;

  constructor(opts: PrismaMaildropStoreOptions) {
    this.prisma = opts.prisma;
    this.hasher = opts.hasher;
    this.throttle = opts.throttle;
    this.chunkOctets = opts.chunkOctets ?? MESSAGE_CHUNK_OCTETS;
  }

  async authenticate(login: string, password: string): Promise<AuthOutcome> {
    const r = await authenticateMailbox(this.prisma, this.hasher, login, password);
    if (r.status !== 'ok') return r;
    const m = r.mailbox;
    return {
      status: 'ok',
      maildrop: {
        id: m.id,
        address: m.address,
        mailboxLoginDelaySeconds: m.loginDelaySeconds,
        domainLoginDelaySeconds: m.domainLoginDelaySeconds,
        retentionDays: m.retentionDays,
        lastLoginAt: m.lastLoginAt,
      },
    };
  }

  assessThrottle(keys: string[]) {
    return this.throttle.assess(keys);
  }

  recordAuthFailure(keys: string[], password: string) {
    return this.throttle.recordFailure(keys, password);
  }

  recordAuthSuccess(accountKey: string) {
    return this.throttle.recordSuccess(accountKey);
  }

  async acquireLock(maildropId: string, holder: string, ttlMs: number): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ mailbox_id: string }[]>`
      INSERT INTO maildrop_leases (mailbox_id, holder, acquired_at, expires_at)
      VALUES (${maildropId}::uuid, ${holder}, now(), now() + ${ttlMs}::int * interval '1 millisecond')
      ON CONFLICT (mailbox_id) DO UPDATE
        SET holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
        WHERE maildrop_leases.expires_at < now()
      RETURNING mailbox_id`;
    return rows.length === 1;
  }

  async renewLocks(holder: string, ttlMs: number): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE maildrop_leases SET expires_at = now() + ${ttlMs}::int * interval '1 millisecond' WHERE holder = ${holder}`;
  }

  async releaseLock(maildropId: string, holder: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid AND holder = ${holder}`;
  }

  async releaseAllLocks(holder: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM maildrop_leases WHERE holder = ${holder}`;
  }

  async recordLogin(maildropId: string, ip: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE mailboxes SET last_login_at = now(), last_login_ip = ${ip} WHERE id = ${maildropId}::uuid`;
  }

  async listMessages(maildropId: string): Promise<MessageInfo[]> {
    const rows = await this.prisma.$queryRaw<{ id: string; uid: number; uidl: string; size_octets: number }[]>`
      SELECT id, uid, uidl, size_octets FROM messages WHERE mailbox_id = ${maildropId}::uuid ORDER BY uid`;
    return rows.map((r) => ({ id: r.id, uid: Number(r.uid), uidl: r.uidl, size: Number(r.size_octets) }));
  }

  async *readMessage(maildropId: string, message: MessageInfo): AsyncIterable<Buffer> {
    // base64 text, not bytea: Prisma's raw-query path decodes bytea several times slower (and with far more garbage)
    // than a base64 string, which Buffer.from() turns into octets at memcpy-like speed.
    const fetchChunk = (offset: number, length: number) =>
      this.prisma.$queryRaw<{ chunk: string }[]>`
        SELECT encode(substring(raw from ${offset + 1}::int for ${length}::int), 'base64') AS chunk
        FROM messages WHERE id = ${message.id}::uuid AND mailbox_id = ${maildropId}::uuid`;
    const size = message.size;
    let offset = 0;
    // One chunk is prefetched while the previous one is written out: at most two chunks per session in memory.
    let pending: Promise<{ chunk: string }[]> | undefined = fetchChunk(0, Math.min(this.chunkOctets, size));
    try {
      while (pending) {
        const rows = await pending;
        pending = undefined;
        const row = rows[0];
        if (!row) throw new MessageGoneError();
        const chunk = Buffer.from(row.chunk, 'base64');
        offset += chunk.length;
        if (chunk.length > 0 && offset < size) {
          pending = fetchChunk(offset, Math.min(this.chunkOctets, size - offset));
          pending.catch(() => undefined); // the consumer may stop early (TOP); never leave an unhandled rejection
        }
        if (chunk.length > 0) yield chunk;
      }
    } finally {
      pending?.catch(() => undefined);
    }
  }

  async commitDeletions(maildropId: string, holder: string, messageIds: string[]): Promise<CommitResult> {
    return this.prisma.$transaction(async (tx) => {
      const held = await tx.$queryRaw<{ holder: string }[]>`
        SELECT holder FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid AND holder = ${holder} FOR UPDATE`;
      if (held.length === 0) throw new LockLostError();
      if (messageIds.length === 0) return { deleted: 0, bytes: 0 };
      const rows = await tx.$queryRaw<{ size_octets: number }[]>`
        DELETE FROM messages WHERE mailbox_id = ${maildropId}::uuid AND id = ANY(${messageIds}::uuid[]) RETURNING size_octets`;
      const bytes = rows.reduce((sum, r) => sum + Number(r.size_octets), 0);
      if (rows.length > 0) {
        await tx.$executeRaw`
          UPDATE mailboxes SET used_bytes = used_bytes - ${bytes}::bigint, message_count = message_count - ${rows.length}::int
          WHERE id = ${maildropId}::uuid`;
        await tx.$executeRaw`
          UPDATE domains SET used_bytes = used_bytes - ${bytes}::bigint
          WHERE id = (SELECT domain_id FROM mailboxes WHERE id = ${maildropId}::uuid)`;
      }
      return { deleted: rows.length, bytes };
    });
  }

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }
}
