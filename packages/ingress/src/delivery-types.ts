/**
 * The types the delivery modules share (recipient resolution, storage statements, group commit, the service facade),
 * in one module of their own so those modules import each other in one direction only.
 */
import type { PgPool } from '@mailroom/db';
import type { TraceInfo } from './message.ts';
import type { QuotaReplyMode, SmtpReply } from './replies.ts';

/** One mailbox a recipient resolves to. */
export interface DeliveryTarget {
  mailboxId: string;
  domainId: string;
  /** `local@domain` of the mailbox (the Delivered-To value). */
  address: string;
  /**
   * The domain's owner had a storage limit at RCPT time, so storing takes the owner's row lock first (see lockOwners).
   * A hint only: a target without it whose owner turns out to be limited is refused by the batch and stored on its own.
   */
  ownerLimited?: boolean;
}

export type RecipientResolution =
  | {
      ok: true;
      recipient: string;
      kind: 'mailbox' | 'alias' | 'catch-all' | 'postmaster';
      targets: DeliveryTarget[];
      /** The recipient's domain's greylisting setting (an alias domain's target's); null = the operator default. */
      greylisting: boolean | null;
      /** The domain whose sender rules apply to the recipient (an alias domain's target). */
      rulesDomainId: string;
      /** Mail to postmaster: no sender rule's `block` refuses it (RFC 5321 §4.5.1). */
      exemptFromBlocks?: boolean;
      /**
       * The recipient's domain's list or a target mailbox's may block the From author: true unless, at RCPT, each was
       * read and held no block rule (then the author's lookup skips it; a rule added after RCPT applies from the next
       * message on).
       */
      listsBlock: boolean;
      /** The envelope sender matched an `allow` sender rule of the recipient's domain or mailbox: never greylisted. */
      senderAllowed: boolean;
      /** An alias's mailboxes that block the envelope sender: not delivered to (each gets a delivery log entry). */
      leftOut?: DeliveryTarget[];
    }
  | { ok: false; recipient: string; reply: SmtpReply; reason: string; domainId?: string; mailboxId?: string };

export interface StoredCopy {
  messageId: string;
  mailboxId: string;
  address: string;
  uid: number;
  uidl: string;
  sizeOctets: number;
}

export type StoreResult = { ok: true; copies: StoredCopy[] } | { ok: false; reply: SmtpReply; reason: string; mailboxId?: string };

export interface StoreRequest {
  /** Mailboxes to store into; `rcptTo` names the recipient that led to a target (defaults to the request's). */
  targets: (DeliveryTarget & { rcptTo?: string })[];
  /** The message as received, line endings already CRLF. */
  body: Buffer;
  envelopeFrom: string;
  /** The recipient as given in RCPT TO. */
  rcptTo: string;
  queueId: string;
  helo: string;
  remoteAddress: string;
  protocol: TraceInfo['protocol'];
  date?: Date;
  /** false: store the body exactly as given, without Return-Path/Delivered-To/Received (mbox import, POP3 fetch). */
  trace?: boolean;
  /** Authentication-Results and Received-SPF fields (CRLF-terminated) to add below Received (SMTP sender checks). */
  authResults?: string | undefined;
  /** The message's Message-ID field for the delivery log; computed from `body` when not given. */
  messageId?: string | null;
  /** The message's author (first From address) for the delivery log; computed from `body` when not given. */
  headerFrom?: string | null;
}

/** A mailbox whose usage crossed a warning threshold with this delivery (decided in the delivery's statement). */
export interface QuotaWarning {
  mailboxId: string;
  /** `local@domain` of the mailbox. */
  address: string;
  /** The highest threshold reached, in percent. */
  percent: number;
  usedBytes: bigint;
  quotaBytes: bigint;
  /** Set when the warning message could not be stored (the delivery itself went through). */
  failed?: unknown;
}

export interface BatchInfo {
  requests: number;
  copies: number;
  bytes: number;
  /** Transaction time from BEGIN to the end of COMMIT. */
  seconds: number;
  /** `refused`: a quota or disabled target in the batch; `failed`: the transaction failed. Both retry one by one. */
  outcome: 'committed' | 'refused' | 'failed';
  /** The error of a failed batch. */
  error?: unknown;
}

export interface PreparedCopy {
  target: DeliveryTarget;
  /** This copy's trace fields; the stored message is trace + body (joined only while it is being sent). */
  trace: Buffer;
  /** Shared by every copy of the message. */
  body: Buffer;
  /** Octets of trace + body. */
  size: number;
  messageId: string;
  /** The recipient (RCPT TO) that led to this copy, for the delivery log. */
  rcptTo: string;
}

export interface PendingStore {
  copies: PreparedCopy[];
  envelopeFrom: string;
  date: Date;
  /** Delivery log columns shared by the request's copies. */
  log: {
    queueId: string;
    clientAddress: string;
    protocol: string;
    messageId: string | null;
    headerFrom: string | null;
    sizeOctets: number;
  };
  resolve(result: StoreResult): void;
  reject(err: unknown): void;
}

/** What the storage statements need to know besides their input. */
export interface StoreContext {
  quotaReply: QuotaReplyMode;
  /** Host name written into Received fields and quota warnings. */
  hostname: string;
  /** Write a delivery log entry for each stored copy in the statement that stores it. */
  deliveryLog: boolean;
  /** Named statements (planned once per connection); off behind a transaction-pooling PgBouncer before 1.21. */
  preparedStatements: boolean;
  /** Quota warning thresholds (percent) of domains without their own. */
  quotaWarningThresholds: number[];
}

/** The group commit's context: where it writes and whom it tells. */
export interface GroupCommitContext extends StoreContext {
  /**
   * Message data is written through `pg` directly, as binary parameters: Prisma serialises a Buffer parameter through
   * text copies costing about 7× its size in memory (measured with bench/memory.ts), `pg` about 1×.
   */
  pool: PgPool;
  /** Statement timeout inside a transaction (large messages take a while to write). */
  transactionTimeoutMs: number;
  /** Keep the connections of batches of large bodies between batches (group-commit.ts, WarmConnections); default on. */
  keepConnections?: boolean | undefined;
  /** How long they stay kept without such a batch (group-commit.ts, WARM_LINGER_MS by default; tests shorten it). */
  keepConnectionsMs?: number | undefined;
  onBatch?: ((info: BatchInfo) => void) | undefined;
  onQuotaWarnings?: ((warnings: QuotaWarning[]) => void) | undefined;
  /** An unexpected failure no request could be told about (one of the observers above threw after the commit). */
  onError?: ((err: unknown) => void) | undefined;
}
