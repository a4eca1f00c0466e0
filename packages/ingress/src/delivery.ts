import { isDatabaseUnavailable } from '@mailroom/core';
import { newId, pgPoolOf, type PrismaClient } from '@mailroom/db';
import type {
  BatchInfo,
  PreparedCopy,
  QuotaWarning,
  RecipientResolution,
  StoreRequest,
  StoreResult,
  StoredCopy,
} from './delivery-types.ts';
import { GroupCommit } from './group-commit.ts';
import { authorAddresses, buildTraceFields, messageIdHeader, newQueueId, normalizeCrlf } from './message.ts';
import { DEFAULT_QUOTA_WARNING_THRESHOLDS } from './quota.ts';
import { DEFAULT_RECIPIENT_DELIMITER, RecipientResolver, type AuthorBlocks } from './recipients.ts';
import { REPLIES, type QuotaReplyMode, type SmtpReply } from './replies.ts';

export type {
  BatchInfo,
  DeliveryTarget,
  QuotaWarning,
  RecipientResolution,
  StoredCopy,
  StoreRequest,
  StoreResult,
} from './delivery-types.ts';
export { DEFAULT_QUOTA_WARNING_THRESHOLDS } from './quota.ts';

export interface DeliveryServiceOptions {
  quotaReply?: QuotaReplyMode;
  /** Host name written into Received fields. */
  hostname?: string;
  /** Interactive transaction timeout (large messages take a while to write). */
  transactionTimeoutMs?: number;
  /** Called after each group-commit transaction (for metrics). */
  onBatch?: (info: BatchInfo) => void;
  /** Takes mail to `postmaster` that no hosted domain takes (RFC 5321 §4.5.1); a hosted mailbox or alias. */
  postmasterAddress?: string | undefined;
  /** Subaddress delimiters: `name+tag@` without an address of its own goes to `name@` (default `+`; empty: off). */
  recipientDelimiter?: string | undefined;
  /** Write a delivery log entry for each stored copy in the delivery's own statement (DELIVERY_LOG, default on). */
  deliveryLog?: boolean | undefined;
  /**
   * Named statements for the RCPT lookups and the group commit's statements (DATABASE_PREPARED_STATEMENTS, default
   * on); off where a transaction-pooling PgBouncer cannot keep them.
   */
  preparedStatements?: boolean | undefined;
  /** Quota warning thresholds (percent) of domains without their own (QUOTA_WARNING_THRESHOLDS, default 80,95). */
  quotaWarningThresholds?: readonly number[] | undefined;
  /** Called after quota warnings were delivered into mailboxes (for metrics and logs). */
  onQuotaWarnings?: ((warnings: QuotaWarning[]) => void) | undefined;
  /** Told about a failure no delivery could be told about (onBatch or onQuotaWarnings threw after a commit). */
  onError?: ((err: unknown) => void) | undefined;
  /**
   * Keep the connections that stored large bodies for the next such batch, up to three, for five minutes (default
   * on; one goes back whenever a checkout queues for the pool): fewer PostgreSQL backends map shared memory page by
   * page (group-commit.ts). Off for a caller storing one message at a time on a pool it shares with other work (the
   * API's imports).
   */
  keepConnections?: boolean | undefined;
  /** How long kept connections stay without a batch of large bodies (default group-commit.ts's WARM_LINGER_MS). */
  keepConnectionsMs?: number | undefined;
}

/**
 * Recipient policy and storage: resolves `local@domain` to mailboxes (mailbox, alias fan-out, catch-all; recipients.ts)
 * and stores a message into them (group-commit.ts, store-statements.ts), keeping UIDs, usage counters and domain usage
 * exact.
 */
export class DeliveryService {
  readonly quotaReply: QuotaReplyMode;
  readonly hostname: string;
  /** Stored copies get a delivery log entry in the statement that stores them. */
  readonly deliveryLog: boolean;
  private readonly recipients: RecipientResolver;
  private readonly commits: GroupCommit;

  constructor(prisma: PrismaClient, options: DeliveryServiceOptions = {}) {
    this.quotaReply = options.quotaReply ?? 'temporary';
    this.hostname = options.hostname ?? 'localhost';
    this.deliveryLog = options.deliveryLog ?? true;
    const pool = pgPoolOf(prisma);
    if (!pool) throw new Error('DeliveryService needs a client from createPrismaClient (message data goes through its pg pool)');
    const preparedStatements = options.preparedStatements ?? true;
    this.recipients = new RecipientResolver(pool, {
      quotaReply: this.quotaReply,
      postmasterAddress: options.postmasterAddress,
      recipientDelimiter: options.recipientDelimiter ?? DEFAULT_RECIPIENT_DELIMITER,
      prepared: preparedStatements,
    });
    this.commits = new GroupCommit({
      pool,
      quotaReply: this.quotaReply,
      hostname: this.hostname,
      deliveryLog: this.deliveryLog,
      preparedStatements,
      quotaWarningThresholds: [...(options.quotaWarningThresholds ?? DEFAULT_QUOTA_WARNING_THRESHOLDS)],
      transactionTimeoutMs: options.transactionTimeoutMs ?? 120_000,
      keepConnections: options.keepConnections ?? true,
      keepConnectionsMs: options.keepConnectionsMs,
      onBatch: options.onBatch,
      onQuotaWarnings: options.onQuotaWarnings,
      onError: options.onError,
    });
  }

  /**
   * Gives back the database connections kept between batches of large bodies, and keeps none from then on. They also go
   * back by themselves five minutes after the last such batch, one at a time when a checkout queues for the pool, and
   * all at once when the pool is ended (its `end()` waits for every checked-out connection).
   */
  close(): void {
    this.commits.close();
  }

  /** Connections kept for batches of large bodies right now (tests). */
  get warmConnections(): number {
    return this.commits.warmConnections;
  }

  /**
   * Resolves a recipient. `declaredSize` (MAIL FROM SIZE=) lets a full mailbox be refused at RCPT time; without it a
   * mailbox already at or over its quota is refused. Case-insensitive; the first match wins: mailbox, alias, catch-all.
   */
  resolveRecipient(recipient: string, declaredSize = 0, senderPatterns: readonly string[] = []): Promise<RecipientResolution> {
    return this.recipients.resolveRecipient(recipient, declaredSize, senderPatterns);
  }

  /** The sender rule lists that block a message's author (see RecipientResolver.blockedAuthors). */
  blockedAuthors(authors: readonly (readonly string[])[], domainIds: string[], mailboxIds: string[]): Promise<AuthorBlocks> {
    return this.recipients.blockedAuthors(authors, domainIds, mailboxIds);
  }

  /**
   * Stores one copy per target, all or nothing, and resolves only after the commit. Per copy, one statement takes the
   * next UID and adds size and count on the locked mailbox row under its quota, raises the domain's usage under its
   * storage limit and inserts the message; nothing is ever half-stored.
   *
   * Group commit: every delivery of a domain must update the domain's usage row, whose lock is held until the commit
   * is flushed, so one transaction per message caps a domain at one message per WAL flush. Requests that arrive while a
   * transaction is running are therefore stored together in the next one (one flush for the batch); a request refused
   * by a quota is undone inside the batch without touching the others. If a batch fails as a whole (deadlock with
   * another process, lost connection), each request is retried in its own transaction.
   */
  store(req: StoreRequest): Promise<StoreResult> {
    const targets = [...new Map(req.targets.map((t) => [t.mailboxId, t])).values()].sort((a, b) => (a.mailboxId < b.mailboxId ? -1 : 1));
    if (!targets.length) return Promise.resolve({ ok: true, copies: [] });
    const date = req.date ?? new Date();
    const copies: PreparedCopy[] = targets.map((t) => {
      const trace =
        req.trace === false
          ? Buffer.alloc(0)
          : buildTraceFields({
              envelopeFrom: req.envelopeFrom,
              deliveredTo: t.address,
              rcptTo: t.rcptTo ?? req.rcptTo,
              helo: req.helo,
              remoteAddress: req.remoteAddress,
              hostname: this.hostname,
              protocol: req.protocol,
              queueId: req.queueId,
              date,
              authResults: req.authResults,
            });
      return { target: t, trace, body: req.body, size: trace.length + req.body.length, messageId: newId(), rcptTo: t.rcptTo ?? req.rcptTo };
    });
    const log = {
      queueId: req.queueId,
      clientAddress: req.remoteAddress,
      protocol: req.protocol,
      messageId: this.deliveryLog ? (req.messageId === undefined ? messageIdHeader(req.body) : req.messageId) : null,
      headerFrom: this.deliveryLog ? (req.headerFrom === undefined ? (authorAddresses(req.body)[0] ?? null) : req.headerFrom) : null,
      sizeOctets: req.body.length,
    };
    return this.commits.enqueue({ copies, envelopeFrom: req.envelopeFrom, date, log });
  }
}

/** Maps an unexpected storage error to a temporary failure (the sender keeps the message and retries). */
export function replyForError(err: unknown): { reply: SmtpReply; reason: string } {
  return { reply: REPLIES.temporaryFailure, reason: isDatabaseUnavailable(err) ? 'database unavailable' : 'internal error' };
}

export interface DeliverMessageInput {
  /** Envelope sender ('' for the null reverse-path). */
  from: string;
  recipients: string[];
  /** The message; line endings are normalised to CRLF. */
  raw: Buffer | string;
  helo?: string;
  remoteAddress?: string;
  hostname?: string;
  quotaReply?: QuotaReplyMode;
}

export interface RecipientOutcome {
  recipient: string;
  ok: boolean;
  reply: SmtpReply;
  /** Copies stored for this recipient (empty when every target already got the message from an earlier recipient). */
  copies: StoredCopy[];
  reason?: string;
}

export interface DeliverMessageResult {
  queueId: string;
  recipients: RecipientOutcome[];
}

/**
 * Delivers one message the way the LMTP listener does, without a socket: each recipient is resolved and stored on its
 * own (one outcome per recipient), and a mailbox reached through several recipients gets the message once. For tests
 * and tools that need mail in a mailbox.
 */
export async function deliverMessage(prisma: PrismaClient, input: DeliverMessageInput): Promise<DeliverMessageResult> {
  // one message, on a service of its own that nothing closes: it keeps no connection
  const service = new DeliveryService(prisma, { quotaReply: input.quotaReply, hostname: input.hostname, keepConnections: false });
  const body = normalizeCrlf(input.raw);
  const queueId = newQueueId();
  const done = new Set<string>();
  const recipients: RecipientOutcome[] = [];
  for (const recipient of input.recipients) {
    const resolved = await service.resolveRecipient(recipient, body.length);
    if (!resolved.ok) {
      recipients.push({ recipient, ok: false, reply: resolved.reply, copies: [], reason: resolved.reason });
      continue;
    }
    const targets = resolved.targets.filter((t) => !done.has(t.mailboxId));
    const stored = await service.store({
      targets,
      body,
      envelopeFrom: input.from,
      rcptTo: recipient,
      queueId,
      helo: input.helo ?? 'localhost',
      remoteAddress: input.remoteAddress ?? '127.0.0.1',
      protocol: 'LMTP',
    });
    if (!stored.ok) {
      recipients.push({ recipient, ok: false, reply: stored.reply, copies: [], reason: stored.reason });
      continue;
    }
    for (const t of targets) done.add(t.mailboxId);
    recipients.push({
      recipient,
      ok: true,
      reply: { code: 250, status: '2.0.0', text: `Ok: delivered as ${queueId}` },
      copies: stored.copies,
    });
  }
  return { queueId, recipients };
}
