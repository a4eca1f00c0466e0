/**
 * Stable machine-readable error codes. Each edge maps them once: HTTP status + problem+json in the API,
 * `-ERR [CODE]` in POP3, SMTP reply codes in ingress. Add codes here; never rename one.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'FORBIDDEN',
  'CSRF_FAILED',
  'ALREADY_EXISTS',
  'CONFLICT',
  'DOMAIN_NOT_EMPTY',
  'OWNER_NOT_EMPTY',
  'LIMIT_DOMAINS_EXCEEDED',
  'LIMIT_MAILBOXES_EXCEEDED',
  'LIMIT_STORAGE_EXCEEDED',
  'QUOTA_EXCEEDED',
  'PASSWORD_TOO_WEAK',
  'ACCOUNT_DISABLED',
  'MAILBOX_DISABLED',
  'DOMAIN_DISABLED',
  'MAILBOX_IN_USE',
  'LOGIN_DELAY',
  'THROTTLED',
  'MESSAGE_TOO_LARGE',
  'DB_UNAVAILABLE',
  'INTERNAL',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'METHOD_NOT_ALLOWED',
  'SCOPE_NOT_ALLOWED',
  'QUOTA_REQUIRED',
  'ALIASES_CROSS_OWNERS',
  'DNS_UNAVAILABLE',
  'DNS_RECORD_MISSING',
  'DNS_RECORD_MISMATCH',
  /** Too many password hashes/verifications queued in this process (ARGON2_MAX_QUEUE): retry after a moment. */
  'SERVER_BUSY',
  /** A webhook URL whose host is (or resolves to) a loopback, private, link-local or otherwise internal address. */
  'WEBHOOK_URL_FORBIDDEN',
  /** A passkey registration the server could not verify (wrong or used challenge, other origin, malformed attestation). */
  'PASSKEY_REJECTED',
  /** A pending-login challenge that is unknown, expired, used, issued to another client, or for another step. */
  'CHALLENGE_INVALID',
  /** A wrong, reused or expired second-factor code (TOTP or recovery code). */
  'SECOND_FACTOR_INVALID',
  /** The operator's MAILROOM_REQUIRE_2FA policy needs a second factor here (e.g. the last one cannot be removed). */
  'SECOND_FACTOR_REQUIRED',
  /** A mailbox CSV import (not a dry run, without skipInvalid) has invalid rows: nothing was written; details.errors lists them. */
  'IMPORT_INVALID',
  /** A CSV import has more rows than API_IMPORT_MAX_ROWS, or a bulk selection more than the bulk limit. */
  'TOO_MANY_ROWS',
  /** Mailboxes and aliases live in the target of an alias domain, never in the alias domain itself. */
  'DOMAIN_IS_ALIAS',
  /** A domain's or a mailbox's list holds MAX_SENDER_RULES sender rules already. */
  'LIMIT_SENDER_RULES_EXCEEDED',
  /** A mailbox user changing their own sender list where the domain's owner keeps the mailboxes' lists. */
  'SENDER_RULES_OWNER_ONLY',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldIssue {
  path: string;
  message: string;
  code?: string;
}

/** A domain error: safe to show to the caller (no secrets, no internals). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fields?: FieldIssue[];
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { fields?: FieldIssue[]; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    if (opts.fields) this.fields = opts.fields;
    if (opts.details) this.details = opts.details;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
