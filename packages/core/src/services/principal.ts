import { AppError } from '../errors.ts';
import type { ApiKeyScope } from '../schemas/common.ts';

export type UserRole = 'ADMIN' | 'OWNER';

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  email: string;
  role: UserRole;
  /** Present when the request authenticated with an API key. */
  apiKey?: { id: string; scopes: readonly ApiKeyScope[]; domainIds: readonly string[]; expiresAt: Date | null };
  /** Present when the request authenticated with a session cookie. */
  sessionId?: string;
}

export interface MailboxPrincipal {
  kind: 'mailbox';
  mailboxId: string;
  address: string;
  domainId: string;
  sessionId: string;
}

/** `system` is the operator CLI and the launcher: trusted, acting outside any request. */
export interface SystemPrincipal {
  kind: 'system';
  label: string;
}

export type Principal = UserPrincipal | MailboxPrincipal | SystemPrincipal;

/** Who acts, and from where: passed to every service call. */
export interface Actor {
  principal: Principal;
  ip?: string | undefined;
}

/** A write scope implies the read scope of the same family. */
export function hasScope(scopes: readonly ApiKeyScope[], scope: ApiKeyScope): boolean {
  if (scopes.includes(scope)) return true;
  if (scope.endsWith(':read')) return scopes.includes(scope.replace(/:read$/, ':write') as ApiKeyScope);
  return false;
}

/**
 * The user acting, with the scope checked for API keys. Mailbox users may only use /me; admin-only operations pass
 * `adminOnly`, which a domain-restricted key never passes (whatever its user's role or its scopes: it reaches only its
 * domains). A refusal here depends only on who asks, never on the resource, so it reveals nothing (403).
 */
export function requireUser(actor: Actor, scope: ApiKeyScope, opts: { adminOnly?: boolean } = {}): UserPrincipal | SystemPrincipal {
  const p = actor.principal;
  if (p.kind === 'system') return p;
  if (p.kind !== 'user') throw new AppError('FORBIDDEN', 'Mailbox users can only manage their own mailbox');
  if (opts.adminOnly && p.role !== 'ADMIN') throw new AppError('FORBIDDEN', 'Only administrators can do this');
  if (opts.adminOnly && isDomainRestricted(p))
    throw new AppError('FORBIDDEN', 'This API key is restricted to listed domains and cannot do this');
  if (p.apiKey && !hasScope(p.apiKey.scopes, scope))
    throw new AppError('FORBIDDEN', `This API key lacks the ${scope} scope`, { details: { requiredScope: scope } });
  return p;
}

/** Admin-wide rights: the operator, or an admin not acting through a domain-restricted key. */
export function isAdmin(p: UserPrincipal | SystemPrincipal): boolean {
  return p.kind === 'system' || (p.role === 'ADMIN' && !isDomainRestricted(p));
}

/** Prisma `where` for the domains a principal can see: everything (admin), own domains (owner), narrowed by a key's domainIds. */
export function visibleDomainWhere(p: UserPrincipal | SystemPrincipal): { ownerId?: string; id?: { in: string[] } } {
  if (p.kind === 'system') return {};
  const where: { ownerId?: string; id?: { in: string[] } } = {};
  if (p.role !== 'ADMIN') where.ownerId = p.userId;
  if (p.apiKey && p.apiKey.domainIds.length) where.id = { in: [...p.apiKey.domainIds] };
  return where;
}

/**
 * True when an API key is restricted to listed domains: it then reaches those domains only, with at most an owner's
 * rights there (no owners, no domain creation, limits or transfers, no other key than itself).
 */
export function isDomainRestricted(p: UserPrincipal | SystemPrincipal): boolean {
  return p.kind === 'user' && Boolean(p.apiKey?.domainIds.length);
}

export function actorLabel(p: Principal): string {
  switch (p.kind) {
    case 'user':
      return p.email;
    case 'mailbox':
      return p.address;
    case 'system':
      return p.label;
  }
}
