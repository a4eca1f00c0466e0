import { z } from 'zod';
import { passwordSchema } from './common.ts';

/** How mail clients reach this Mailroom: what the connection card, autoconfig answers and profiles say. */
export const clientSettingsSchema = z
  .object({
    host: z.string().describe('MAILROOM_PUBLIC_HOST: the incoming (POP3) server name'),
    pop3Port: z.number().int().describe('POP3 with STARTTLS (STLS), MAILROOM_PUBLIC_POP3_PORT'),
    pop3sPort: z.number().int().describe('POP3 over implicit TLS, MAILROOM_PUBLIC_POP3S_PORT'),
    submission: z
      .object({ host: z.string(), port: z.number().int(), security: z.enum(['starttls', 'tls']) })
      .nullable()
      .describe("The operator's SMTP submission server (MAILROOM_SMTP_SUBMISSION_*); null: Mailroom offers none"),
  })
  .meta({ id: 'ClientSettings' });
export type ClientSettings = z.infer<typeof clientSettingsSchema>;

/** Thunderbird's request: `?emailaddress=` (the address the user typed). */
export const autoconfigQuerySchema = z.object({
  emailaddress: z.string().max(1024).describe('The address being set up, e.g. alice@example.com'),
});

/** Asking for a profile with the password embedded (POST, never a query string). */
export const mobileconfigBodySchema = z.object({
  password: passwordSchema.describe('Embedded into the profile as the incoming (and outgoing) password; neither stored nor checked'),
});
