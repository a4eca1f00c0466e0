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
