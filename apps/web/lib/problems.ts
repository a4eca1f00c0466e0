// The API's problem+json as the panel shows it: a sentence per stable error code and field errors by field name. No
// directive: client components and server actions (lib/form-action.ts) both use it.
import type { ErrorCode, Problem } from './types';

export interface ClientProblem {
  status: number;
  code: ErrorCode | 'NETWORK';
  title: string;
  detail?: string;
  errors?: { path: string; message: string; code?: string }[];
  details?: Record<string, unknown>;
}

/** The problem+json body of a failed answer (or whatever came back instead) as the panel handles it. */
export function toClientProblem(status: number, body: unknown): ClientProblem {
  const p = (body ?? {}) as Partial<Problem>;
  return {
    status,
    code: (p.code ?? 'INTERNAL') as ErrorCode,
    title: p.title ?? `Request failed (${status})`,
    detail: p.detail,
    errors: p.errors,
    details: p.details,
  };
}

const MESSAGES: Partial<Record<ClientProblem['code'], string>> = {
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  THROTTLED: 'Too many failed attempts. Wait a moment, then try again.',
  SERVER_BUSY: 'The server is busy. Wait a moment, then try again.',
  LOGIN_DELAY: 'Please wait a moment before signing in again.',
  ACCOUNT_DISABLED: 'This account is disabled. Contact your provider.',
  MAILBOX_DISABLED: 'This mailbox is disabled. Contact the domain owner.',
  DOMAIN_DISABLED: 'This domain is disabled.',
  UNAUTHENTICATED: 'Your session has ended. Sign in again.',
  CSRF_FAILED: 'Your session token is stale. Reload the page and try again.',
  FORBIDDEN: 'You do not have permission to do that.',
  NOT_FOUND: 'It no longer exists, or you cannot see it.',
  ALREADY_EXISTS: 'That name is already taken.',
  LIMIT_DOMAINS_EXCEEDED: 'You have reached your limit of domains. Ask your provider to raise it.',
  LIMIT_MAILBOXES_EXCEEDED: 'You have reached your limit of mailboxes. Delete one or ask your provider to raise the limit.',
  LIMIT_STORAGE_EXCEEDED: 'That would exceed your storage limit. Choose a smaller quota or ask your provider to raise the limit.',
  LIMIT_SENDER_RULES_EXCEEDED: 'This domain has as many sender rules as it may have. Delete one you no longer need first.',
  PASSWORD_TOO_WEAK: 'That password is too weak. Use a longer one, or generate one.',
  DOMAIN_NOT_EMPTY: 'The domain still has mailboxes. Delete them first.',
  OWNER_NOT_EMPTY: 'The owner still has domains. Move or delete them first.',
  DB_UNAVAILABLE: 'The service is temporarily unavailable. Try again in a minute.',
  NETWORK: 'The server could not be reached. Check your connection and try again.',
  SECOND_FACTOR_INVALID: 'That code is wrong, expired or already used. Try the next code from your app.',
  CHALLENGE_INVALID: 'This sign-in took too long or is no longer valid. Sign in with your password again.',
  SECOND_FACTOR_REQUIRED: 'Your provider requires two-factor authentication: keep at least one second factor.',
};

const LIMIT_ADVICE: Partial<Record<ClientProblem['code'], string>> = {
  LIMIT_MAILBOXES_EXCEEDED:
    'You have reached your mailbox limit: delete a mailbox you no longer need, or ask your provider to raise the limit.',
  LIMIT_DOMAINS_EXCEEDED: 'You have reached your domain limit: remove a domain, or ask your provider to raise the limit.',
  LIMIT_STORAGE_EXCEEDED: 'That would go over your storage limit: choose a smaller quota, or ask your provider to raise the limit.',
  QUOTA_EXCEEDED: 'Choose a larger quota or delete messages first.',
};

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** A sentence for the user: the API's own detail when it is specific, else a friendly text per code. */
export function problemMessage(p: ClientProblem): string {
  const known = MESSAGES[p.code];
  if (p.code === 'VALIDATION_FAILED') return 'Some fields need attention.';
  const advice = LIMIT_ADVICE[p.code];
  if (advice) return p.detail ? `${sentence(p.detail)} ${advice}` : (known ?? p.title);
  if (p.code === 'PASSWORD_TOO_WEAK' || p.code === 'THROTTLED' || p.code === 'LOGIN_DELAY')
    return p.detail ? sentence(p.detail) : (known ?? p.title);
  return known ?? p.detail ?? p.title;
}

/** Field errors keyed by the last segment of each issue's path (body.localPart → localPart). */
export function fieldErrors(p: ClientProblem | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of p?.errors ?? []) {
    const key =
      e.path
        .split(/[./]/)
        .filter((s) => s && s !== 'body' && !/^\d+$/.test(s))
        .pop() ?? e.path;
    out[key] ??= e.message;
  }
  if (p?.code === 'PASSWORD_TOO_WEAK' && !out.password && !out.newPassword)
    out.password = out.newPassword = p.detail ?? MESSAGES.PASSWORD_TOO_WEAK!;
  return out;
}
