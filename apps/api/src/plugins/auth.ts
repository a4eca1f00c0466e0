import { createHash } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, ApiKeyUsageRecorder, authenticateApiKey, authenticateSession, checkCsrf, type Actor, type MailboxPrincipal, type UserPrincipal } from '@mailroom/core';
import { CSRF_HEADER, SESSION_COOKIE } from '@mailroom/core/schemas';
import type { PrismaClient } from '@mailroom/db';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that must work with a stale or missing session (and so skip the CSRF check). */
const CSRF_EXEMPT = new Set([
  '/api/v1/auth/login',
  '/api/v1/auth/login/second-factor',
  '/api/v1/auth/login/enrol/totp',
  '/api/v1/auth/login/enrol/totp/confirm',
  '/api/v1/auth/passkey/options',
  '/api/v1/auth/passkey/login',
  '/api/v1/auth/login/second-factor/passkey/options',
  '/api/v1/auth/login/second-factor/passkey',
]);

/**
 * Credentials, in order: `Authorization: Bearer mr_…` (API key), else the session cookie. A cookie-authenticated unsafe
 * request must carry the session's CSRF token in x-csrf-token. Routes then call `actorOf(req)`.
 */
export const authPlugin = fp<{ prisma: PrismaClient; apiKeyCacheMs: number }>(async (app: FastifyInstance, opts) => {
  await app.register(cookie);
  /**
   * Verified API keys are remembered for a moment (apiKeyCacheMs), so a busy automation key costs no lookup per request.
   * Revocation, owner disable/delete and password changes through this API clear it at once; a change made by another
   * process is seen within apiKeyCacheMs.
   */
  const keyCache = new Map<string, { principal: UserPrincipal; until: number; expiresAt: number }>();
  app.decorate('invalidateCredentials', () => keyCache.clear());
  const keyUsage = new ApiKeyUsageRecorder(opts.prisma);
  const lookupKey = async (key: string): Promise<UserPrincipal | undefined> => {
    const now = Date.now();
    const id = createHash('sha256').update(key).digest('base64url');
    const hit = keyCache.get(id);
    if (hit && hit.until > now && hit.expiresAt > now) return hit.principal;
    const principal = await authenticateApiKey(opts.prisma, key);
    if (principal && opts.apiKeyCacheMs > 0) {
      if (keyCache.size >= 10_000) keyCache.clear();
      keyCache.set(id, { principal, until: now + opts.apiKeyCacheMs, expiresAt: principal.apiKey?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY });
    } else if (hit) keyCache.delete(id);
    return principal;
  };
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionToken', null);

  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (!route?.startsWith('/api/v1/')) return;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw new AppError('UNAUTHENTICATED', 'Use Authorization: Bearer <API key>');
      const principal = await lookupKey(m[1]!);
      if (!principal) throw new AppError('UNAUTHENTICATED', 'The API key is invalid, expired or revoked');
      if (principal.apiKey) keyUsage.note(principal.apiKey.id, req.ip);
      req.principal = principal;
      return;
    }
    const token = req.cookies[SESSION_COOKIE];
    if (!token) return;
    const session = await authenticateSession(opts.prisma, token);
    if (!session) return; // a stale cookie is simply not a credential
    req.sessionToken = token;
    if (UNSAFE.has(req.method) && !CSRF_EXEMPT.has(route)) {
      const presented = req.headers[CSRF_HEADER];
      if (!checkCsrf(session.csrfHash, typeof presented === 'string' ? presented : undefined)) {
        throw new AppError('CSRF_FAILED', `Missing or wrong ${CSRF_HEADER} header (the token comes from login and GET /api/v1/me)`);
      }
    }
    req.principal = session.principal;
  });
});

/** The caller of an authenticated route, or 401. */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Sign in or send an API key');
  return { principal: req.principal, ip: req.ip };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Forget cached API key verifications (after revocations and account changes). */
    invalidateCredentials(): void;
  }
  interface FastifyRequest {
    principal: UserPrincipal | MailboxPrincipal | null;
    sessionToken: string | null;
  }
}
