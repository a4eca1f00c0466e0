import { Prisma, uuidV7Floor, type PrismaClient } from '@mailroom/db';
import type { DomainOnboardingConfig } from '@mailroom/runtime';
import { AppError } from '../errors.ts';
import type { PasswordHasher } from '../password.ts';
import type { PasswordPolicy } from './password-policy.ts';
import type { DnsLookup } from './dns.ts';

/** Domain onboarding: the settings (where DNS records must point, how long claims last) with the resolver built. */
export type DomainOnboarding = Omit<DomainOnboardingConfig, 'dns'> & { dns: DnsLookup };

export type Db = PrismaClient | Prisma.TransactionClient;

/** What the domain services need; the API builds it once. */
export interface ServiceDeps {
  prisma: PrismaClient;
  hasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  onboarding: DomainOnboarding;
}

export { isRecordNotFound, isUniqueViolation } from '../sql-errors.ts';

export function toNumber(v: bigint): number;
export function toNumber(v: bigint | null): number | null;
export function toNumber(v: bigint | null): number | null {
  return v === null ? null : Number(v);
}

export function toBigInt(v: number | null | undefined): bigint | null | undefined {
  return v === undefined ? undefined : v === null ? null : BigInt(v);
}

export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function notFound(what: string): AppError {
  return new AppError('NOT_FOUND', `${what} not found`);
}

/** Transactions that wait for a tenant lock: bursts of creations queue instead of failing on Prisma's 2 s/5 s defaults. */
export const TENANT_TX = { maxWait: 10_000, timeout: 20_000 } as const;

/** Serializes limit checks of one tenant across processes: a transaction-scoped advisory lock on the owner id. */
export async function lockTenant(tx: Prisma.TransactionClient, ownerId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`tenant:${ownerId}`}, 0))`;
}

/** Serializes claims and verifications of one domain name across processes (first to verify wins). */
export async function lockDomainName(tx: Prisma.TransactionClient, name: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`domain-name:${name}`}, 0))`;
}

/** Only the keys present in `input` (undefined means "unchanged"). */
export function changedFields<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function normalizeEmail(input: string): string | undefined {
  const v = input.trim().toLowerCase();
  const at = v.lastIndexOf('@');
  if (at <= 0 || at === v.length - 1 || v.length > 254) return undefined;
  return v;
}

/**
 * Deletes the rows of a log table (ids UUID v7, so time-ordered) older than `days`, by id range over the primary key,
 * in chunks so no statement holds many locks or writes much WAL at once; returns how many went.
 */
export async function deleteOlderThan(
  db: Db,
  table: 'delivery_log' | 'mailbox_sign_ins' | 'user_sign_ins',
  days: number,
  now: Date,
  chunk: number,
): Promise<number> {
  const below = uuidV7Floor(new Date(now.getTime() - days * 86_400_000));
  const t = Prisma.raw(`"${table}"`);
  let total = 0;
  for (;;) {
    const n = await db.$executeRaw`DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE id < ${below}::uuid ORDER BY id LIMIT ${chunk})`;
    total += n;
    if (n < chunk) return total;
  }
}
