import Fastify, { type FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { AuthThrottle, createDnsLookup, type PasswordHasher } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import type { Logger } from '@mailroom/runtime';
import type { ApiConfig } from './config.ts';
import type { CredentialChanges } from './credential-changes.ts';
import { authPlugin } from './plugins/auth.ts';
import { docsPlugin } from './plugins/docs.ts';
import { clientAddressOptions, genRequestId, infrastructurePlugin, sendProblem } from './plugins/infrastructure.ts';
import { makeProblem } from './problems.ts';
import { fastSerializerCompiler } from './serializer.ts';
import { aliasRoutes } from './routes/aliases.ts';
import { senderRuleRoutes } from './routes/sender-rules.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { appPasswordRoutes } from './routes/app-passwords.ts';
import { auditRoutes } from './routes/audit.ts';
import { deliveryLogRoutes } from './routes/delivery-log.ts';
import { signInRoutes } from './routes/sign-ins.ts';
import { authRoutes } from './routes/auth.ts';
import { clientSettingsRoutes, publicAutoconfigRoutes } from './routes/autoconfig.ts';
import type { RouteContext } from './routes/common.ts';
import { domainRoutes } from './routes/domains.ts';
import { mtaStsRoutes, publicMtaStsRoutes } from './routes/mta-sts.ts';
import { publicTlsRoutes } from './routes/tls.ts';
import { mailboxRoutes } from './routes/mailboxes.ts';
import { messageRoutes } from './routes/messages.ts';
import { mailboxBulkRoutes } from './routes/mailbox-bulk.ts';
import { ownerRoutes } from './routes/owners.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { passkeyRoutes } from './routes/passkeys.ts';
import { secondFactorRoutes } from './routes/second-factor.ts';

export interface AppDeps {
  prisma: PrismaClient;
  config: ApiConfig;
  hasher: PasswordHasher;
  /** Server secret (MAILROOM_SECRET or the data dir's secret.key): throttle fingerprints and CSRF tokens. */
  secret: string;
  logger?: Logger;
  /** Defaults to an AuthThrottle over `prisma` keyed with `secret`. */
  throttle?: AuthThrottle;
  /** Resolver of webhook hosts at registration (default: the system's). */
  webhookLookup?: (host: string) => Promise<string[]>;
  /** Credential changes committed by any process (main.ts: LISTEN/NOTIFY); without it API keys are not cached. */
  credentialChanges?: CredentialChanges;
}

/** The API as an unstarted Fastify instance: infrastructure → docs → auth → routes. main.ts listens; tests inject(). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    genReqId: genRequestId,
    ...clientAddressOptions(deps.config.trustedProxies),
    bodyLimit: deps.config.bodyLimitBytes,
    routerOptions: { maxParamLength: 200 },
    // Malformed URLs (bad percent-encoding, over-long path parameters) never reach a route: answer them as problems too.
    frameworkErrors: (err, req, reply) => {
      sendProblem(
        reply,
        req,
        makeProblem('VALIDATION_FAILED', 'Malformed URL', {
          errors: [{ path: 'params', message: err.message.slice(0, 200), code: err.code }],
        }),
      );
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(fastSerializerCompiler);

  const passwordPolicy = { minLength: deps.config.passwordMinLength };
  const ctx: RouteContext = {
    config: deps.config,
    services: {
      prisma: deps.prisma,
      hasher: deps.hasher,
      passwordPolicy,
      onboarding: { ...deps.config.onboarding, dns: createDnsLookup(deps.config.onboarding.dns) },
    },
    auth: {
      prisma: deps.prisma,
      hasher: deps.hasher,
      passwordPolicy,
      throttle: deps.throttle ?? new AuthThrottle(deps.prisma, deps.secret),
      secret: deps.secret,
      sessionTtlMs: deps.config.sessionTtlMs,
      throttleSleepMaxMs: deps.config.throttleSleepMaxMs,
      twoFactorPolicy: deps.config.requireTwoFactor,
      totpIssuer: `Mailroom (${deps.config.publicHost})`,
    },
    webhooks: {
      prisma: deps.prisma,
      secret: deps.secret,
      allowPrivate: deps.config.webhookAllowPrivate,
      ...(deps.webhookLookup ? { lookup: deps.webhookLookup } : {}),
    },
  };

  // 1. infrastructure: headers, request ids, problem+json errors, health, metrics
  await app.register(infrastructurePlugin, { prisma: deps.prisma });
  // 2. documentation (collects every route registered after it)
  if (deps.config.docs) await app.register(docsPlugin);
  // 3. authentication: API keys, session cookie, CSRF
  await app.register(authPlugin, {
    prisma: deps.prisma,
    apiKeyCacheMs: deps.config.apiKeyCacheMs,
    credentialChanges: deps.credentialChanges,
  });
  // 4. routes
  await app.register(
    async (api) => {
      const zapp = api.withTypeProvider<ZodTypeProvider>();
      // Changes to keys and accounts drop cached API key verifications before the reply leaves.
      api.addHook('onSend', async (req, reply, payload) => {
        if (req.method !== 'GET' && reply.statusCode < 400 && /^\/api\/v1\/(owners|api-keys|me\/password)/.test(req.routeOptions.url ?? ''))
          app.invalidateCredentials();
        return payload;
      });
      await authRoutes(zapp, ctx);
      await secondFactorRoutes(zapp, ctx);
      await ownerRoutes(zapp, ctx);
      await domainRoutes(zapp, ctx);
      await mtaStsRoutes(zapp, ctx);
      await mailboxRoutes(zapp, ctx);
      await messageRoutes(zapp, ctx);
      // Own scope: its text/csv body parser stays inside.
      await zapp.register(async (bulk) => mailboxBulkRoutes(bulk.withTypeProvider<ZodTypeProvider>(), ctx));
      await aliasRoutes(zapp, ctx);
      await senderRuleRoutes(zapp, ctx);
      await apiKeyRoutes(zapp, ctx);
      await auditRoutes(zapp, ctx);
      await webhookRoutes(zapp, ctx);
      await deliveryLogRoutes(zapp, ctx);
      await signInRoutes(zapp, ctx);
      await clientSettingsRoutes(zapp, ctx);
      await appPasswordRoutes(zapp, ctx);
      await sessionRoutes(zapp, ctx);
      await passkeyRoutes(zapp, ctx);
    },
    { prefix: '/api/v1' },
  );
  // 5. public, unauthenticated client autoconfiguration (its own XML body parser stays inside this scope)
  await app.register(async (pub) => publicAutoconfigRoutes(pub.withTypeProvider<ZodTypeProvider>(), ctx), { prefix: '/api' });
  // 6. the public MTA-STS policy files (RFC 8461), by the Host senders asked the panel
  await app.register(async (pub) => publicMtaStsRoutes(pub.withTypeProvider<ZodTypeProvider>(), ctx), { prefix: '/api' });
  // 7. the question an on-demand TLS proxy asks before it obtains a certificate for a name (Caddy's `ask`)
  await app.register(async (pub) => publicTlsRoutes(pub.withTypeProvider<ZodTypeProvider>(), ctx), { prefix: '/api' });
  return app as unknown as FastifyInstance;
}
