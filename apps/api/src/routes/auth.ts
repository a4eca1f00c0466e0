import type { FastifyReply, FastifyRequest } from 'fastify';
import { getMe, login, logout, changeOwnPassword, csrfTokenFor, type LoginResult, type LoginStep } from '@mailroom/core';
import {
  changeOwnPasswordBodySchema,
  loginBodySchema,
  loginResponseSchema,
  meSchema,
  problemSchema,
  SESSION_COOKIE,
  type LoginResponse,
  type Me,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

/**
 * The session cookie's attributes: Secure when the operator says so (SESSION_COOKIE_SECURE) or when the original request
 * was HTTPS (direct TLS, or X-Forwarded-Proto from a trusted proxy: req.protocol only reads it from API_TRUSTED_PROXIES).
 */
function sessionCookieOptions(req: FastifyRequest, ctx: RouteContext) {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure: ctx.config.sessionCookieSecure || req.protocol === 'https' } as const;
}

/** Sets the session cookie of a completed sign-in and answers the principal (every login path ends here). */
export async function startSession(req: FastifyRequest, reply: FastifyReply, ctx: RouteContext, result: LoginResult): Promise<Me> {
  reply.setCookie(SESSION_COOKIE, result.token, { ...sessionCookieOptions(req, ctx), maxAge: Math.floor(ctx.config.sessionTtlMs / 1000) });
  return getMe(ctx.services.prisma, result.principal, { csrfToken: result.csrfToken, passwordPolicy: ctx.services.passwordPolicy });
}

/** The login answer: the principal (with the session cookie), or the challenge of a second step. */
export async function answerLoginStep(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: RouteContext,
  step: LoginStep,
): Promise<LoginResponse> {
  switch (step.status) {
    case 'session':
      return startSession(req, reply, ctx, step);
    case 'second_factor':
      return { secondFactorRequired: true, challenge: step.challenge, expiresAt: step.expiresAt.toISOString(), methods: step.methods };
    case 'enrolment':
      return { enrolmentRequired: true, challenge: step.challenge, expiresAt: step.expiresAt.toISOString() };
  }
}

export async function authRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/auth/login', {
    schema: {
      tags: ['auth'],
      operationId: 'login',
      summary: 'Sign in (admin, owner, or mailbox user with the full address)',
      description:
        'Sets the HttpOnly session cookie and returns the CSRF token to send as `x-csrf-token` on unsafe requests. Unknown accounts and wrong passwords get the same 401 INVALID_CREDENTIALS. Repeated failures are throttled per network and per account: 429 THROTTLED with Retry-After. ' +
        'An account with a second factor gets `{ secondFactorRequired, challenge, methods }` instead (no cookie): complete it at POST /auth/login/second-factor. ' +
        'An account MAILROOM_REQUIRE_2FA covers that has no factor yet gets `{ enrolmentRequired, challenge }`: enrol at POST /auth/login/enrol/totp.',
      body: loginBodySchema,
      response: { 200: loginResponseSchema, 400: problemSchema, 401: problemSchema, 403: problemSchema, 429: problemSchema },
      security: [],
    },
    handler: async (req, reply) => {
      const step = await login(ctx.auth, {
        email: req.body.email,
        password: req.body.password,
        ip: req.ip,
        userAgent: req.headers['user-agent'],
        previousToken: req.cookies[SESSION_COOKIE],
      });
      return answerLoginStep(req, reply, ctx, step);
    },
  });

  app.post('/auth/logout', {
    schema: {
      tags: ['auth'],
      operationId: 'logout',
      summary: 'Sign out: the session is deleted and the cookie cleared',
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      if (req.principal) await logout(ctx.services.prisma, req.principal);
      reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(req, ctx));
      return reply.code(204).send(null);
    },
  });

  app.get('/me', {
    schema: {
      tags: ['auth'],
      operationId: 'getMe',
      summary: 'The signed-in principal, its usage and limits, and the CSRF token',
      response: { 200: meSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => {
      const actor = actorOf(req);
      const csrfToken = req.sessionToken ? csrfTokenFor(ctx.auth.secret, req.sessionToken) : null;
      return getMe(ctx.services.prisma, actor.principal, { csrfToken, passwordPolicy: ctx.services.passwordPolicy });
    },
  });

  app.put('/me/password', {
    schema: {
      tags: ['auth'],
      operationId: 'changeOwnPassword',
      summary: 'Change your own password (sessions only; other sessions end)',
      body: changeOwnPasswordBodySchema,
      response: { 204: noContentSchema, ...problems(422, 429) },
      security: [{ sessionCookie: [], csrfToken: [] }],
    },
    handler: async (req, reply) => {
      await changeOwnPassword(ctx.auth, actorOf(req), req.body);
      return reply.code(204).send(null);
    },
  });
}
