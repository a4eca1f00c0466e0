import { createHmac } from 'node:crypto';
import type { PrismaClient } from '@mailroom/db';
import { networkKey } from '../network.ts';

/** Failures within this window count together; older ones are forgotten. */
export const THROTTLE_WINDOW_MS = 15 * 60_000;
/** Failures allowed before any delay. */
export const THROTTLE_FREE_FAILURES = 3;
/** Upper bound of the added delay (Dovecot's auth_penalty stops at 15 s too). */
export const THROTTLE_MAX_DELAY_MS = 15_000;
/** Distinct wrong passwords remembered per key, so repeating one stale password does not add up. */
export const THROTTLE_REMEMBERED_PASSWORDS = 8;

export interface ThrottleAssessment {
  /** Highest failure count among the keys. */
  failures: number;
  /** Delay to add before answering this attempt (grows 1 s, 2 s, 4 s … up to 15 s). */
  delayMs: number;
}

/** The network an address belongs to for throttling: IPv4 /24, IPv6 /64 (one subscriber usually holds a whole /64). */
export function ipNetworkKey(ip: string): string {
  return `ip:${networkKey(ip, { ipv4Prefix: 24, ipv6Prefix: 64 })}`;
}

export function accountKey(login: string): string {
  return `acct:${login.trim().toLowerCase()}`;
}

export function delayForFailures(failures: number): number {
  if (failures < THROTTLE_FREE_FAILURES) return 0;
  return Math.min(1000 * 2 ** (failures - THROTTLE_FREE_FAILURES), THROTTLE_MAX_DELAY_MS);
}

/**
 * Brute-force throttling shared by POP3 and the API, kept in PostgreSQL so every process and host sees the same counts.
 * Unknown accounts are throttled exactly like known ones, so nothing is revealed.
 */
export class AuthThrottle {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly secret: string,
  ) {}

  private fingerprint(key: string, password: string): string {
    return createHmac('sha256', this.secret).update(key).update('\0').update(password).digest('base64url').slice(0, 16);
  }

  async assess(keys: string[], now = new Date()): Promise<ThrottleAssessment> {
    const rows = await this.prisma.authThrottle.findMany({ where: { key: { in: keys } } });
    let failures = 0;
    for (const r of rows) {
      if (now.getTime() - r.lastFailureAt.getTime() <= THROTTLE_WINDOW_MS) failures = Math.max(failures, r.failures);
    }
    return { failures, delayMs: delayForFailures(failures) };
  }

  /** Counts a failed attempt under each key, unless that key already saw this same wrong password recently. */
  async recordFailure(keys: string[], password: string, now = new Date()): Promise<void> {
    for (const key of keys) {
      const fp = this.fingerprint(key, password);
      const windowStart = new Date(now.getTime() - THROTTLE_WINDOW_MS);
      // One statement: start over when the window passed, skip repeats, otherwise count and remember the fingerprint.
      await this.prisma.$executeRaw`
        INSERT INTO auth_throttles (key, failures, recent_fingerprints, last_failure_at)
        VALUES (${key}, 1, ARRAY[${fp}]::text[], ${now})
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE
            WHEN auth_throttles.last_failure_at < ${windowStart} THEN 1
            WHEN ${fp} = ANY(auth_throttles.recent_fingerprints) THEN auth_throttles.failures
            ELSE auth_throttles.failures + 1 END,
          recent_fingerprints = CASE
            WHEN auth_throttles.last_failure_at < ${windowStart} THEN ARRAY[${fp}]::text[]
            WHEN ${fp} = ANY(auth_throttles.recent_fingerprints) THEN auth_throttles.recent_fingerprints
            ELSE (ARRAY[${fp}]::text[] || auth_throttles.recent_fingerprints)[1:${THROTTLE_REMEMBERED_PASSWORDS}] END,
          last_failure_at = ${now}`;
    }
  }

  /** A successful login clears the account's count (not the network's). */
  async recordSuccess(accountKeyValue: string): Promise<void> {
    await this.prisma.authThrottle.deleteMany({ where: { key: accountKeyValue } });
  }

  /** Housekeeping: forget entries older than the window. */
  async prune(now = new Date()): Promise<number> {
    const { count } = await this.prisma.authThrottle.deleteMany({ where: { lastFailureAt: { lt: new Date(now.getTime() - THROTTLE_WINDOW_MS) } } });
    return count;
  }
}
