import { z } from 'zod';
import { isoDateTimeSchema, passwordSchema } from './common.ts';
import { meSchema } from './auth.ts';

const challengeTokenSchema = z.string().min(1).max(200).describe('The challenge from the login answer');

/** Login answer when the account has a second factor: complete it at POST /auth/login/second-factor. */
export const loginSecondFactorSchema = z
  .object({
    secondFactorRequired: z.literal(true),
    challenge: z.string().describe('Opaque, single use, valid for 5 minutes, for this client only'),
    expiresAt: isoDateTimeSchema,
    methods: z.array(z.string()).describe('Methods enrolled: `totp`, `recovery`, and others such as `passkey`'),
  })
  .meta({ id: 'LoginSecondFactor' });
export type LoginSecondFactor = z.infer<typeof loginSecondFactorSchema>;

/** Login answer when MAILROOM_REQUIRE_2FA covers an account with no factor: only the enrolment endpoints accept it. */
export const loginEnrolmentSchema = z
  .object({
    enrolmentRequired: z.literal(true),
    challenge: z.string().describe('Opaque, single use, valid for 5 minutes, for this client and the enrolment endpoints only'),
    expiresAt: isoDateTimeSchema,
  })
  .meta({ id: 'LoginEnrolment' });
export type LoginEnrolment = z.infer<typeof loginEnrolmentSchema>;

export const loginResponseSchema = z.union([meSchema, loginSecondFactorSchema, loginEnrolmentSchema]);
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/** A 6-digit TOTP code, or a recovery code (`xxxxx-xxxxx`, dashes and spaces ignored). */
export const secondFactorCodeSchema = z.string().trim().min(6).max(40);

export const loginSecondFactorBodySchema = z.object({
  challenge: challengeTokenSchema,
  code: secondFactorCodeSchema,
  method: z.enum(['totp', 'recovery']).optional().describe('Default: `totp` for 6 digits, else `recovery`'),
});
export type LoginSecondFactorBody = z.infer<typeof loginSecondFactorBodySchema>;

export const loginChallengeBodySchema = z.object({ challenge: challengeTokenSchema });
export const loginEnrolmentConfirmBodySchema = z.object({ challenge: challengeTokenSchema, code: secondFactorCodeSchema });

export const totpEnrolmentSchema = z
  .object({
    secret: z.string().describe('Base32 secret, for typing into an authenticator app'),
    otpauthUri: z.string().describe('otpauth://totp/… URI (what the QR code encodes)'),
    qrCodeDataUrl: z.string().describe('The QR code as an SVG data: URL'),
  })
  .meta({ id: 'TotpEnrolment' });
export type TotpEnrolment = z.infer<typeof totpEnrolmentSchema>;

export const recoveryCodesSchema = z
  .object({ recoveryCodes: z.array(z.string()).describe('Shown once: each signs in once in place of a code') })
  .meta({ id: 'RecoveryCodes' });
export type RecoveryCodes = z.infer<typeof recoveryCodesSchema>;

/** Login completed by enrolment: the signed-in principal plus the recovery codes, shown once. */
export const loginEnrolmentResultSchema = meSchema.extend({ recoveryCodes: z.array(z.string()) }).meta({ id: 'MeWithRecoveryCodes' });

export const confirmTotpBodySchema = z.object({ code: secondFactorCodeSchema });

/** Proof for removing TOTP or regenerating recovery codes: the current password or a current code. */
export const secondFactorProofBodySchema = z
  .object({ password: passwordSchema.optional(), code: secondFactorCodeSchema.optional() })
  .refine((v) => v.password !== undefined || v.code !== undefined, { message: 'send password or code', path: ['password'] });
export type SecondFactorProofBody = z.infer<typeof secondFactorProofBodySchema>;

export const twoFactorStatusSchema = z
  .object({
    totp: z.object({ enabled: z.boolean(), confirmedAt: isoDateTimeSchema.nullable() }),
    recoveryCodesRemaining: z.number().int(),
    methods: z.array(z.string()),
    required: z.boolean().describe('MAILROOM_REQUIRE_2FA covers this account'),
  })
  .meta({ id: 'TwoFactorStatus' });
export type TwoFactorStatus = z.infer<typeof twoFactorStatusSchema>;

export const secondFactorResetSchema = z
  .object({ factorsRemoved: z.number().int(), sessionsEnded: z.number().int() })
  .meta({ id: 'SecondFactorReset' });
export type SecondFactorReset = z.infer<typeof secondFactorResetSchema>;
