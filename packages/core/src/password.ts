import argon2 from 'argon2';

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's minimum argon2id profile (m=19 MiB, t=2, p=1): the default unless the operator sets ARGON2_*. */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKib: 19456, timeCost: 2, parallelism: 1 };

export interface VerifyResult {
  ok: boolean;
  /** The hash used other parameters (or algorithm) than the current ones: store a new hash after a successful login. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<VerifyResult>;
  /** Spends the same time as a real verification, for unknown accounts (no user enumeration by timing). */
  verifyDummy(password: string): Promise<false>;
}

/**
 * argon2id hashing. argon2's native binding runs on libuv's thread pool, so verification never blocks the event loop
 * and concurrent logins use every core (size the pool with UV_THREADPOOL_SIZE).
 */
export function createPasswordHasher(params: Argon2Params = DEFAULT_ARGON2_PARAMS): PasswordHasher {
  const options = { type: argon2.argon2id, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism } as const;
  let dummyHash: Promise<string> | undefined;
  return {
    params,
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      let ok = false;
      try {
        ok = await argon2.verify(hash, password);
      } catch {
        ok = false; // malformed stored hash: treat as a failed verification
      }
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
      dummyHash ??= argon2.hash('mailroom-dummy-password-for-timing', options);
      await argon2.verify(await dummyHash, password).catch(() => false);
      return false;
    },
  };
}
