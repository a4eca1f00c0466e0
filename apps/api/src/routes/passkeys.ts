import { z } from 'zod';
import {
  addPasskey,
  completeLoginWithPasskey,
  listPasskeys,
  loginWithPasskey,
  passkeySecondFactorOptions,
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  removePasskey,
  renamePasskey,
} from '@mailroom/core';
import {
  addPasskeyBodySchema,
  meSchema,
  passkeyAuthenticationOptionsSchema,
  passkeyListSchema,
  passkeyLoginBodySchema,
  passkeyParamsSchema,
  passkeyRegistrationOptionsSchema,
  passkeySchema,
  passkeySecondFactorBodySchema,
  passkeySecondFactorOptionsBodySchema,
  problemSchema,
  renamePasskeyBodySchema,
  SESSION_COOKIE,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { startSession } from './auth.ts';
import { noContentSchema, problems, type RouteContext, type ZodApp } from './common.ts';

const SESSION_ONLY = [{ sessionCookie: [] }];
const SESSION_WRITE = [{ sessionCookie: [], csrfToken: [] }];
/** Options routes take no input: send an empty JSON object. */
const noInputSchema = z.object({}).describe('Empty: {}');

/** WebAuthn passkeys of panel users: registration and management under /me, passwordless sign-in under /auth. */
export async function passkeyRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const { prisma } = ctx.services;
  const webauthn = ctx.config.webauthn;

  app.get('/me/passkeys', {
    schema: {
      tags: ['passkeys'],
      operationId: 'listPasskeys',
      summary: 'Your passkeys (sessions of panel users only)',
      response: { 200: passkeyListSchema, ...problems() },
      security: SESSION_ONLY,
    },
    handler: async (req) => ({ items: await listPasskeys(prisma, actorOf(req)) }),
  });

  app.post('/me/passkeys/registration-options', {
    schema: {
      tags: ['passkeys'],
      operationId: 'passkeyRegistrationOptions',
      summary: 'Start adding a passkey: options for navigator.credentials.create() (a single-use challenge)',
      description: `Pass the answer to startRegistration() (@simplewebauthn/browser) and send its result to POST /me/passkeys within ${webauthn.challengeTtlMs / 1000} s.`,
      body: noInputSchema,
      response: { 200: passkeyRegistrationOptionsSchema, ...problems() },
      security: SESSION_WRITE,
    },
    handler: async (req) => passkeyRegistrationOptions(prisma, webauthn, actorOf(req)),
  });

  app.post('/me/passkeys', {
    schema: {
      tags: ['passkeys'],
      operationId: 'addPasskey',
      summary: 'Add a passkey: the registration response to your latest challenge, and a name for it',
      description:
        'A response to a challenge that was not handed to you, has expired or was already answered, or that comes from another origin, is refused with 400 PASSKEY_REJECTED.',
      body: addPasskeyBodySchema,
      response: { 201: passkeySchema, ...problems(409) },
      security: SESSION_WRITE,
    },
    handler: async (req, reply) => reply.code(201).send(await addPasskey(prisma, webauthn, actorOf(req), req.body)),
  });

  app.patch('/me/passkeys/:passkeyId', {
    schema: {
      tags: ['passkeys'],
      operationId: 'renamePasskey',
      summary: 'Rename one of your passkeys',
      params: passkeyParamsSchema,
      body: renamePasskeyBodySchema,
      response: { 200: passkeySchema, ...problems() },
      security: SESSION_WRITE,
    },
    handler: async (req) => renamePasskey(prisma, actorOf(req), req.params.passkeyId, req.body.name),
  });

  app.delete('/me/passkeys/:passkeyId', {
    schema: {
      tags: ['passkeys'],
      operationId: 'removePasskey',
      summary: 'Remove one of your passkeys (403 SECOND_FACTOR_REQUIRED for the last factor under MAILROOM_REQUIRE_2FA)',
      params: passkeyParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: SESSION_WRITE,
    },
    handler: async (req, reply) => {
      await removePasskey(ctx.auth, actorOf(req), req.params.passkeyId);
      return reply.code(204).send(null);
    },
  });

  app.post('/auth/passkey/options', {
    schema: {
      tags: ['auth'],
      operationId: 'passkeyLoginOptions',
      summary: 'Passwordless sign-in, step 1: options for navigator.credentials.get() (discoverable credentials, no username)',
      body: noInputSchema,
      response: { 200: passkeyAuthenticationOptionsSchema, 400: problemSchema },
      security: [],
    },
    handler: async () => passkeyAuthenticationOptions(prisma, webauthn),
  });

  app.post('/auth/passkey/login', {
    schema: {
      tags: ['auth'],
      operationId: 'passkeyLogin',
      summary: 'Passwordless sign-in, step 2: the assertion; sets the same session cookie as POST /auth/login',
      description:
        'Each challenge is answered once. Unknown passkeys, replayed or foreign challenges, bad signatures and counters that went backwards all get 401 INVALID_CREDENTIALS and count as failed sign-ins (429 THROTTLED with Retry-After); a disabled account gets 403 ACCOUNT_DISABLED.',
      body: passkeyLoginBodySchema,
      response: { 200: meSchema, 400: problemSchema, 401: problemSchema, 403: problemSchema, 429: problemSchema },
      security: [],
    },
    handler: async (req, reply) => {
      const result = await loginWithPasskey(
        { ...ctx.auth, webauthn },
        { response: req.body.response, ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[SESSION_COOKIE] },
      );
      return startSession(req, reply, ctx, result);
    },
  });

  app.post('/auth/login/second-factor/passkey/options', {
    schema: {
      tags: ['auth'],
      operationId: 'loginSecondFactorPasskeyOptions',
      summary: "Second step of sign-in with a passkey, 1: options naming the account's passkeys, for the challenge from POST /auth/login",
      description:
        'Offered when the login answer lists `passkey` in `methods`. An unknown, expired, used or foreign challenge is 401 CHALLENGE_INVALID.',
      body: passkeySecondFactorOptionsBodySchema,
      response: { 200: passkeyAuthenticationOptionsSchema, ...problems(401, 409) },
      security: [],
    },
    handler: async (req) =>
      passkeySecondFactorOptions(
        { ...ctx.auth, webauthn },
        { challenge: req.body.challenge, ip: req.ip, userAgent: req.headers['user-agent'] },
      ),
  });

  app.post('/auth/login/second-factor/passkey', {
    schema: {
      tags: ['auth'],
      operationId: 'loginSecondFactorPasskey',
      summary: 'Second step of sign-in with a passkey, 2: the assertion; sets the session cookie like POST /auth/login/second-factor',
      description:
        "Only one of the account's own passkeys, answering the options issued for this pending sign-in, completes it. Anything else is 401 SECOND_FACTOR_INVALID, counted like a wrong code (429 THROTTLED).",
      body: passkeySecondFactorBodySchema,
      response: { 200: meSchema, ...problems(401, 409, 429) },
      security: [],
    },
    handler: async (req, reply) => {
      const client = { ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[SESSION_COOKIE] };
      const result = await completeLoginWithPasskey(
        { ...ctx.auth, webauthn },
        { ...client, challenge: req.body.challenge, response: req.body.response },
      );
      return startSession(req, reply, ctx, result);
    },
  });
}
