import { createHmac } from 'node:crypto';
import { Prisma, type PrismaClient } from '@mailroom/db';
import { canonicalLogin } from '../address.ts';
import { networkKey } from '../network.ts';

/** Attempts within this window count together; older ones are forgotten. */
export const THROTTLE_WINDOW_MS = 15 * 60_000;
/** Attempts allowed before any delay. */
export const THROTTLE_FREE_FAILURES = 3;
/** Upper bound of the added delay (Dovecot's auth_penalty stops at 15 s too). */
export const THROTTLE_MAX_DELAY_MS = 15_000;
/** Distinct wrong passwords remembered per key, so repeating one stale password does not add up. */
export const THROTTLE_REMEMBERED_PASSWORDS = 8;

/** The network an address belongs to for throttling: IPv4 /24, IPv6 /64 (one subscriber usually holds a whole /64). */
export function ipNetworkKey(ip: string): string {
  return `ip:${networkKey(ip, { ipv4Prefix: 24, ipv6Prefix: 64 })}`;
}

/** The throttle key of an account: its canonical address (canonicalLogin's `account`), never the raw login text. */
export function accountKey(account: string): string {
  return `acct:${account}`;
}

/** The delay after `attempts` counted attempts before the next one may be verified (1 s, 2 s, 4 s … 15 s). */
export function delayForFailures(attempts: number): number {
  if (attempts < THROTTLE_FREE_FAILURES) return 0;
  return Math.min(1000 * 2 ** (attempts - THROTTLE_FREE_FAILURES), THROTTLE_MAX_DELAY_MS);
}

/**
 * The allowance: how many attempts on one key the schedule lets through within `ms` of the first one (the free ones at
 * once, then one per delay). A burst, however concurrent, verifies no more than this.
 */
export function attemptsAllowedWithin(ms: number): number {
  let attempts = THROTTLE_FREE_FAILURES;
  for (let t = delayForFailures(attempts); t <= ms; t += delayForFailures(attempts)) attempts++;
  return attempts;
}

/** delayForFailures in SQL, as an interval. */
function delaySql(attempts: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(CASE WHEN ${attempts} < ${THROTTLE_FREE_FAILURES}::int THEN 0
    ELSE LEAST(1000 * power(2, LEAST(${attempts} - ${THROTTLE_FREE_FAILURES}::int, 20)), ${THROTTLE_MAX_DELAY_MS}::int) END) * interval '1 millisecond'`;
}

export interface LoginAttemptOptions {
  /** The client's address (its network is throttled as a whole). */
  ip: string;
  /** The login as the client sent it. */
  login: string;
  password: string;
  /** An attempt whose turn comes within this many ms waits for it; a later turn is refused (throttled). */
  maxWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PasswordCheck<T> {
  /** The password was right (even if the account then turns out disabled). */
  passwordOk: boolean;
  value: T;
}

export type LoginAttempt<T> =
  /** Too many recent attempts: nothing was verified. */
  | { status: 'throttled'; retryAfterSeconds: number }
  /** Wrong password, unknown account, or a login spelled in a way authentication does not accept. */
  | { status: 'invalid' }
  | { status: 'ok'; value: T };

/** A turn granted under one key. */
export interface Turn {
  key: string;
  turn: Date;
}

/** blocked_until after giving back the attempt granted turn `f.turn`: only the latest turn's added delay can go. */
const giveBackTurnSql = Prisma.sql`CASE WHEN t.last_failure_at <= f.turn THEN LEAST(t.blocked_until, f.turn) ELSE t.blocked_until END`;

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Brute-force throttling shared by POP3 and the API, kept in PostgreSQL so every process and host sees the same counts.
 *
 * Each attempt is counted before its password is verified: one statement reserves it under the client's network and
 * the canonical account (a turn `delayForFailures` after the previous one), so a burst of concurrent guesses verifies
 * at most what the schedule allows and the rest are refused. Afterwards the reservation is settled: a right password
 * clears the account and gives the network its attempt back; a wrong password that key saw recently (a phone retrying a
 * stale password) is given back too, since it tests nothing new; any other wrong password stays counted. Unknown
 * accounts are throttled exactly like known ones, so nothing is revealed.
 */
export class AuthThrottle {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly secret: string,
  ) {}

  /** Keyed hash of one guess under one key; the network's fingerprint names the account (a sprayed password is no repeat). */
  private fingerprint(key: string, account: string, password: string): string {
    return createHmac('sha256', this.secret).update(key).update('\0').update(account).update('\0').update(password).digest('base64url').slice(0, 16);
  }

  /**
   * Reserves one attempt under every key, or none: the turns granted (to settle them later), or the seconds until a
   * turn would come within `maxWaitMs`.
   */
  async reserve(keys: string[], maxWaitMs: number, now = new Date()): Promise<{ ok: true; waitMs: number; turns: Turn[] } | { ok: false; retryAfterSeconds: number }> {
    const windowStart = new Date(now.getTime() - THROTTLE_WINDOW_MS);
    const latest = new Date(now.getTime() + maxWaitMs);
    const at = Prisma.sql`${now}::timestamptz`;
    const expired = Prisma.sql`t.last_failure_at < ${windowStart}::timestamptz`;
    const turn = Prisma.sql`(CASE WHEN ${expired} THEN ${at} ELSE GREATEST(${at}, COALESCE(t.blocked_until, ${at})) END)`;
    const count = Prisma.sql`(CASE WHEN ${expired} THEN 1 ELSE t.failures + 1 END)`;
    // last_failure_at holds the latest turn granted, blocked_until the earliest next one. The WHERE runs on the locked,
    // current row, so concurrent reservations are granted one after another (sorted keys: one lock order).
    const granted = await this.prisma.$queryRaw<Turn[]>`
      INSERT INTO auth_throttles AS t (key, failures, recent_fingerprints, last_failure_at, blocked_until)
      SELECT k, 1, '{}'::text[], ${at}, ${at} + ${delaySql(Prisma.sql`1`)}
      FROM unnest(${[...keys].sort()}::text[]) AS k
      ON CONFLICT (key) DO UPDATE SET
        failures = ${count},
        recent_fingerprints = CASE WHEN ${expired} THEN '{}'::text[] ELSE t.recent_fingerprints END,
        last_failure_at = ${turn},
        blocked_until = ${turn} + ${delaySql(count)}
      WHERE ${expired} OR COALESCE(t.blocked_until, ${at}) <= ${latest}::timestamptz
      RETURNING t.key, t.last_failure_at AS turn`;
    if (granted.length === keys.length) {
      const waitMs = Math.max(0, ...granted.map((g) => g.turn.getTime() - now.getTime()));
      return { ok: true, waitMs, turns: granted };
    }
    await this.release(granted);
    const refused = keys.filter((k) => !granted.some((g) => g.key === k));
    const rows = await this.prisma.authThrottle.findMany({ where: { key: { in: refused } }, select: { blockedUntil: true } });
    const until = Math.max(now.getTime(), ...rows.map((r) => r.blockedUntil?.getTime() ?? 0));
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)) };
  }

  /**
   * Gives reserved attempts back (the password was right, or it was never verified): one less counted, and when no
   * later turn was granted meanwhile, the delay this attempt added is taken back too (else a NAT's successful logins
   * would queue behind each other).
   */
  async release(turns: Turn[]): Promise<void> {
    if (!turns.length) return;
    await this.prisma.$executeRaw`
      UPDATE auth_throttles AS t SET failures = GREATEST(t.failures - 1, 0), blocked_until = ${giveBackTurnSql}
      FROM unnest(${turns.map((r) => r.key)}::text[], ${turns.map((r) => r.turn.toISOString())}::timestamptz[]) AS f(key, turn)
      WHERE t.key = f.key`;
  }

  /** Settles reserved attempts that failed: a wrong password each key saw recently is given back, others stay counted. */
  async recordFailure(turns: Turn[], account: string, password: string): Promise<void> {
    const fps = turns.map((r) => this.fingerprint(r.key, account, password));
    const seen = Prisma.sql`f.fp = ANY(t.recent_fingerprints)`;
    await this.prisma.$executeRaw`
      UPDATE auth_throttles AS t SET
        failures = CASE WHEN ${seen} THEN GREATEST(t.failures - 1, 0) ELSE t.failures END,
        blocked_until = CASE WHEN ${seen} THEN ${giveBackTurnSql} ELSE t.blocked_until END,
        recent_fingerprints = CASE WHEN ${seen}
          THEN t.recent_fingerprints ELSE (ARRAY[f.fp] || t.recent_fingerprints)[1:${THROTTLE_REMEMBERED_PASSWORDS}::int] END
      FROM unnest(${turns.map((r) => r.key)}::text[], ${turns.map((r) => r.turn.toISOString())}::timestamptz[], ${fps}::text[]) AS f(key, turn, fp)
      WHERE t.key = f.key`;
  }

  /** Settles a right password: the account's count is cleared, the network gets its attempt back. */
  async recordSuccess(turns: Turn[], accountKeyValue: string): Promise<void> {
    await this.prisma.authThrottle.deleteMany({ where: { key: accountKeyValue } });
    await this.release(turns.filter((r) => r.key !== accountKeyValue));
  }

  /**
   * One login attempt through the throttle: reserve, wait for the turn (up to `maxWaitMs`), verify, settle. A login
   * that is no exact spelling of an account (canonicalLogin) is counted and refused without calling `verify`, so it
   * costs no argon2 work. If `verify` throws, the attempt is given back and the error rethrown.
   */
  async attempt<T>(opts: LoginAttemptOptions, verify: (account: string) => Promise<PasswordCheck<T>>): Promise<LoginAttempt<T>> {
    const id = canonicalLogin(opts.login);
    const network = ipNetworkKey(opts.ip);
    const account = id ? accountKey(id.account) : undefined;
    const keys = account ? [network, account] : [network];
    const reserved = await this.reserve(keys, opts.maxWaitMs);
    if (!reserved.ok) return { status: 'throttled', retryAfterSeconds: reserved.retryAfterSeconds };
    if (reserved.waitMs > 0) await (opts.sleep ?? sleepFor)(reserved.waitMs);
    let check: PasswordCheck<T> | undefined;
    if (id?.exact) {
      try {
        check = await verify(id.account);
      } catch (err) {
        await this.release(reserved.turns).catch(() => undefined);
        throw err;
      }
    }
    if (check?.passwordOk) {
      await this.recordSuccess(reserved.turns, account!);
      return { status: 'ok', value: check.value };
    }
    await this.recordFailure(reserved.turns, id?.account ?? opts.login, opts.password);
    return { status: 'invalid' };
  }

  /** Housekeeping: forget entries older than the window. */
  async prune(now = new Date()): Promise<number> {
    const { count } = await this.prisma.authThrottle.deleteMany({ where: { lastFailureAt: { lt: new Date(now.getTime() - THROTTLE_WINDOW_MS) } } });
    return count;
  }
}
