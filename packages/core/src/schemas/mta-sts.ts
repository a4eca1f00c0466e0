import { z } from 'zod';
import { idSchema, isoDateTimeSchema } from './common.ts';

/** RFC 8461 §3.2 modes; `none` is how a published policy is withdrawn (§8.3), so senders drop what they cached. */
export const MTA_STS_MODES = ['testing', 'enforce', 'none'] as const;
export type MtaStsMode = (typeof MTA_STS_MODES)[number];

export const mtaStsModeSchema = z
  .enum(MTA_STS_MODES)
  .describe(
    'testing: senders report TLS failures but deliver anyway; enforce: MTA-STS senders deliver only over TLS with a valid ' +
      'certificate to the listed MX host; none: the policy is being withdrawn (RFC 8461 §8.3)',
  );

export const domainMtaStsSchema = z
  .object({
    domainId: idSchema,
    domain: z.string(),
    mode: mtaStsModeSchema.nullable().describe('null: no policy is published'),
    changedAt: isoDateTimeSchema.nullable().describe('When the mode last changed'),
    maxAgeSeconds: z.number().int().describe('How long senders may cache the policy (MTA_STS_MAX_AGE_S)'),
    policyUrl: z.string().describe('Where senders fetch the policy: https://mta-sts.<domain>/.well-known/mta-sts.txt'),
    policy: z.string().nullable().describe('The policy file as served (CRLF lines); null without a mode'),
    record: z
      .object({ type: z.literal('TXT'), name: z.string(), value: z.string() })
      .nullable()
      .describe('The `_mta-sts` TXT record announcing this policy (its id changes whenever the policy does); null without a mode'),
    served: z
      .boolean()
      .describe('Whether the policy is answered now: a mode is set and the domain is hosted (verified, active, owner not disabled)'),
    previousPolicyCachedUntil: isoDateTimeSchema
      .nullable()
      .describe(
        'Senders may keep the policy served before the last change until this time (changedAt + max_age): only then may a ' +
          'withdrawn policy (mode none) and its records be removed safely',
      ),
  })
  .meta({ id: 'DomainMtaSts' });
export type DomainMtaSts = z.infer<typeof domainMtaStsSchema>;

export const setMtaStsBodySchema = z
  .object({
    mode: mtaStsModeSchema
      .nullable()
      .describe(
        'The new mode; null stops publishing (refused while in enforce mode: set none first and wait for ' +
          'previousPolicyCachedUntil). enforce is accepted only while every MX record of the domain names Mailroom',
      ),
  })
  .strict();
export type SetMtaStsBody = z.infer<typeof setMtaStsBodySchema>;

export const mtaStsPolicyQuerySchema = z.object({
  host: z.string().max(300).describe('The Host the request was made to: mta-sts.<domain> (the panel fills it in)'),
});

/** GET /api/tls/ask: the question a TLS proxy asks before obtaining a certificate on demand (Caddy's `ask`). */
export const certificateAskQuerySchema = z.object({
  domain: z.string().max(300).describe('The host name a client asked the proxy for (TLS SNI); Caddy fills it in'),
});
