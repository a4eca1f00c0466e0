import {
  authenticateMailbox,
  recordMailboxSignIn,
  recordPop3SignIn,
  removeStoredMessages,
  type AuthThrottle,
  type PasswordHasher,
  type StoredMessageSelection,
} from '@mailroom/core';
import type { PgPool, PrismaClient } from '@mailroom/db';
import { Prisma, storedMessageCopySql, streamCopyRows } from '@mailroom/db';
import {
  LockLostError,
  MessageGoneError,
  type AuthAttempt,
  type AuthOutcome,
  type CommitResult,
  type LeaseOwner,
  type Maildrop,
  type MaildropStore,
  type MessageInfo,
  type ReadMessageOptions,
  type SignInClient,
  type SignInFailure,
} from './store.ts';

/**
 * Octets fetched per query when streaming a message out of `messages.raw` (stored EXTERNAL, so substring() reads only
 * the TOAST chunks it needs). Measured in bench/run.ts: 256 KiB with 3 chunks in flight streams as fast as 1 MiB with
 * one, with about half the transient memory (less garbage per chunk for the GC to catch up with).
 */
export const MESSAGE_CHUNK_OCTETS = 256 * 1024;
/** Chunks fetched ahead (on other pooled connections) while the current one is written. */
export const MESSAGE_PREFETCH_CHUNKS = 3;

/**
 * With a `pg` pool, RETR/TOP stream a message with one `COPY … TO STDOUT (FORMAT binary)` on one pooled connection:
 * rows of this many octets arrive raw (no text/hex/base64 conversion), with TCP backpressure from the POP3 client.
 * Measured with bench/retr-ab.ts (CPU seconds per 50 MiB download, which a loaded machine distorts far less than wall
 * time): the POP3 process spent 0.27 s with 64 KiB rows, 0.11 s with 256 KiB, 0.085 s with ~1 MiB — per-row costs
 * (promise turns, write callbacks, syscalls) dominate small rows. 512 KiB stays below the framed socket's kept
 * assembly buffer (1 MiB, packages/db) and keeps 4 parallel downloads' growth at a few MB (bench/run.ts).
 */
export const COPY_CHUNK_OCTETS = 512 * 1024;
/** Octets queued from PostgreSQL before its connection is paused (beyond the row being written). */
export const COPY_HIGH_WATER_OCTETS = 256 * 1024;

export interface PrismaMaildropStoreOptions {
  prisma: PrismaClient;
  /**
   * The pool RETR/TOP streams draw from (main.ts: its own bounded pool, openPop3Database): enables the COPY streaming
   * path for messages. Each running download holds one of its connections.
   */
  pool?: PgPool;
  hasher: PasswordHasher;
  throttle: AuthThrottle;
  /** Operator default (POP3_REQUIRE_APP_PASSWORDS): only app passwords sign in, unless the domain or mailbox says otherwise. */
  requireAppPasswords?: boolean;
  chunkOctets?: number;
  /** Chunks fetched ahead of the one being written (each on its own pooled connection). */
  prefetchChunks?: number;
}

/** The maildrop store on PostgreSQL through Prisma. */
export class PrismaMaildropStore implements MaildropStore {
  private readonly prisma: PrismaClient;
  private readonly hasher: PasswordHasher;
  private readonly throttle: AuthThrottle;
  private readonly requireAppPasswords: boolean;
  private readonly chunkOctets: number;
  private readonly chunkOverride: number | undefined;
  private readonly prefetchChunks: number;
  private readonly pool: PgPool | undefined;

  constructor(opts: PrismaMaildropStoreOptions) {
    this.prisma = opts.prisma;
    this.pool = opts.pool;
    this.hasher = opts.hasher;
    this.throttle = opts.throttle;
    this.requireAppPasswords = opts.requireAppPasswords ?? false;
    this.chunkOctets = opts.chunkOctets ?? MESSAGE_CHUNK_OCTETS;
    this.chunkOverride = opts.chunkOctets;
    this.prefetchChunks = opts.prefetchChunks ?? MESSAGE_PREFETCH_CHUNKS;
  }

  async authenticate(login: string, password: string, attempt: AuthAttempt): Promise<AuthOutcome> {
    const r = await this.throttle.attempt({ ...attempt, login, password }, async (account) => {
      // The main password and every app password of the mailbox share the account's throttle count and its
      // "same wrong password repeated" memory (both keyed on the canonical address).
      const a = await authenticateMailbox(this.prisma, this.hasher, account, password, {
        service: 'pop3',
        requireAppPasswordsDefault: this.requireAppPasswords,
      });
      return { passwordOk: a.status !== 'invalid', value: a };
    });
    if (r.status === 'throttled') return r;
    if (r.status === 'invalid')
      return r.value?.status === 'invalid' && r.value.mailboxId
        ? { status: 'invalid', mailboxId: r.value.mailboxId }
        : { status: 'invalid' };
    if (r.value.status !== 'ok') return r.value;
    const m = r.value.mailbox;
    return {
      status: 'ok',
      maildrop: {
        id: m.id,
        address: m.address,
        mailboxLoginDelaySeconds: m.loginDelaySeconds,
        domainLoginDelaySeconds: m.domainLoginDelaySeconds,
        mailboxRetentionDays: m.retentionDays,
        domainRetentionDays: m.domainRetentionDays,
        lastLoginAt: m.lastLoginAt,
        appPasswordId: m.appPasswordId,
      },
    };
  }

  async acquireLock(maildropId: string, owner: LeaseOwner, ttlMs: number): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ mailbox_id: string }[]>`
      INSERT INTO maildrop_leases (mailbox_id, holder, session, acquired_at, expires_at)
      VALUES (${maildropId}::uuid, ${owner.holder}, ${owner.session}, now(), now() + ${ttlMs}::int * interval '1 millisecond')
      ON CONFLICT (mailbox_id) DO UPDATE
        SET holder = EXCLUDED.holder, session = EXCLUDED.session, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
        WHERE maildrop_leases.expires_at < now()
      RETURNING mailbox_id`;
    return rows.length === 1;
  }

  async renewLocks(holder: string, ttlMs: number, exceptSessions: readonly string[] = []): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE maildrop_leases SET expires_at = now() + ${ttlMs}::int * interval '1 millisecond'
      WHERE holder = ${holder} AND NOT (session = ANY(${[...exceptSessions]}::text[]))`;
  }

  async releaseLock(maildropId: string, session: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid AND session = ${session}`;
  }

  async releaseAllLocks(holder: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM maildrop_leases WHERE holder = ${holder}`;
  }

  async lockHolder(maildropId: string): Promise<string | undefined> {
    const rows = await this.prisma.$queryRaw<
      { holder: string }[]
    >`SELECT holder FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid`;
    return rows[0]?.holder;
  }

  async lockHolders(prefix: string): Promise<string[]> {
    // one row per open POP3 session in the whole deployment: small enough to scan at start
    const rows = await this.prisma.$queryRaw<{ holder: string }[]>`
      SELECT DISTINCT holder FROM maildrop_leases WHERE starts_with(holder, ${prefix})`;
    return rows.map((r) => r.holder);
  }

  async recordLogin(maildrop: Maildrop, client: SignInClient): Promise<void> {
    await recordPop3SignIn(this.prisma, {
      mailboxId: maildrop.id,
      clientAddress: client.ip,
      tls: client.tls,
      mechanism: client.mechanism,
      appPasswordId: maildrop.appPasswordId,
    });
  }

  async recordSignInFailure(maildropId: string, result: SignInFailure, client: SignInClient): Promise<void> {
    await recordMailboxSignIn(this.prisma, {
      mailboxId: maildropId,
      service: 'pop3',
      result,
      clientAddress: client.ip,
      tls: client.tls,
      mechanism: client.mechanism,
    });
  }

  async listMessages(maildropId: string): Promise<MessageInfo[]> {
    const rows = await this.prisma.$queryRaw<{ id: string; uid: number; uidl: string; size_octets: number; dot_lines: boolean | null }[]>`
      SELECT id, uid, uidl, size_octets, dot_lines FROM messages WHERE mailbox_id = ${maildropId}::uuid ORDER BY uid`;
    // dot_lines is NULL for messages stored before it was recorded: those are scanned (dotLines undefined)
    return rows.map((r) => ({
      id: r.id,
      uid: Number(r.uid),
      uidl: r.uidl,
      size: Number(r.size_octets),
      ...(r.dot_lines === null ? {} : { dotLines: r.dot_lines }),
    }));
  }

  /**
   * How chunks travel. Prisma's raw-query path decodes `bytea` slowly and with much garbage, so a chunk is sent as
   * text instead: `convert_from(chunk, 'LATIN1')` maps every octet to one character (cheap for PostgreSQL, ~1 octet on
   * the wire for mail, which is mostly ASCII) and `Buffer.from(text, 'latin1')` restores the octets exactly. That needs
   * a UTF8 database (the client encoding is UTF8) and a chunk without NUL octets (text cannot hold them); otherwise
   * the chunk comes as base64.
   */
  private textTransfer: Promise<boolean> | undefined;

  private canUseTextTransfer(): Promise<boolean> {
    this.textTransfer ??= this.prisma.$queryRaw<
      { enc: string }[]
    >`SELECT pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = current_database()`
      .then((r) => r[0]?.enc === 'UTF8')
      .catch((err) => {
        this.textTransfer = undefined;
        throw err;
      });
    return this.textTransfer;
  }

  /**
   * The octets [offset, offset + length) of a stored message as column `c` (no row: the message is gone). A message
   * is `raw` followed by its `message_parts` at their offsets (large messages, see the migration
   * 20261201180000_message_parts): the slice joins the part holding `offset` (the last starting at or before it) up
   * to the last starting before the slice's end, then cuts; a message without parts is sliced from `raw` alone.
   */
  private sliceSql(maildropId: string, messageId: string, offset: number, length: number): Prisma.Sql {
    return Prisma.sql`
      SELECT CASE WHEN m.size_octets > octet_length(m.raw)
                  THEN substring(substring(m.raw from ${offset + 1}::int for ${length}::int) || coalesce(pp.data, ''::bytea)
                                 from (1 + greatest(0, ${offset}::bigint - coalesce(f.off, octet_length(m.raw))))::int for ${length}::int)
                  ELSE substring(m.raw from ${offset + 1}::int for ${length}::int) END AS c
        FROM messages m
        LEFT JOIN LATERAL (SELECT max(q.off) AS off FROM message_parts q
                            WHERE q.message_id = m.id AND q.off <= ${offset}::bigint) f ON true
        LEFT JOIN LATERAL (SELECT string_agg(p.data, ''::bytea ORDER BY p.off) AS data FROM message_parts p
                            WHERE p.message_id = m.id AND p.off >= coalesce(f.off, 0)
                              AND p.off < ${offset}::bigint + ${length}::int) pp ON true
       WHERE m.id = ${messageId}::uuid AND m.mailbox_id = ${maildropId}::uuid`;
  }

  private async fetchChunk(maildropId: string, messageId: string, offset: number, length: number, text: boolean): Promise<Buffer> {
    if (text) {
      const rows = await this.prisma.$queryRaw<{ t: string | null; b: string | null }[]>`
        SELECT CASE WHEN position(decode('00', 'hex') IN c) = 0 THEN convert_from(c, 'LATIN1') END AS t,
               CASE WHEN position(decode('00', 'hex') IN c) > 0 THEN encode(c, 'base64') END AS b
        FROM (${this.sliceSql(maildropId, messageId, offset, length)}) AS chunk`;
      const row = rows[0];
      if (!row) throw new MessageGoneError();
      return row.t !== null ? Buffer.from(row.t, 'latin1') : Buffer.from(row.b ?? '', 'base64');
    }
    const rows = await this.prisma.$queryRaw<{ b: string }[]>`
      SELECT encode(c, 'base64') AS b FROM (${this.sliceSql(maildropId, messageId, offset, length)}) AS chunk`;
    if (!rows[0]) throw new MessageGoneError();
    return Buffer.from(rows[0].b, 'base64');
  }

  readMessage(maildropId: string, message: MessageInfo, options: ReadMessageOptions = {}): AsyncIterable<Buffer> {
    return this.pool
      ? this.copyMessage(this.pool, maildropId, message, options.reuseChunks ?? false)
      : this.fetchMessage(maildropId, message);
  }

  /** One COPY per message: rows of `chunkOctets` (COPY_CHUNK_OCTETS by default) in order; no rows = the message is gone. */
  private async *copyMessage(pool: PgPool, maildropId: string, message: MessageInfo, reuseChunks: boolean): AsyncIterable<Buffer> {
    const sql = storedMessageCopySql(maildropId, message.id, this.chunkOverride ?? COPY_CHUNK_OCTETS);
    if (!sql) throw new MessageGoneError();
    let rows = 0;
    for await (const part of streamCopyRows(pool, sql, { highWaterOctets: COPY_HIGH_WATER_OCTETS, reuseBuffers: reuseChunks })) {
      rows++;
      if (part.length > 0) yield part;
    }
    if (rows === 0) throw new MessageGoneError();
  }

  private async *fetchMessage(maildropId: string, message: MessageInfo): AsyncIterable<Buffer> {
    const text = await this.canUseTextTransfer();
    const size = message.size;
    // Chunks are fetched ahead while earlier ones are written out: at most 1 + prefetch chunks per session in memory.
    const queue: Promise<Buffer>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < 1 + this.prefetchChunks && (next < size || (size === 0 && next === 0 && queue.length === 0))) {
        const length = Math.min(this.chunkOctets, size - next);
        const p = this.fetchChunk(maildropId, message.id, next, length, text);
        p.catch(() => undefined); // the consumer may stop early (TOP): never leave an unhandled rejection
        queue.push(p);
        next += Math.max(length, 1);
      }
    };
    fill();
    let received = 0;
    while (queue.length) {
      const chunk = await queue.shift()!;
      received += chunk.length;
      if (received < size && chunk.length > 0) fill();
      if (chunk.length > 0) yield chunk;
      else break;
    }
  }

  async commitDeletions(maildropId: string, session: string, messageIds: string[]): Promise<CommitResult> {
    if (messageIds.length === 0) {
      // The common QUIT: nothing to delete, so one statement checks the lease instead of an interactive transaction.
      const held = await this.prisma.$queryRaw<{ holder: string }[]>`
        SELECT holder FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid AND session = ${session}`;
      if (held.length === 0) throw new LockLostError();
      return { deleted: 0, bytes: 0 };
    }
    return this.deleteMessages(maildropId, session, { ids: messageIds });
  }

  async expireMessages(maildropId: string, session: string, olderThanDays: number): Promise<CommitResult> {
    return this.deleteMessages(maildropId, session, { olderThanDays });
  }

  /** Deletes messages and adjusts mailbox and domain usage in one transaction, only while `session` holds the lease. */
  private deleteMessages(maildropId: string, session: string, which: StoredMessageSelection): Promise<CommitResult> {
    return this.prisma.$transaction(async (tx) => {
      const held = await tx.$queryRaw<{ holder: string }[]>`
        SELECT holder FROM maildrop_leases WHERE mailbox_id = ${maildropId}::uuid AND session = ${session} FOR UPDATE`;
      if (held.length === 0) throw new LockLostError();
      return removeStoredMessages(tx, maildropId, which);
    });
  }

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }
}
