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

/**
 * Attempts a client network gets before any delay. Higher than an account's: many users share one NAT or office /24, and
 * only their failures count there (a right password gives the network its attempt back).
 */
export const THROTTLE_NETWORK_FREE_FAILURES = 10;

/** Free attempts under a key: a network (`ip:` keys) gets more than an account. */
export function freeAttemptsFor(key: string): number {
  return key.startsWith('ip:') ? THROTTLE_NETWORK_FREE_FAILURES : THROTTLE_FREE_FAILURES;
}

/** The delay after `attempts` counted attempts before the next one may be verified (1 s, 2 s, 4 s … 15 s). */
export function delayForFailures(attempts: number, free = THROTTLE_FREE_FAILURES): number {
  if (attempts < free) return 0;
  return Math.min(1000 * 2 ** (attempts - free), THROTTLE_MAX_DELAY_MS);
}

/**
 * The allowance: how many attempts on one key the schedule lets through within `ms` of the first one (the free ones at
 * once, then one per delay). A burst, however concurrent, verifies no more than this.
 */
export function attemptsAllowedWithin(ms: number, free = THROTTLE_FREE_FAILURES): number {
  let attempts = free;
  for (let t = delayForFailures(attempts, free); t <= ms; t += delayForFailures(attempts, free)) attempts++;
  return attempts;
}

/** delayForFailures in SQL, as an interval, for the key in `key` (freeAttemptsFor). */
function delaySql(attempts: Prisma.Sql, key: Prisma.Sql): Prisma.Sql {
  const free = Prisma.sql`(CASE WHEN ${key} LIKE 'ip:%' THEN ${THROTTLE_NETWORK_FREE_FAILURES}::int ELSE ${THROTTLE_FREE_FAILURES}::int END)`;
  return Prisma.sql`(CASE WHEN ${attempts} < ${free} THEN 0
    ELSE LEAST(1000 * power(2, LEAST(${attempts} - ${free}, 20)), ${THROTTLE_MAX_DELAY_MS}::int) END) * interval '1 millisecond'`;
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
  /**
   * Wrong password, unknown account, or a login spelled in a way authentication does not accept. `value`: what
   * `verify` returned, when it ran (for the caller's own records, e.g. a mailbox's sign-in log).
   */
  | { status: 'invalid'; value?: T }
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
 * The canonical account is counted before its password is verified: one statement reserves a turn under the account
 * (`delayForFailures` after the previous one), so a burst of concurrent guesses on one account verifies at most what
 * the schedule allows and the rest are refused. Afterwards the reservation is settled: a right password clears the
 * account; a wrong password the account saw recently (a phone retrying a stale password) is given back, since it tests
 * nothing new; any other wrong password stays counted.
 *
 * The client's network (/24, /64) counts failures only, settled after verification, with more free attempts
 * (THROTTLE_NETWORK_FREE_FAILURES): many users share one NAT or carrier network, and their concurrent successful logins
 * must never queue behind each other. A network past its free failures waits (or is refused) before anything is
 * verified; a burst spread over many accounts is further bounded by each account's count and by the argon2 queue.
 * Unknown accounts are throttled exactly like known ones, so nothing is revealed.
 */
export class AuthThrottle {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly secret: string,
  ) {}

  /** Keyed hash of one guess under one key; the network's fingerprint names the account (a sprayed password is no repeat). */
  private fingerprint(key: string, account: string, password: string): string {
    return createHmac('sha256', this.secret)
      .update(key)
      .update('\0')
      .update(account)
      .update('\0')
      .update(password)
      .digest('base64url')
      .slice(0, 16);
  }

  /**
   * Reserves one attempt under every key, or none: the turns granted (to settle them later), or the seconds until a
   * turn would come within `maxWaitMs`.
   */
  async reserve(
    keys: string[],
    maxWaitMs: number,
    now = new Date(),
  ): Promise<{ ok: true; waitMs: number; turns: Turn[] } | { ok: false; retryAfterSeconds: number }> {
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
      SELECT k, 1, '{}'::text[], ${at}, ${at} + ${delaySql(Prisma.sql`1`, Prisma.sql`k`)}
      FROM unnest(${[...keys].sort()}::text[]) AS k
      ON CONFLICT (key) DO UPDATE SET
        failures = ${count},
        recent_fingerprints = CASE WHEN ${expired} THEN '{}'::text[] ELSE t.recent_fingerprints END,
        last_failure_at = ${turn},
        blocked_until = ${turn} + ${delaySql(count, Prisma.sql`t.key`)}
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
   * Gives reserved attempts back (never verified, or a repeat): one less counted, and when no later turn was granted
   * meanwhile, the delay this attempt added is taken back too.
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

  /** Settles a right password: the account's count is cleared (the network counted nothing for it). */
  async recordSuccess(accountKeyValue: string): Promise<void> {
    await this.prisma.authThrottle.deleteMany({ where: { key: accountKeyValue } });
  }

  /**
   * One login attempt through the throttle: check the network, reserve the account's turn, wait for both (up to
   * `maxWaitMs`), verify, settle. A login that is no exact spelling of an account (canonicalLogin) is counted and
   * refused without calling `verify`, so it costs no argon2 work. If `verify` throws, the attempt is given back and the
   * error rethrown.
   */
  async attempt<T>(opts: LoginAttemptOptions, verify: (account: string) => Promise<PasswordCheck<T>>): Promise<LoginAttempt<T>> {
    const id = canonicalLogin(opts.login);
    const network = ipNetworkKey(opts.ip);
    const account = id ? accountKey(id.account) : undefined;
    const now = new Date();
    const networkWaitMs = await this.networkWait(network, now);
    if (networkWaitMs > opts.maxWaitMs) return { status: 'throttled', retryAfterSeconds: Math.max(1, Math.ceil(networkWaitMs / 1000)) };
    const reserved = account ? await this.reserve([account], opts.maxWaitMs, now) : { ok: true as const, waitMs: 0, turns: [] as Turn[] };
    if (!reserved.ok) return { status: 'throttled', retryAfterSeconds: reserved.retryAfterSeconds };
    const waitMs = Math.max(networkWaitMs, reserved.waitMs);
    if (waitMs > 0) await (opts.sleep ?? sleepFor)(waitMs);
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
      await this.recordSuccess(account!);
      return { status: 'ok', value: check.value };
    }
    const guessed = id?.account ?? opts.login;
    await this.recordFailure(reserved.turns, guessed, opts.password);
    await this.recordNetworkFailure(network, guessed, opts.password);
    return check ? { status: 'invalid', value: check.value } : { status: 'invalid' };
  }

  /** How long the network must wait before its next attempt is verified (0 within its free failures). */
  private async networkWait(network: string, now: Date): Promise<number> {
    const row = await this.prisma.authThrottle.findUnique({ where: { key: network }, select: { lastFailureAt: true, blockedUntil: true } });
    if (!row?.blockedUntil || now.getTime() - row.lastFailureAt.getTime() > THROTTLE_WINDOW_MS) return 0;
    return Math.max(0, row.blockedUntil.getTime() - now.getTime());
  }

  /** Counts a settled failure under the network (a repeat of a guess it saw recently counts once), one statement. */
  private async recordNetworkFailure(network: string, account: string, password: string, now = new Date()): Promise<void> {
    const fp = this.fingerprint(network, account, password);
    const at = Prisma.sql`${now}::timestamptz`;
    const expired = Prisma.sql`t.last_failure_at < ${new Date(now.getTime() - THROTTLE_WINDOW_MS)}::timestamptz`;
    const seen = Prisma.sql`${fp} = ANY(t.recent_fingerprints)`;
    const count = Prisma.sql`(CASE WHEN ${expired} THEN 1 WHEN ${seen} THEN t.failures ELSE t.failures + 1 END)`;
    await this.prisma.$executeRaw`
      INSERT INTO auth_throttles AS t (key, failures, recent_fingerprints, last_failure_at, blocked_until)
      VALUES (${network}, 1, ARRAY[${fp}]::text[], ${at}, ${at} + ${delaySql(Prisma.sql`1`, Prisma.sql`${network}`)})
      ON CONFLICT (key) DO UPDATE SET
        failures = ${count},
        recent_fingerprints = CASE WHEN ${expired} THEN ARRAY[${fp}]::text[] WHEN ${seen} THEN t.recent_fingerprints
          ELSE (ARRAY[${fp}]::text[] || t.recent_fingerprints)[1:${THROTTLE_REMEMBERED_PASSWORDS}::int] END,
        last_failure_at = ${at},
        blocked_until = ${at} + ${delaySql(count, Prisma.sql`t.key`)}`;
  }

  /** Housekeeping: forget entries older than the window. */
  async prune(now = new Date()): Promise<number> {
    const { count } = await this.prisma.authThrottle.deleteMany({
      where: { lastFailureAt: { lt: new Date(now.getTime() - THROTTLE_WINDOW_MS) } },
    });
    return count;
  }
}
