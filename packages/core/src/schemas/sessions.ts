import { z } from 'zod';
import { idSchema, isoDateTimeSchema } from './common.ts';

export const sessionSchema = z
  .object({
    id: idSchema,
    current: z.boolean().describe('The session making this request'),
    device: z.string().describe('Browser and system, read simply from the User-Agent'),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: isoDateTimeSchema,
    lastSeenAt: isoDateTimeSchema.describe('Updated at most once a minute'),
    expiresAt: isoDateTimeSchema,
  })
  .meta({ id: 'Session' });
export type SessionInfo = z.infer<typeof sessionSchema>;

export const sessionListSchema = z.object({ items: z.array(sessionSchema) }).meta({ id: 'SessionList' });
export type SessionList = z.infer<typeof sessionListSchema>;

export const sessionParamsSchema = z.object({ sessionId: idSchema });
export const revokedSessionsSchema = z.object({ revoked: z.number().int().min(0) }).meta({ id: 'RevokedSessions' });
