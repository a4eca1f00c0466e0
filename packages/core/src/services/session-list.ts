import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { SessionInfo, SessionList } from '../schemas/sessions.ts';
import { recordAudit } from './audit.ts';
import type { Actor, MailboxPrincipal, UserPrincipal } from './principal.ts';
import { notFound } from './shared.ts';

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\bOPR\/(\d+)/, 'Opera'],
  [/\bFirefox\/(\d+)/, 'Firefox'],
  [/\bFxiOS\/(\d+)/, 'Firefox'],
  [/\bCriOS\/(\d+)/, 'Chrome'],
  [/\bChrom(?:e|ium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/\bcurl\/(\d+)/, 'curl'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

/** A short device label from a User-Agent ("Firefox 128 on Linux"), read simply; "Unknown device" when nothing matches. */
export function describeUserAgent(ua: string | null | undefined): string {
  if (!ua) return 'Unknown device';
  let browser: string | undefined;
  for (const [re, name] of BROWSERS) {
    const m = re.exec(ua);
    if (m) {
      browser = `${name} ${m[1]}`;
      break;
    }
  }
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? ua.slice(0, 60);
}

/** Panel sessions belong to a signed-in user or mailbox user; API keys have none and cannot manage them. */
function sessionOwner(actor: Actor): { where: Prisma.SessionWhereInput; principal: UserPrincipal | MailboxPrincipal; currentId: string } {
  const p = actor.principal;
  if (p.kind === 'user' && !p.apiKey && p.sessionId) return { where: { userId: p.userId }, principal: p, currentId: p.sessionId };
  if (p.kind === 'mailbox') return { where: { mailboxId: p.mailboxId }, principal: p, currentId: p.sessionId };
  throw new AppError('FORBIDDEN', 'Sessions can only be managed from a signed-in session');
}

function auditOwner(p: UserPrincipal | MailboxPrincipal): { targetType: string; targetId: string; ownerId: string | null } {
  if (p.kind === 'user') return { targetType: 'user', targetId: p.userId, ownerId: p.role === 'OWNER' ? p.userId : null };
  return { targetType: 'mailbox', targetId: p.mailboxId, ownerId: null };
}

/** The caller's live sessions, most recently seen first. */
export async function listOwnSessions(prisma: PrismaClient, actor: Actor, now = new Date()): Promise<SessionList> {
  const { where, currentId } = sessionOwner(actor);
  const rows = await prisma.session.findMany({
    where: { AND: [where, { expiresAt: { gt: now } }] },
    orderBy: [{ lastSeenAt: 'desc' }, { id: 'desc' }],
    take: 200,
    select: { id: true, ip: true, userAgent: true, createdAt: true, lastSeenAt: true, expiresAt: true },
  });
  const items: SessionInfo[] = rows.map((r) => ({
    id: r.id,
    current: r.id === currentId,
    device: describeUserAgent(r.userAgent),
    userAgent: r.userAgent,
    ip: r.ip,
    createdAt: r.createdAt.toISOString(),
    lastSeenAt: r.lastSeenAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
  }));
  return { items };
}

/** Ends one of the caller's sessions (another user's session id is NOT_FOUND, like one that does not exist). */
export async function revokeOwnSession(prisma: PrismaClient, actor: Actor, sessionId: string): Promise<void> {
  const { where, principal } = sessionOwner(actor);
  await prisma.$transaction(async (tx) => {
    const { count } = await tx.session.deleteMany({ where: { AND: [where, { id: sessionId }] } });
    if (!count) throw notFound('Session');
    await recordAudit(tx, actor, {
      action: 'session.revoke',
      ...auditOwner(principal),
      details: { sessionId, current: sessionId === principal.sessionId },
    });
  });
}

/** Ends every session of the caller but the current one; returns how many ended. */
export async function revokeOtherSessions(prisma: PrismaClient, actor: Actor): Promise<number> {
  const { where, principal, currentId } = sessionOwner(actor);
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.session.deleteMany({ where: { AND: [where, { id: { not: currentId } }] } });
    await recordAudit(tx, actor, { action: 'session.revoke-others', ...auditOwner(principal), details: { revoked: count } });
    return count;
  });
}
