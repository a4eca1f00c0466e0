// WebAuthn passkeys: what the API accepts and answers. The credential JSON shapes follow the WebAuthn Level 3
// `toJSON()` forms (what @simplewebauthn/browser produces); the server library verifies their content.
import { z } from 'zod';
import { idSchema, isoDateTimeSchema } from './common.ts';

const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const transportsSchema = z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(8);

export const passkeySchema = z
  .object({
    id: idSchema,
    name: z.string(),
    transports: z.array(z.string()),
    deviceType: z.string().describe('singleDevice or multiDevice (a synced passkey)'),
    backedUp: z.boolean(),
    lastUsedAt: isoDateTimeSchema.nullable(),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'Passkey' });
export type Passkey = z.infer<typeof passkeySchema>;
export const passkeyListSchema = z.object({ items: z.array(passkeySchema) });

export const passkeyNameSchema = z.string().trim().min(1).max(100);
export const passkeyParamsSchema = z.object({ passkeyId: idSchema });
export const renamePasskeyBodySchema = z.object({ name: passkeyNameSchema });

const credentialDescriptorSchema = z.object({ id: z.string(), type: z.string(), transports: z.array(z.string()).optional() });

/** PublicKeyCredentialCreationOptionsJSON as the server hands it out (pass it to startRegistration). */
export const passkeyRegistrationOptionsSchema = z
  .object({
    rp: z.object({ name: z.string(), id: z.string().optional() }),
    user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
    challenge: z.string(),
    pubKeyCredParams: z.array(z.object({ alg: z.number(), type: z.string() })),
    timeout: z.number().optional(),
    excludeCredentials: z.array(credentialDescriptorSchema).optional(),
    authenticatorSelection: z
      .object({
        authenticatorAttachment: z.string().optional(),
        residentKey: z.string().optional(),
        requireResidentKey: z.boolean().optional(),
        userVerification: z.string().optional(),
      })
      .optional(),
    attestation: z.string().optional(),
    extensions: z.object({ credProps: z.boolean().optional() }).optional(),
    hints: z.array(z.string()).optional(),
  })
  .meta({ id: 'PasskeyRegistrationOptions' });

/** PublicKeyCredentialRequestOptionsJSON (pass it to startAuthentication). No allowCredentials: discoverable credentials. */
export const passkeyAuthenticationOptionsSchema = z
  .object({
    challenge: z.string(),
    timeout: z.number().optional(),
    rpId: z.string().optional(),
    allowCredentials: z.array(credentialDescriptorSchema).optional(),
    userVerification: z.string().optional(),
    hints: z.array(z.string()).optional(),
  })
  .meta({ id: 'PasskeyAuthenticationOptions' });

const clientExtensionResultsSchema = z.object({ credProps: z.object({ rk: z.boolean().optional() }).optional() }).catchall(z.unknown());

/** The fields every PublicKeyCredential JSON form shares. */
const publicKeyCredentialSchema = z.object({
  id: b64url(1400),
  rawId: b64url(1400),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: clientExtensionResultsSchema.default({}),
});

/** RegistrationResponseJSON (what startRegistration resolves with). */
export const registrationResponseSchema = publicKeyCredentialSchema.extend({
  response: z.object({
    clientDataJSON: b64url(8_000),
    attestationObject: b64url(32_000),
    transports: transportsSchema.optional(),
    authenticatorData: b64url(16_000).optional(),
    publicKey: b64url(4_000).optional(),
    publicKeyAlgorithm: z.number().optional(),
  }),
});

/** AuthenticationResponseJSON (what startAuthentication resolves with). */
export const authenticationResponseSchema = publicKeyCredentialSchema.extend({
  response: z.object({
    clientDataJSON: b64url(8_000),
    authenticatorData: b64url(16_000),
    signature: b64url(2_000),
    userHandle: b64url(200).optional(),
  }),
});

export const addPasskeyBodySchema = z.object({ name: passkeyNameSchema, response: registrationResponseSchema });
export type AddPasskeyBody = z.infer<typeof addPasskeyBodySchema>;
export const passkeyLoginBodySchema = z.object({ response: authenticationResponseSchema });
export type PasskeyLoginBody = z.infer<typeof passkeyLoginBodySchema>;

/** Second factor with a passkey: the pending sign-in's challenge (from POST /auth/login), and the assertion. */
export const passkeySecondFactorOptionsBodySchema = z.object({
  challenge: z.string().min(1).max(200).describe('The challenge from the login answer'),
});
export const passkeySecondFactorBodySchema = passkeySecondFactorOptionsBodySchema.extend({ response: authenticationResponseSchema });
