import type { ErrorCode, FieldIssue, Problem } from '@mailroom/core/schemas';

/** Each domain error code maps to exactly one HTTP status, here and nowhere else. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  CSRF_FAILED: 403,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  DOMAIN_NOT_EMPTY: 409,
  OWNER_NOT_EMPTY: 409,
  LIMIT_DOMAINS_EXCEEDED: 422,
  LIMIT_MAILBOXES_EXCEEDED: 422,
  LIMIT_STORAGE_EXCEEDED: 422,
  LIMIT_SENDER_RULES_EXCEEDED: 422,
  SENDER_RULES_OWNER_ONLY: 403,
  QUOTA_EXCEEDED: 422,
  QUOTA_REQUIRED: 422,
  SCOPE_NOT_ALLOWED: 422,
  ALIASES_CROSS_OWNERS: 409,
  DOMAIN_IS_ALIAS: 409,
  PASSWORD_TOO_WEAK: 422,
  ACCOUNT_DISABLED: 403,
  MAILBOX_DISABLED: 403,
  DOMAIN_DISABLED: 403,
  MAILBOX_IN_USE: 409,
  LOGIN_DELAY: 429,
  THROTTLED: 429,
  SERVER_BUSY: 429,
  MESSAGE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  DB_UNAVAILABLE: 503,
  DNS_UNAVAILABLE: 503,
  DNS_RECORD_MISSING: 422,
  DNS_RECORD_MISMATCH: 422,
  WEBHOOK_URL_FORBIDDEN: 422,
  IMPORT_INVALID: 422,
  TOO_MANY_ROWS: 413,
  PASSKEY_REJECTED: 400,
  INTERNAL: 500,
  CHALLENGE_INVALID: 401,
  SECOND_FACTOR_INVALID: 401,
  SECOND_FACTOR_REQUIRED: 403,
};

const TITLES: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemType(code: ErrorCode): string {
  return `urn:mailroom:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export function makeProblem(
  code: ErrorCode,
  detail: string,
  extra: { status?: number; instance?: string; requestId?: string; errors?: FieldIssue[]; details?: Record<string, unknown> } = {},
): Problem {
  const status = extra.status ?? HTTP_STATUS[code];
  const p: Problem = { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code };
  if (extra.instance) p.instance = extra.instance;
  if (extra.requestId) p.requestId = extra.requestId;
  if (extra.errors?.length) p.errors = extra.errors;
  if (extra.details && Object.keys(extra.details).length) p.details = extra.details;
  return p;
}

/** A status's code when a non-domain error carries only a status. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'THROTTLED';
    case 503:
      return 'DB_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED';
  }
}
