/**
 * The storage the POP3 protocol code talks to. Protocol code never sees Prisma: one adapter (prisma-store.ts)
 * implements this on PostgreSQL.
 */

import type { SignInRefusal } from '@mailroom/core/schemas';

/** A logged-in maildrop's identity and the POP3 policy that applies to it. */
export interface Maildrop {
  id: string;
  address: string;
  /**
   * RFC 2449 LOGIN-DELAY (seconds) and EXPIRE (days) as the mailbox and its domain set them; null inherits. The server
   * resolves mailbox → domain → operator default (resolvePop3Policy).
   */
  mailboxLoginDelaySeconds: number | null;
  domainLoginDelaySeconds: number | null;
  mailboxRetentionDays: number | null;
  domainRetentionDays: number | null;
  lastLoginAt: Date | null;
  /** The app password that signed in; null for the main password. */
  appPasswordId: string | null;
}

/** How a login attempt arrived, for the mailbox's sign-in log. */
export interface SignInClient {
  ip: string;
  /** The connection is encrypted (STLS or implicit TLS). */
  tls: boolean;
  /** USER (USER/PASS) or PLAIN (AUTH PLAIN). */
  mechanism: 'USER' | 'PLAIN';
}

/** A login refused after the credentials named a mailbox (the sign-in log's refusals; POP3 never asks a second factor). */
export type SignInFailure = SignInRefusal;

export type AuthOutcome =
  /** Too many recent attempts for this account or client network: nothing was verified. */
  | { status: 'throttled'; retryAfterSeconds: number }
  /**
   * Unknown login, wrong password, or a login spelled in a way authentication does not accept: answered identically.
   * `mailboxId` (a wrong password for an existing mailbox) is for the mailbox's sign-in log, never for the reply.
   */
  | { status: 'invalid'; mailboxId?: string }
  /** Right password, but the mailbox, its domain or its owner is disabled. */
  | { status: 'disabled'; mailboxId: string }
  /** The right main password, but the mailbox accepts only app passwords for POP3. */
  | { status: 'app-password-required'; mailboxId: string }
  | { status: 'ok'; maildrop: Maildrop };

/** One message as listed at login. Sizes are exact octets of the CRLF wire form. */
export interface MessageInfo {
  id: string;
  uid: number;
  uidl: string;
  size: number;
  /** false: no line of the message starts with "." (nothing to dot-stuff); true or undefined: scan and stuff. */
  dotLines?: boolean;
}

export interface CommitResult {
  deleted: number;
  bytes: number;
}

export interface ReadMessageOptions {
  reuseChunks?: boolean;
}

/**
 * Who holds a maildrop's lease: the process (`holder`, which renews all its leases and releases them at shutdown) and
 * the one session in it (`session`, a random token). Release and deletions check the session, so a session can never
 * free or act on a lease that another session (even of the same process) has taken since.
 */
export interface LeaseOwner {
  holder: string;
  session: string;
}

/** Who is attempting a login, and how long the attempt may wait for its turn under the brute-force throttle. */
export interface AuthAttempt {
  ip: string;
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
}

export interface MaildropStore {
  /**
   * Verifies credentials (argon2id, off the event loop) through the brute-force throttle shared with the API: the
   * attempt is counted per client network and canonical account before it is verified. Unknown logins spend the same
   * time as wrong passwords. Throws AppError SERVER_BUSY when this process's argon2 queue is full.
   */
  authenticate(login: string, password: string, attempt: AuthAttempt): Promise<AuthOutcome>;

  /** Takes the single-session lock of a maildrop for `owner`; false when another live session (any process) has it. */
  acquireLock(maildropId: string, owner: LeaseOwner, ttlMs: number): Promise<boolean>;
  /**
   * Extends every lock `holder` has (one statement) but those of the sessions in `exceptSessions`: leases whose release
   * failed (the database was unreachable when their session ended) are not kept alive for a session that is gone.
   */
  renewLocks(holder: string, ttlMs: number, exceptSessions?: readonly string[]): Promise<void>;
  /** Releases the lease only if `session` still holds it. */
  releaseLock(maildropId: string, session: string): Promise<void>;
  /** Releases everything `holder` has (shutdown, or a holder known to be dead). */
  releaseAllLocks(holder: string): Promise<void>;
  /** The holder of the maildrop's lease (live or lapsed), if any. */
  lockHolder(maildropId: string): Promise<string | undefined>;
  /** Every holder with a lease whose name starts with `prefix` (this machine's, see lease-holder.ts). */
  lockHolders(prefix: string): Promise<string[]>;

  /**
   * Notes a successful login: the maildrop's last login (time and client address, for LOGIN-DELAY), the app password's
   * last use, and the mailbox's sign-in log, in one write.
   */
  recordLogin(maildrop: Maildrop, client: SignInClient): Promise<void>;
  /** Notes a refused login of a known mailbox in its sign-in log. */
  recordSignInFailure(maildropId: string, result: SignInFailure, client: SignInClient): Promise<void>;

  /** The maildrop's messages in delivery (uid) order. */
  listMessages(maildropId: string): Promise<MessageInfo[]>;

  /**
   * The message's octets in chunks, fetched lazily: the consumer pulls the next chunk only when it has written the
   * previous one. Throws MessageGoneError when the message no longer exists.
   *
   * With `reuseChunks`, a chunk is only valid until the next one is requested: the store may refill its memory, so a
   * large download allocates a few buffers instead of one per chunk. The consumer must be done with a chunk (for a
   * socket: its write callback has run) before it asks for the next.
   */
  readMessage(maildropId: string, message: MessageInfo, options?: ReadMessageOptions): AsyncIterable<Buffer>;

  /**
   * The UPDATE state: deletes these messages and adjusts the mailbox's and domain's usage in one transaction, provided
   * `session` still holds the maildrop's lock (else throws LockLostError and deletes nothing).
   */
  commitDeletions(maildropId: string, session: string, messageIds: string[]): Promise<CommitResult>;

  /**
   * Retention (RFC 2449 EXPIRE): deletes the maildrop's messages delivered more than `olderThanDays` days ago, with the
   * same accounting and lease check as commitDeletions.
   */
  expireMessages(maildropId: string, session: string, olderThanDays: number): Promise<CommitResult>;

  /** Readiness: resolves when storage answers. */
  ping(): Promise<void>;
}

export class MessageGoneError extends Error {
  constructor() {
    super('message no longer exists');
    this.name = 'MessageGoneError';
  }
}

export class LockLostError extends Error {
  constructor() {
    super('maildrop lock lost');
    this.name = 'LockLostError';
  }
}
