import { createHash } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  AppError,
  ApiKeyUsageRecorder,
  authenticateApiKey,
  authenticateSession,
  checkCsrf,
  type Actor,
  type MailboxPrincipal,
  type UserPrincipal,
} from '@mailroom/core';
import { CSRF_HEADER, SESSION_COOKIE } from '@mailroom/core/schemas';
import type { PrismaClient } from '@mailroom/db';
import type { CredentialChange, CredentialChanges } from '../credential-changes.ts';

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
export const authPlugin = fp<{ prisma: PrismaClient; apiKeyCacheMs: number; credentialChanges?: CredentialChanges }>(
  async (app: FastifyInstance, opts) => {
    await app.register(cookie);
    /**
     * Verified API keys are remembered for a moment (apiKeyCacheMs), so a busy automation key costs no lookup per request,
     * but only while `credentialChanges` is live: database triggers NOTIFY every revocation, key change and user
     * disable/delete/password change at commit, whichever process made it, and each entry it concerns is dropped. Without
     * the feed (none given, or its connection down) every request reads the key from the database.
     * Sessions are not cached: every cookie request reads its session row, so revoking a session or resetting a second
     * factor needs no invalidation.
     */
    const keyCache = new Map<string, { principal: UserPrincipal; until: number; expiresAt: number }>();
    /** Bumped by every change: a lookup that raced with one (read before, finished after) is not cached. */
    let generation = 0;
    const forget = (change: CredentialChange) => {
      generation++;
      if (change.kind === 'all') return keyCache.clear();
      for (const [id, hit] of keyCache) {
        if (change.kind === 'api_key' ? hit.principal.apiKey?.id === change.id : hit.principal.userId === change.id) keyCache.delete(id);
      }
    };
    const unsubscribe = opts.credentialChanges?.subscribe(forget);
    app.addHook('onClose', async () => unsubscribe?.());
    const caching = () => opts.apiKeyCacheMs > 0 && opts.credentialChanges?.live === true;
    app.decorate('invalidateCredentials', () => forget({ kind: 'all' }));
    const keyUsage = new ApiKeyUsageRecorder(opts.prisma);
    const lookupKey = async (key: string): Promise<UserPrincipal | undefined> => {
      const now = Date.now();
      const id = createHash('sha256').update(key).digest('base64url');
      const hit = caching() ? keyCache.get(id) : undefined;
      if (hit && hit.until > now && hit.expiresAt > now) return hit.principal;
      const seen = generation;
      const principal = await authenticateApiKey(opts.prisma, key);
      if (principal && caching() && seen === generation) {
        if (keyCache.size >= 10_000) keyCache.clear();
        keyCache.set(id, {
          principal,
          until: now + opts.apiKeyCacheMs,
          expiresAt: principal.apiKey?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
        });
      } else keyCache.delete(id);
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
  },
);

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
