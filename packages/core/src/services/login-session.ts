import { createHmac, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@mailroom/db';
import { recordAudit } from './audit.ts';
import { sha256Hex } from './api-keys.ts';
import type { MailboxPrincipal, UserPrincipal } from './principal.ts';
import { panelMechanism, recordPanelSignIn } from './sign-in-log.ts';

export type LoginPrincipal = UserPrincipal | MailboxPrincipal;

export function csrfTokenFor(secret: string, sessionToken: string): string {
  return createHmac('sha256', secret).update('csrf\0').update(sessionToken).digest('base64url');
}

export interface LoginResult {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  principal: LoginPrincipal;
}

export interface CreateLoginSessionInput {
  principal: LoginPrincipal;
  ip: string;
  userAgent?: string | undefined;
  /** Token of a session cookie the browser still sent: replaced, never reused (no session fixation). */
  previousToken?: string | undefined;
  /** How the sign-in was completed (`password`, `totp`, `recovery`, `passkey` …): in the audit event and the sign-in log. */
  method?: string;
}

/**
 * The one place a sign-in becomes a session: after a password alone, after a completed login challenge (TOTP, recovery
 * code, passkey) or after a completed enrolment. Sets principal.sessionId, logs the sign-in (`ok` with its method) and
 * audits `auth.login` for panel users.
 */
export async function createLoginSession(
  deps: { prisma: PrismaClient; secret: string; sessionTtlMs: number },
  input: CreateLoginSessionInput,
): Promise<LoginResult> {
  const { principal } = input;
  const token = randomBytes(32).toString('base64url');
  const csrfToken = csrfTokenFor(deps.secret, token);
  const expiresAt = new Date(Date.now() + deps.sessionTtlMs);
  if (input.previousToken) await deps.prisma.session.deleteMany({ where: { tokenHash: sha256Hex(input.previousToken) } });
  const session = await deps.prisma.session.create({
    data: {
      tokenHash: sha256Hex(token),
      csrfHash: sha256Hex(csrfToken),
      userId: principal.kind === 'user' ? principal.userId : null,
      mailboxId: principal.kind === 'mailbox' ? principal.mailboxId : null,
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 500) ?? null,
      expiresAt,
    },
    select: { id: true },
  });
  principal.sessionId = session.id;
  const mechanism = panelMechanism(input.method);
  if (mechanism) await recordPanelSignIn(deps.prisma, principal, { result: 'ok', mechanism, ip: input.ip, userAgent: input.userAgent });
  if (principal.kind === 'user') {
    const details = input.method && input.method !== 'password' ? { method: input.method } : {};
    await recordAudit(
      deps.prisma,
      { principal, ip: input.ip },
      {
        action: 'auth.login',
        targetType: 'user',
        targetId: principal.userId,
        ownerId: principal.role === 'OWNER' ? principal.userId : null,
        details,
      },
    );
  }
  return { token, csrfToken, expiresAt, principal };
}
