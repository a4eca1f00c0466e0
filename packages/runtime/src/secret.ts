import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, MIN_SECRET_LENGTH, SECRET_TOO_SHORT } from './env.ts';

/** Throws a ConfigError naming MAILROOM_SECRET (never its value) when it is too short to be a key. */
export function assertSecretStrength(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`invalid configuration:\n  MAILROOM_SECRET: ${SECRET_TOO_SHORT}`);
  }
}

async function readSecretFile(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * MAILROOM_SECRET when set (refused when shorter than {@link MIN_SECRET_LENGTH}), else a random secret generated once
 * into the data directory as `secret.key` (mode 600). Creation is atomic: the secret is written completely into a
 * temporary file of our own (exclusive create, mode 600) and then linked into place, which fails if another starter got
 * there first; the loser reads the winner's file. No process ever reads a half-written key or replaces another's.
 */
export async function loadServerSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) {
    assertSecretStrength(configured);
    return configured;
  }
  const file = path.join(dataDir, 'secret.key');
  const existing = await readSecretFile(file);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  const tmp = path.join(dataDir, `.secret.key.${process.pid}.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // a file system without hard links: rename, unless a secret appeared meanwhile
      if (!(await readSecretFile(file))) await rename(tmp, file);
    } else if (code !== 'EEXIST') {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const secret = await readSecretFile(file);
  if (!secret) throw new Error(`${file} is empty; delete it to generate a new secret`);
  return secret;
}
