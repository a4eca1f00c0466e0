import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError, type FieldIssue } from '../errors.ts';
import type { ApiKey, CreateApiKeyBody, CreatedApiKey } from '../schemas/api-keys.ts';
import { API_KEY_SCOPES, type ApiKeyScope } from '../schemas/common.ts';
import { recordAudit } from './audit.ts';
import { assertUuidCursor, decodeCursor, toPage, type Page } from './pagination.ts';
import { type Actor, hasScope, isDomainRestricted, requireUser, type UserPrincipal, visibleDomainWhere } from './principal.ts';
import { iso, notFound } from './shared.ts';

/** `mr_<12 lowercase alphanumerics>_<43 base64url chars>`: the prefix is public and indexed, the secret is hashed. */
export const API_KEY_PATTERN = /^mr_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** lastUsedAt is written at most this often per key, so a busy key does not write on every request. */
export const API_KEY_LAST_USED_RESOLUTION_MS = 60_000;

export function sha256Hex(v: string): string {
  return createHash('sha256').update(v).digest('hex');
}

export function generateApiKey(): { key: string; prefix: string; secretHash: string } {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .padEnd(12, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { key: `mr_${prefix}_${secret}`, prefix, secretHash: sha256Hex(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | undefined {
  const m = API_KEY_PATTERN.exec(key);
  return m ? { prefix: m[1]!, secret: m[2]! } : undefined;
}

type ApiKeyRow = Prisma.ApiKeyGetPayload<object>;

export function toApiKeyDto(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    userId: r.userId,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes.filter((s): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s)),
    domainIds: r.domainIds,
    expiresAt: iso(r.expiresAt),
    lastUsedAt: iso(r.lastUsedAt),
    lastUsedIp: r.lastUsedIp,
    revokedAt: iso(r.revokedAt),
    createdAt: r.createdAt.toISOString(),
  };
}

/**
 * Resolves a Bearer key to its principal: one indexed lookup by prefix, the secret's SHA-256 compared in constant time.
 * Unknown, revoked, expired keys and disabled users all give `undefined` (the caller answers 401 alike).
 */
export async function authenticateApiKey(prisma: PrismaClient, key: string, now = new Date()): Promise<UserPrincipal | undefined> {
  const parsed = parseApiKey(key);
  if (!parsed) return undefined;
  // One indexed statement (prefix is unique), joined to the user; the hot path of every automated request.
  const rows = await prisma.$queryRaw<
    {
      id: string;
      secret_hash: string;
      scopes: string[];
      domain_ids: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      user_id: string;
      email: string;
      role: 'ADMIN' | 'OWNER';
      disabled: boolean;
    }[]
  >`SELECT k.id, k.secret_hash, k.scopes, k.domain_ids::text[] AS domain_ids, k.expires_at, k.revoked_at,
           u.id AS user_id, u.email, u.role::text AS role, u.disabled
    FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ${parsed.prefix}`;
  const r = rows[0];
  const row = r
    ? {
        id: r.id,
        secretHash: r.secret_hash,
        scopes: r.scopes,
        domainIds: r.domain_ids,
        expiresAt: r.expires_at,
        revokedAt: r.revoked_at,
        user: { id: r.user_id, email: r.email, role: r.role, disabled: r.disabled },
      }
    : null;
  const expected = Buffer.from(row?.secretHash ?? sha256Hex('no-such-key'), 'hex');
  const actual = Buffer.from(sha256Hex(parsed.secret), 'hex');
  const match = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (!row || !match || row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.user.disabled) return undefined;
  return {
    kind: 'user',
    userId: row.user.id,
    email: row.user.email,
    role: row.user.role,
    apiKey: {
      id: row.id,
      scopes: row.scopes.filter((s): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s)),
      domainIds: row.domainIds,
      expiresAt: row.expiresAt,
    },
  };
}

/** Keys whose last use this process remembers (beyond that the map starts over; the SQL guard still holds). */
const API_KEY_USAGE_MEMORY = 10_000;

/**
 * Records when and from where API keys were last used, off the request's path: at most one write per key per
 * API_KEY_LAST_USED_RESOLUTION_MS from this process (remembered in memory), and the UPDATE itself skips a row written
 * within that time by another process. The write is not awaited; a failure only loses one "last used" mark.
 */
export class ApiKeyUsageRecorder {
  private readonly written = new Map<string, number>();

  constructor(private readonly prisma: PrismaClient) {}

  note(apiKeyId: string, ip: string, now = new Date()): void {
    const last = this.written.get(apiKeyId);
    if (last !== undefined && now.getTime() - last < API_KEY_LAST_USED_RESOLUTION_MS) return;
    if (this.written.size >= API_KEY_USAGE_MEMORY) this.written.clear();
    this.written.set(apiKeyId, now.getTime());
    const stale = new Date(now.getTime() - API_KEY_LAST_USED_RESOLUTION_MS);
    void this.prisma.$executeRaw`
      UPDATE api_keys SET last_used_at = ${now}::timestamptz, last_used_ip = ${ip.slice(0, 100)}
      WHERE id = ${apiKeyId}::uuid AND (last_used_at IS NULL OR last_used_at <= ${stale}::timestamptz)`.catch(() => undefined);
  }
}

/** A key restricted to domains reaches no owner: it may not carry owners:* scopes (SCOPE_NOT_ALLOWED). */
function assertScopesFitDomainRestriction(scopes: readonly ApiKeyScope[]): void {
  const fields = scopes.flatMap((s, i) =>
    isOwnersScope(s)
      ? [{ path: `scopes.${i}`, message: 'a key restricted to domains cannot hold this scope', code: 'not_with_domains' }]
      : [],
  );
  if (fields.length) throw new AppError('SCOPE_NOT_ALLOWED', 'A key restricted to domains cannot carry owners:* scopes', { fields });
}

function isOwnersScope(s: ApiKeyScope): boolean {
  return s.startsWith('owners:');
}

/** The scopes a key gets when none are named: every scope its user may hold, owners:* only for unrestricted admin keys. */
export function defaultApiKeyScopes(role: 'ADMIN' | 'OWNER', domainRestricted: boolean): ApiKeyScope[] {
  return API_KEY_SCOPES.filter((s) => !isOwnersScope(s) || (role === 'ADMIN' && !domainRestricted));
}

/** Revokes every live key of a user (password resets, "sign out everywhere"); returns how many were revoked. */
export async function revokeUserApiKeys(tx: Prisma.TransactionClient, userId: string, now = new Date()): Promise<number> {
  const { count } = await tx.apiKey.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
  return count;
}

export interface CreateApiKeyInput extends CreateApiKeyBody {
  /** Operator CLI only: the user the key belongs to (otherwise the caller). */
  userId?: string;
}

/**
 * Creates a key for the caller (or, for the operator CLI, any user). The key never exceeds its creator: owners get no
 * owners:* scope; a key creating a key passes on at most its own scopes, domains and expiry.
 */
export async function createApiKey(prisma: PrismaClient, actor: Actor, input: CreateApiKeyInput, now = new Date()): Promise<CreatedApiKey> {
  const p = requireUser(actor, 'api-keys:write');
  const userId = p.kind === 'system' ? input.userId : p.userId;
  if (!userId) throw new AppError('VALIDATION_FAILED', 'userId is required', { fields: [{ path: 'userId', message: 'is required' }] });
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { id: true, email: true, role: true, disabled: true } });
  if (!user) throw notFound('User');
  if (user.disabled) throw new AppError('ACCOUNT_DISABLED', 'The user is disabled');
  const scopes = [...new Set(input.scopes)];
  let domainIds = [...new Set(input.domainIds ?? [])];
  if (p.kind === 'user' && p.apiKey?.domainIds.length && !domainIds.length) domainIds = [...p.apiKey.domainIds];
  if (domainIds.length) assertScopesFitDomainRestriction(scopes);
  const fields: FieldIssue[] = [];
  scopes.forEach((s, i) => {
    if (user.role !== 'ADMIN' && isOwnersScope(s))
      fields.push({ path: `scopes.${i}`, message: 'only administrators can hold this scope', code: 'exceeds_rights' });
    else if (p.kind === 'user' && p.apiKey && !hasScope(p.apiKey.scopes, s))
      fields.push({ path: `scopes.${i}`, message: 'exceeds the scopes of the key in use', code: 'exceeds_rights' });
  });
  const asUser: UserPrincipal = p.kind === 'user' ? p : { kind: 'user', userId: user.id, email: user.email, role: user.role };
  if (domainIds.length) {
    const visible = await prisma.domain.findMany({
      where: { AND: [{ id: { in: domainIds } }, visibleDomainWhere(asUser)] },
      select: { id: true },
    });
    const ok = new Set(visible.map((d) => d.id));
    domainIds.forEach((id, i) => {
      if (!ok.has(id)) fields.push({ path: `domainIds.${i}`, message: 'no such domain', code: 'unknown_domain' });
    });
  }
  let expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= now) fields.push({ path: 'expiresAt', message: 'must be in the future', code: 'in_past' });
  if (p.kind === 'user' && p.apiKey?.expiresAt) {
    if (!expiresAt) expiresAt = p.apiKey.expiresAt;
    else if (expiresAt > p.apiKey.expiresAt)
      fields.push({ path: 'expiresAt', message: 'must not be later than the expiry of the key in use', code: 'exceeds_rights' });
  }
  if (fields.length) {
    const forbidden = fields.some((f) => f.code === 'exceeds_rights');
    throw new AppError(
      forbidden ? 'FORBIDDEN' : 'VALIDATION_FAILED',
      forbidden ? 'The new key would exceed the rights of its creator' : 'Invalid API key request',
      { fields },
    );
  }
  const generated = generateApiKey();
  const row = await prisma.$transaction(async (tx) => {
    const created = await tx.apiKey.create({
      data: { userId, name: input.name.trim(), prefix: generated.prefix, secretHash: generated.secretHash, scopes, domainIds, expiresAt },
    });
    await recordAudit(tx, actor, {
      action: 'api-key.create',
      targetType: 'api-key',
      targetId: created.id,
      ownerId: user.role === 'OWNER' ? user.id : null,
      details: { name: created.name, prefix: created.prefix, scopes, domainIds, expiresAt, userId },
    });
    return created;
  });
  return { ...toApiKeyDto(row), key: generated.key };
}

/**
 * The keys a principal may see: the operator any; an admin any user's (their own unless `userId` names another); an
 * owner their own; a domain-restricted key only itself (other keys of its user may reach more than it does).
 */
function visibleKeyWhere(p: ReturnType<typeof requireUser>, userId?: string): Prisma.ApiKeyWhereInput {
  if (p.kind === 'system') return userId ? { userId } : {};
  if (isDomainRestricted(p)) return { id: p.apiKey!.id, ...(userId ? { userId } : {}) };
  if (p.role === 'ADMIN') return { userId: userId ?? p.userId };
  return { userId: p.userId };
}

export async function listApiKeys(
  prisma: PrismaClient,
  actor: Actor,
  input: { limit: number; cursor?: string | undefined; userId?: string | undefined },
): Promise<Page<ApiKey>> {
  const p = requireUser(actor, 'api-keys:read');
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  const where: Prisma.ApiKeyWhereInput = {
    AND: [visibleKeyWhere(p, input.userId), cursor ? { id: { gt: assertUuidCursor(cursor.id) } } : {}],
  };
  const rows = await prisma.apiKey.findMany({ where, orderBy: { id: 'asc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toApiKeyDto);
}

async function findVisibleApiKey(
  prisma: PrismaClient,
  actor: Actor,
  apiKeyId: string,
  scope: 'api-keys:read' | 'api-keys:write',
): Promise<ApiKeyRow> {
  const p = requireUser(actor, scope);
  const where: Prisma.ApiKeyWhereInput = { id: apiKeyId };
  if (p.kind === 'user' && (p.role !== 'ADMIN' || isDomainRestricted(p))) where.AND = [visibleKeyWhere(p)];
  const row = await prisma.apiKey.findFirst({ where });
  if (!row) throw notFound('API key');
  return row;
}

export async function getApiKey(prisma: PrismaClient, actor: Actor, apiKeyId: string): Promise<ApiKey> {
  return toApiKeyDto(await findVisibleApiKey(prisma, actor, apiKeyId, 'api-keys:read'));
}

/** Revocation is immediate (every request looks the key up). Revoking twice is harmless. */
export async function revokeApiKey(prisma: PrismaClient, actor: Actor, apiKeyId: string, now = new Date()): Promise<ApiKey> {
  const current = await findVisibleApiKey(prisma, actor, apiKeyId, 'api-keys:write');
  if (current.revokedAt) return toApiKeyDto(current);
  const owner = await prisma.user.findUnique({ where: { id: current.userId }, select: { role: true } });
  const row = await prisma.$transaction(async (tx) => {
    const updated = await tx.apiKey.update({ where: { id: apiKeyId }, data: { revokedAt: now } });
    await recordAudit(tx, actor, {
      action: 'api-key.revoke',
      targetType: 'api-key',
      targetId: apiKeyId,
      ownerId: owner?.role === 'OWNER' ? current.userId : null,
      details: { name: current.name, prefix: current.prefix, userId: current.userId },
    });
    return updated;
  });
  return toApiKeyDto(row);
}
