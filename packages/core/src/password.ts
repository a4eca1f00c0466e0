import os from 'node:os';
import argon2 from 'argon2';
import { AppError } from './errors.ts';

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/** How much argon2 work one process takes on at once (ARGON2_MAX_CONCURRENT / ARGON2_MAX_QUEUE). */
export interface Argon2Limits {
  /** Hashes/verifications running at once; 0 or unset = one per core. */
  maxConcurrent?: number;
  /** Further ones waiting for a slot; beyond that the call fails at once with SERVER_BUSY. */
  maxQueue?: number;
}

/** OWASP's minimum argon2id profile (m=19 MiB, t=2, p=1): the default unless the operator sets ARGON2_*. */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKib: 19456, timeCost: 2, parallelism: 1 };
export const DEFAULT_ARGON2_MAX_QUEUE = 64;
/** What a caller refused for a full argon2 queue is told to wait (Retry-After). */
export const SERVER_BUSY_RETRY_AFTER_S = 1;
/** Distinct stored-hash parameter sets remembered for the dummy verification. */
const MAX_OBSERVED_PARAM_SETS = 16;

export interface VerifyResult {
  ok: boolean;
  /** The hash used other parameters (or algorithm) than the current ones: store a new hash after a successful login. */
  needsRehash: boolean;
}

export interface PasswordHasherStats {
  /** Verifications actually run (real and dummy). */
  verifications: number;
  hashes: number;
  /** Calls refused with SERVER_BUSY because the queue was full. */
  refused: number;
  running: number;
  queued: number;
}

export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  /** Hashes/verifications this hasher runs at once (ARGON2_MAX_CONCURRENT, else one per core). */
  readonly concurrency: number;
  /**
   * Hashes many passwords in parallel (bulk imports, bulk resets): keeps `concurrency` hashes in flight through the same
   * queue as everything else, never more, so a 10,000-row import uses every core without filling the waiting line that
   * logins share (ARGON2_MAX_QUEUE). Results are in input order.
   */
  hashMany(passwords: readonly string[], opts?: { onProgress?: (done: number) => void }): Promise<string[]>;
  verify(hash: string, password: string): Promise<VerifyResult>;
  /**
   * Spends what verifying a real stored hash costs, for unknown accounts (no user enumeration by timing): the dummy
   * uses the parameters most stored hashes were seen with (see observeStoredHash), not merely the current ARGON2_*.
   */
  verifyDummy(password: string): Promise<false>;
  /**
   * Counts `count` stored hashes with this hash's parameters (services sample the database at start; hash() counts the
   * hashes it makes). verify() does not: hammering one old account must not move the dummy to that account's cost.
   */
  observeStoredHash(hash: string, count?: number): void;
  /** The parameters the dummy verification uses now. */
  dummyParams(): Argon2Params;
  stats(): PasswordHasherStats;
}

/** `$argon2id$v=19$m=…,t=…,p=…$…` (any order of m, t, p) → its parameters; undefined for anything else. */
export function argon2idParamsOf(hash: string): Argon2Params | undefined {
  const m = /^\$argon2id\$v=\d+\$([a-z0-9=,]{1,40})\$/.exec(hash);
  if (!m) return undefined;
  const fields = new Map(m[1]!.split(',').map((kv) => kv.split('=') as [string, string]));
  const [memoryKib, timeCost, parallelism] = ['m', 't', 'p'].map((k) => Number(fields.get(k)));
  if (![memoryKib, timeCost, parallelism].every((n) => Number.isSafeInteger(n) && n! > 0)) return undefined;
  return { memoryKib: memoryKib!, timeCost: timeCost!, parallelism: parallelism! };
}

const paramsKey = (p: Argon2Params) => `${p.memoryKib},${p.timeCost},${p.parallelism}`;

/** A counting semaphore with a bounded waiting line: acquire() rejects at once when the line is full. */
class BoundedQueue {
  running = 0;
  private readonly waiting: (() => void)[] = [];
  refused = 0;

  constructor(
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxRunning) {
      if (this.waiting.length >= this.maxWaiting) {
        this.refused++;
        throw new AppError('SERVER_BUSY', 'The server is busy verifying passwords; try again shortly', {
          details: { retryAfterSeconds: SERVER_BUSY_RETRY_AFTER_S },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next in line (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * argon2id hashing. argon2's native binding runs on libuv's thread pool, so verification never blocks the event loop.
 * Every hash and verification of the process goes through one bounded queue: at most `maxConcurrent` run, at most
 * `maxQueue` wait, and the rest fail at once with SERVER_BUSY, so a login flood cannot starve the service.
 */
export function createPasswordHasher(params: Argon2Params & Argon2Limits = DEFAULT_ARGON2_PARAMS): PasswordHasher {
  const hashParams: Argon2Params = { memoryKib: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  const optionsFor = (p: Argon2Params) =>
    ({ type: argon2.argon2id, memoryCost: p.memoryKib, timeCost: p.timeCost, parallelism: p.parallelism }) as const;
  const options = optionsFor(hashParams);
  const concurrency = params.maxConcurrent || os.availableParallelism();
  const queue = new BoundedQueue(concurrency, params.maxQueue ?? DEFAULT_ARGON2_MAX_QUEUE);
  let verifications = 0;
  let hashes = 0;
  const observed = new Map<string, { params: Argon2Params; count: number }>();
  const dummyHashes = new Map<string, Promise<string>>();

  const observeStoredHash = (hash: string, count = 1) => {
    const p = argon2idParamsOf(hash);
    if (!p) return;
    const key = paramsKey(p);
    const entry = observed.get(key);
    if (entry) entry.count += count;
    else if (observed.size < MAX_OBSERVED_PARAM_SETS) observed.set(key, { params: p, count });
  };
  const dummyParams = (): Argon2Params => {
    let best: { params: Argon2Params; count: number } | undefined;
    for (const e of observed.values()) if (!best || e.count > best.count) best = e;
    return best?.params ?? hashParams;
  };

  const hash = (password: string) =>
    queue.run(async () => {
      hashes++;
      const h = await argon2.hash(password, options);
      observeStoredHash(h); // it is about to be stored: the population shifts toward the current parameters
      return h;
    });

  return {
    params: hashParams,
    concurrency,
    hash,
    async hashMany(passwords, opts = {}) {
      const out: string[] = new Array<string>(passwords.length);
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < passwords.length) {
          const i = next++;
          out[i] = await hash(passwords[i]!);
          opts.onProgress?.(++done);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, passwords.length) }, worker));
      return out;
    },
    async verify(hash, password) {
      let ok = false;
      await queue.run(async () => {
        verifications++;
        try {
          ok = await argon2.verify(hash, password);
        } catch {
          ok = false; // malformed stored hash: treat as a failed verification
        }
      });
      let needsRehash = false;
      if (ok) {
        try {
          needsRehash = !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, options);
        } catch {
          needsRehash = true;
        }
      }
      return { ok, needsRehash };
    },
    async verifyDummy(password) {
      const p = dummyParams();
      const key = paramsKey(p);
      let dummy = dummyHashes.get(key);
      if (!dummy) {
        // Made outside the queue once per parameter set; a failure is forgotten so the next call tries again.
        dummy = argon2.hash('mailroom-dummy-password-for-timing', optionsFor(p));
        dummy.catch(() => dummyHashes.delete(key));
        dummyHashes.set(key, dummy);
      }
      const stored = await dummy;
      await queue.run(async () => {
        verifications++;
        await argon2.verify(stored, password).catch(() => false);
      });
      return false;
    },
    observeStoredHash,
    dummyParams,
    stats: () => ({ verifications, hashes, refused: queue.refused, running: queue.running, queued: queue.queued }),
  };
}
