import {
  beginTotpEnrolment,
  beginTotpEnrolmentForLogin,
  completeLoginWithCode,
  confirmTotpEnrolment,
  confirmTotpEnrolmentForLogin,
  disableTotp,
  getTwoFactorStatus,
  regenerateRecoveryCodes,
  resetSecondFactors,
} from '@mailroom/core';
import {
  confirmTotpBodySchema,
  loginChallengeBodySchema,
  loginEnrolmentConfirmBodySchema,
  loginEnrolmentResultSchema,
  loginSecondFactorBodySchema,
  mailboxParamsSchema,
  meSchema,
  recoveryCodesSchema,
  secondFactorProofBodySchema,
  secondFactorResetSchema,
  SESSION_COOKIE,
  totpEnrolmentSchema,
  twoFactorStatusSchema,
  idSchema,
} from '@mailroom/core/schemas';
import { z } from 'zod';
import { actorOf } from '../plugins/auth.ts';
import { startSession } from './auth.ts';
import { noContentSchema, problems, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const SESSION_WRITE = [{ sessionCookie: [], csrfToken: [] }];
const SESSION_READ = [{ sessionCookie: [] }];
/** The second step of a sign-in carries its challenge in the body: no session, no key. */
const CHALLENGE_PROBLEMS = problems(401, 403, 409, 429);

export async function secondFactorRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/auth/login/second-factor', {
    schema: {
      tags: ['auth'],
      operationId: 'loginSecondFactor',
      summary: 'Second step of sign-in: a TOTP code or a recovery code for the challenge from POST /auth/login',
      description:
        'Completes the challenge (single use, 5 minutes, same client) and sets the session cookie exactly like a password-only login. ' +
        'Wrong codes get 401 SECOND_FACTOR_INVALID and count like wrong passwords (429 THROTTLED); a code is accepted once. An unknown, expired, used or foreign challenge is 401 CHALLENGE_INVALID.',
      body: loginSecondFactorBodySchema,
      response: { 200: meSchema, ...CHALLENGE_PROBLEMS },
      security: [],
    },
    handler: async (req, reply) => {
      const client = { ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[SESSION_COOKIE] };
      const result = await completeLoginWithCode(ctx.auth, {
        ...client,
        challenge: req.body.challenge,
        code: req.body.code,
        method: req.body.method,
      });
      return startSession(req, reply, ctx, result);
    },
  });

  app.post('/auth/login/enrol/totp', {
    schema: {
      tags: ['auth'],
      operationId: 'loginEnrolTotp',
      summary: 'Sign-in under MAILROOM_REQUIRE_2FA: start TOTP enrolment with the enrolment challenge',
      body: loginChallengeBodySchema,
      response: { 200: totpEnrolmentSchema, ...CHALLENGE_PROBLEMS },
      security: [],
    },
    handler: async (req) =>
      beginTotpEnrolmentForLogin(ctx.auth, { challenge: req.body.challenge, ip: req.ip, userAgent: req.headers['user-agent'] }),
  });

  app.post('/auth/login/enrol/totp/confirm', {
    schema: {
      tags: ['auth'],
      operationId: 'loginEnrolTotpConfirm',
      summary: 'Sign-in under MAILROOM_REQUIRE_2FA: confirm the enrolment with a code; signs in and returns the recovery codes once',
      body: loginEnrolmentConfirmBodySchema,
      response: { 200: loginEnrolmentResultSchema, ...CHALLENGE_PROBLEMS },
      security: [],
    },
    handler: async (req, reply) => {
      const client = { ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[SESSION_COOKIE] };
      const result = await confirmTotpEnrolmentForLogin(ctx.auth, { ...client, challenge: req.body.challenge, code: req.body.code });
      return { ...(await startSession(req, reply, ctx, result)), recoveryCodes: result.recoveryCodes };
    },
  });

  app.get('/me/2fa', {
    schema: {
      tags: ['auth'],
      operationId: 'getTwoFactor',
      summary: 'Your second factors and whether the operator requires one',
      response: { 200: twoFactorStatusSchema, ...problems() },
      security: SESSION_READ,
    },
    handler: async (req) => getTwoFactorStatus(ctx.auth, actorOf(req)),
  });

  app.post('/me/2fa/totp', {
    schema: {
      tags: ['auth'],
      operationId: 'startTotpEnrolment',
      summary: 'Start TOTP enrolment: a new secret, its otpauth URI and QR code (confirm with a code to turn it on)',
      response: { 200: totpEnrolmentSchema, ...problems(409) },
      security: SESSION_WRITE,
    },
    handler: async (req) => beginTotpEnrolment(ctx.auth, actorOf(req)),
  });

  app.post('/me/2fa/totp/confirm', {
    schema: {
      tags: ['auth'],
      operationId: 'confirmTotpEnrolment',
      summary: 'Turn TOTP on with a first code; returns 10 recovery codes, shown once',
      body: confirmTotpBodySchema,
      response: { 200: recoveryCodesSchema, ...problems(409, 429) },
      security: SESSION_WRITE,
    },
    handler: async (req) => confirmTotpEnrolment(ctx.auth, actorOf(req), req.body.code),
  });

  app.post('/me/2fa/totp/disable', {
    schema: {
      tags: ['auth'],
      operationId: 'disableTotp',
      summary: 'Turn TOTP off (current password or a code required); refused with SECOND_FACTOR_REQUIRED when the policy needs it',
      body: secondFactorProofBodySchema,
      response: { 204: noContentSchema, ...problems(409, 429) },
      security: SESSION_WRITE,
    },
    handler: async (req, reply) => {
      await disableTotp(ctx.auth, actorOf(req), req.body);
      return reply.code(204).send(null);
    },
  });

  app.post('/me/2fa/recovery-codes', {
    schema: {
      tags: ['auth'],
      operationId: 'regenerateRecoveryCodes',
      summary: 'New recovery codes replace the old ones (current password or a code required); shown once',
      body: secondFactorProofBodySchema,
      response: { 200: recoveryCodesSchema, ...problems(409, 429) },
      security: SESSION_WRITE,
    },
    handler: async (req) => regenerateRecoveryCodes(ctx.auth, actorOf(req), req.body),
  });

  app.delete('/users/:userId/second-factors', {
    schema: {
      tags: ['owners'],
      operationId: 'resetUserSecondFactors',
      summary: 'Admins: remove every second factor of another panel user (admin or owner) and end their sessions',
      params: z.object({ userId: idSchema }),
      response: { 200: secondFactorResetSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req) => resetSecondFactors(ctx.auth, actorOf(req), { kind: 'user', userId: req.params.userId }),
  });

  app.delete('/mailboxes/:mailboxId/second-factors', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'resetMailboxSecondFactors',
      summary: 'Admins: remove every second factor of a mailbox user and end their sessions',
      params: mailboxParamsSchema,
      response: { 200: secondFactorResetSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req) => resetSecondFactors(ctx.auth, actorOf(req), { kind: 'mailbox', mailboxId: req.params.mailboxId }),
  });
}
