import { newId, Prisma, uuidV7Floor, type PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import {
  PANEL_SIGN_IN_MECHANISMS,
  PASSWORD_WARNING_DAYS,
  SIGN_IN_PASSED,
  type ListSignInsQuery,
  type ListUserSignInsQuery,
  type MailboxSignIn,
  type PanelSignInMechanism,
  type PasswordWarning,
  type PasswordWarningList,
  type SignInResult,
  type SignInService,
  type UserSignIn,
} from '../schemas/sign-in-log.ts';
import { assertManagedMailbox } from './mailboxes.ts';
import { toPage, uuidV7PageRange, type IdRange, type Page } from './pagination.ts';
import { hasScope, isAdmin, requireUser, visibleDomainWhere, type Actor } from './principal.ts';
import { describeUserAgent } from './session-list.ts';
import { deleteOlderThan, type Db } from './shared.ts';
import { findOwner } from './users.ts';
import { recordEvent } from './webhook-events.ts';

/**
 * A mailbox's sign-in activity (Dovecot's last_login, WildDuck's authlog): every attempt that reached the mailbox's
 * credentials, over POP3 or the panel, with its result. Attempts for unknown addresses and those the throttle refused
 * before verifying name no mailbox and are not stored, so the log cannot be filled for mailboxes that do not exist
 * and grows for one mailbox only at the throttle's pace. Read by the mailbox's owner, admins and the mailbox user;
 * newest first by id (UUID v7) over the (mailbox_id, id) index; pruned after SIGN_IN_LOG_RETENTION_DAYS.
 *
 * Panel users (admins, owners) have the same log of their own (user_sign_ins): every step of a panel sign-in, the
 * second factor's included, read by the user and, for owners, by admins. A wrong password is written without making
 * its refusal slower than an unknown account's (sessions.ts, and POP3's commands): the log exists only for existing
 * accounts, so waiting for it would tell them apart.
 */

export const DEFAULT_SIGN_IN_LOG_RETENTION_DAYS = 30;

/** Client addresses are stored as given, cut to this length (an IPv6 address with a zone fits). */
const CLIENT_ADDRESS_MAX = 100;

export interface SignInRecord {
  mailboxId: string;
  service: SignInService;
  result: SignInResult;
  clientAddress: string;
  /** POP3: whether the connection was encrypted; null for the panel. */
  tls: boolean | null;
  /** POP3: USER or PLAIN; panel: password, totp or recovery. */
  mechanism: string | null;
  appPasswordId?: string | null | undefined;
  /** Panel: the browser's User-Agent. */
  userAgent?: string | null | undefined;
}

/** A panel user's (admin's or owner's) sign-in step. */
export interface UserSignInRecord {
  userId: string;
  result: SignInResult;
  clientAddress: string;
  mechanism: PanelSignInMechanism;
  userAgent?: string | null | undefined;
}

/** Identical attempts within this long of a row's first one are counted in it (attempts, last_at) instead of a new row. */
const SIGN_IN_GROUP_WINDOW_MS = 86_400_000;
/** User-Agents are stored cut to this length (what describeUserAgent reads is at the start). */
const USER_AGENT_MAX = 300;

/** One column of a sign-in row and its value (with its cast): what an identical attempt must match. */
type Field = [column: string, value: Prisma.Sql];

/**
 * The statement that stores one attempt in `table` (mailbox_sign_ins or user_sign_ins): counted in the account's
 * latest row with the same `fields` whose first attempt is under a day old, else a new row. The lookup walks the
 * (account, id) index over that day only; two identical attempts at the same instant may make two rows (harmless).
 * `before` are statements of the same round trip that run first (the POP3 login's last-login stamps).
 */
function storeSignInSql(table: string, account: Field, fields: Field[], before: Prisma.Sql[] = []): Prisma.Sql {
  const since = uuidV7Floor(new Date(Date.now() - SIGN_IN_GROUP_WINDOW_MS));
  const pre = before.map((q, i) => Prisma.sql`${Prisma.raw(`s${i}`)} AS (${q}),`);
  const t = Prisma.raw(table);
  const [accountColumn, accountId] = account;
  const same = fields.map(([c, v]) => Prisma.sql`AND ${Prisma.raw(c)} IS NOT DISTINCT FROM ${v}`);
  const columns = Prisma.raw(['id', accountColumn, ...fields.map(([c]) => c)].join(', '));
  return Prisma.sql`
    WITH ${pre.length ? Prisma.join(pre, ' ') : Prisma.empty}
         prev AS (SELECT id FROM ${t}
                   WHERE ${Prisma.raw(accountColumn)} = ${accountId} AND id >= ${since}::uuid ${Prisma.join(same, ' ')}
                   ORDER BY id DESC LIMIT 1 FOR UPDATE),
         bumped AS (UPDATE ${t} s SET attempts = s.attempts + 1, last_at = now() FROM prev WHERE s.id = prev.id RETURNING s.id)
    INSERT INTO ${t} (${columns})
    SELECT ${newId()}::uuid, ${accountId}, ${Prisma.join(
      fields.map(([, v]) => v),
      ', ',
    )}
     WHERE NOT EXISTS (SELECT 1 FROM bumped)`;
}

function mailboxSignInSql(r: SignInRecord, before: Prisma.Sql[] = []): Prisma.Sql {
  const fields: Field[] = [
    ['service', Prisma.sql`${r.service}::text`],
    ['result', Prisma.sql`${r.result}::text`],
    ['client_address', Prisma.sql`${r.clientAddress.slice(0, CLIENT_ADDRESS_MAX)}::text`],
    ['tls', Prisma.sql`${r.tls}::boolean`],
    ['mechanism', Prisma.sql`${r.mechanism}::text`],
    ['app_password_id', Prisma.sql`${r.appPasswordId ?? null}::uuid`],
    ['user_agent', Prisma.sql`${r.userAgent?.slice(0, USER_AGENT_MAX) ?? null}::text`],
  ];
  return storeSignInSql('mailbox_sign_ins', ['mailbox_id', Prisma.sql`${r.mailboxId}::uuid`], fields, before);
}

/**
 * Stores one sign-in attempt (any result but a POP3 `ok`, which recordPop3SignIn writes with the mailbox's last login).
 * True when it started a new entry, false when it was counted in one.
 */
export async function recordMailboxSignIn(db: Db, r: SignInRecord): Promise<boolean> {
  return (await db.$executeRaw(mailboxSignInSql(r))) > 0;
}

/** Stores one sign-in step of a panel user; true when it started a new entry. */
export async function recordUserSignIn(db: Db, r: UserSignInRecord): Promise<boolean> {
  const fields: Field[] = [
    ['result', Prisma.sql`${r.result}::text`],
    ['client_address', Prisma.sql`${r.clientAddress.slice(0, CLIENT_ADDRESS_MAX)}::text`],
    ['mechanism', Prisma.sql`${r.mechanism}::text`],
    ['user_agent', Prisma.sql`${r.userAgent?.slice(0, USER_AGENT_MAX) ?? null}::text`],
  ];
  return (await db.$executeRaw(storeSignInSql('user_sign_ins', ['user_id', Prisma.sql`${r.userId}::uuid`], fields))) > 0;
}

/** The account a panel sign-in step belongs to (a LoginPrincipal or a FactorAccount). */
export type PanelSignInAccount = { kind: 'user'; userId: string } | { kind: 'mailbox'; mailboxId: string };

/** The mechanism a completed step names (createLoginSession's method); anything unknown is not a panel mechanism. */
export function panelMechanism(method: string | undefined): PanelSignInMechanism | undefined {
  const m = method ?? 'password';
  return (PANEL_SIGN_IN_MECHANISMS as readonly string[]).includes(m) ? (m as PanelSignInMechanism) : undefined;
}

/**
 * One step of a panel sign-in, in the account's log: a panel user's (user_sign_ins) or a mailbox user's (the mailbox's
 * log, service panel). Written as part of signing in, like lastLoginAt. True when it started a new entry.
 */
export async function recordPanelSignIn(db: Db, account: PanelSignInAccount, step: PanelSignInStep): Promise<boolean> {
  const common = { result: step.result, clientAddress: step.ip, mechanism: step.mechanism, userAgent: step.userAgent };
  if (account.kind === 'user') return recordUserSignIn(db, { userId: account.userId, ...common });
  return recordMailboxSignIn(db, { mailboxId: account.mailboxId, service: 'panel', tls: null, ...common });
}

export interface PanelSignInStep {
  result: SignInResult;
  mechanism: PanelSignInMechanism;
  ip: string;
  userAgent?: string | null | undefined;
}

/**
 * A second step refused after the right password, in the account's log and, when it starts a new entry (not for each
 * attempt it counts), as the webhook event `user.second_factor_refused` or `mailbox.second_factor_refused` for the
 * account's tenant (an admin's: administrators only), in one transaction: a host's security tooling hears that the
 * password is known.
 */
export async function recordSecondFactorRefused(
  prisma: PrismaClient,
  account: PanelSignInAccount,
  step: Omit<PanelSignInStep, 'result'>,
): Promise<void> {
  await prisma.$transaction(async (tx) => {
    if (!(await recordPanelSignIn(tx, account, { ...step, result: 'wrong_second_factor' }))) return;
    const data = { clientAddress: step.ip, mechanism: step.mechanism };
    if (account.kind === 'user') {
      const u = await tx.user.findUnique({ where: { id: account.userId }, select: { role: true } });
      if (!u) return;
      const ownerId = u.role === 'OWNER' ? account.userId : null;
      await recordEvent(tx, { type: 'user.second_factor_refused', ownerId, data: { userId: account.userId, ownerId, ...data } });
      return;
    }
    const m = await tx.mailbox.findUnique({
      where: { id: account.mailboxId },
      select: { domainId: true, domain: { select: { ownerId: true } } },
    });
    if (!m) return;
    const ownerId = m.domain.ownerId;
    await recordEvent(tx, {
      type: 'mailbox.second_factor_refused',
      ownerId,
      domainId: m.domainId,
      data: { mailboxId: account.mailboxId, domainId: m.domainId, ownerId, ...data },
    });
  });
}

/**
 * A POP3 login that got its maildrop, in one statement (one round trip on the login path): the mailbox's last login
 * (what LOGIN-DELAY and the panel read), the app password's last use when one signed in, and the log.
 */
export async function recordPop3SignIn(
  db: Db,
  r: { mailboxId: string; clientAddress: string; tls: boolean; mechanism: string; appPasswordId: string | null },
): Promise<void> {
  const ip = r.clientAddress.slice(0, CLIENT_ADDRESS_MAX);
  const stamps = [Prisma.sql`UPDATE mailboxes SET last_login_at = now(), last_login_ip = ${ip} WHERE id = ${r.mailboxId}::uuid`];
  if (r.appPasswordId)
    stamps.push(
      Prisma.sql`UPDATE mailbox_app_passwords SET last_used_at = now(), last_used_ip = ${ip} WHERE id = ${r.appPasswordId}::uuid`,
    );
  await db.$executeRaw(mailboxSignInSql({ ...r, service: 'pop3', result: 'ok' }, stamps));
}

type Row = Prisma.MailboxSignInGetPayload<{ include: { appPassword: { select: { name: true } } } }>;
type UserRow = Prisma.UserSignInGetPayload<object>;

/** What entries of both logs share. */
function commonDto(r: Row | UserRow) {
  return {
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    result: r.result as SignInResult,
    clientAddress: r.clientAddress,
    attempts: r.attempts,
    lastAt: r.lastAt.toISOString(),
  };
}

function toDto(r: Row): MailboxSignIn {
  return {
    ...commonDto(r),
    mailboxId: r.mailboxId,
    service: r.service as SignInService,
    tls: r.tls,
    mechanism: r.mechanism,
    appPasswordId: r.appPasswordId,
    appPasswordName: r.appPassword?.name ?? null,
    device: r.userAgent === null && r.service === 'pop3' ? null : describeUserAgent(r.userAgent),
  };
}

/**
 * The filters both logs share: one result or every refusal (`failed`), a time range with the cursor (as ids), and
 * entries whose latest attempt is after `lastAfter`.
 */
function commonWhere(input: ListUserSignInsQuery): { result?: string | { notIn: string[] }; id?: IdRange; lastAt?: { gt: Date } } {
  const where: { result?: string | { notIn: string[] }; id?: IdRange; lastAt?: { gt: Date } } = {};
  if (input.result === 'failed') where.result = { notIn: [...SIGN_IN_PASSED] };
  else if (input.result) where.result = input.result;
  const ids = uuidV7PageRange(input);
  if (ids) where.id = ids;
  if (input.lastAfter) where.lastAt = { gt: new Date(input.lastAfter) };
  return where;
}

/** A mailbox's sign-ins, newest first. NOT_FOUND for another tenant's mailbox (and for a mailbox user, any other mailbox). */
export async function listMailboxSignIns(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: ListSignInsQuery,
): Promise<Page<MailboxSignIn>> {
  await assertManagedMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const where: Prisma.MailboxSignInWhereInput = { mailboxId, ...commonWhere(input) };
  if (input.service) where.service = input.service;
  const rows = await prisma.mailboxSignIn.findMany({
    where,
    orderBy: { id: 'desc' },
    take: input.limit + 1,
    include: { appPassword: { select: { name: true } } },
  });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toDto);
}

function toUserDto(r: UserRow): UserSignIn {
  return {
    ...commonDto(r),
    userId: r.userId,
    mechanism: r.mechanism as PanelSignInMechanism,
    device: describeUserAgent(r.userAgent),
  };
}

async function listUserSignIns(prisma: PrismaClient, userId: string, input: ListUserSignInsQuery): Promise<Page<UserSignIn>> {
  const where: Prisma.UserSignInWhereInput = { userId, ...commonWhere(input) };
  const rows = await prisma.userSignIn.findMany({ where, orderBy: { id: 'desc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toUserDto);
}

/**
 * The signed-in panel user's own sign-in activity (admin or owner, from a session, as their sessions list). A mailbox
 * user reads their mailbox's log instead (listMailboxSignIns), and an API key is refused: it is not a sign-in.
 */
export async function listOwnSignIns(prisma: PrismaClient, actor: Actor, input: ListUserSignInsQuery): Promise<Page<UserSignIn>> {
  const p = actor.principal;
  if (p.kind === 'mailbox')
    throw new AppError('FORBIDDEN', "A mailbox user's sign-ins are the mailbox's: GET /mailboxes/{mailboxId}/sign-ins");
  if (p.kind !== 'user' || p.apiKey || !p.sessionId)
    throw new AppError('FORBIDDEN', 'Your sign-in activity can only be read from a signed-in session');
  return listUserSignIns(prisma, p.userId, input);
}

/** An owner's sign-in activity, for admins (owners:read): NOT_FOUND for anyone but an owner. */
export async function listOwnerSignIns(
  prisma: PrismaClient,
  actor: Actor,
  ownerId: string,
  input: ListUserSignInsQuery,
): Promise<Page<UserSignIn>> {
  requireUser(actor, 'owners:read', { adminOnly: true });
  await findOwner(prisma, ownerId);
  return listUserSignIns(prisma, ownerId, input);
}

/** At most this many accounts are listed by the password warnings (the most recent first). */
const MAX_PASSWORD_WARNINGS = 100;

/**
 * Keeps, per account, its latest refusal if it came after the account's password last changed (a refusal before it
 * tested a password that no longer works). `rows` are newest first.
 */
function latestSinceChange<R extends { lastAt: Date }>(rows: R[], account: (r: R) => { id: string; passwordChangedAt: Date | null }): R[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const a = account(r);
    if (seen.has(a.id)) return false;
    seen.add(a.id);
    return !a.passwordChangedAt || r.lastAt > a.passwordChangedAt;
  });
}

/**
 * GET /password-warnings: the accounts whose password someone else entered: a second step refused after the right
 * password in the last PASSWORD_WARNING_DAYS days and since the password last changed. Mailboxes of the caller's
 * domains (mailboxes:read), and for administrators (owners:read) owners and admins too; newest first. Read over the
 * partial indexes of refused second steps.
 */
export async function listPasswordWarnings(prisma: PrismaClient, actor: Actor, now = new Date()): Promise<PasswordWarningList> {
  const p = requireUser(actor, 'mailboxes:read');
  const refused = { result: 'wrong_second_factor', lastAt: { gt: new Date(now.getTime() - PASSWORD_WARNING_DAYS * 86_400_000) } };
  const entry = { lastAt: true, clientAddress: true, mechanism: true, attempts: true } as const;
  const mailboxes = await prisma.mailboxSignIn.findMany({
    where: { ...refused, mailbox: { domain: visibleDomainWhere(p) } },
    orderBy: { lastAt: 'desc' },
    take: 1000,
    select: {
      ...entry,
      mailbox: { select: { id: true, localPart: true, domainId: true, passwordChangedAt: true, domain: { select: { name: true } } } },
    },
  });
  const items: PasswordWarning[] = latestSinceChange(mailboxes, (r) => r.mailbox).map((r) => ({
    kind: 'mailbox',
    id: r.mailbox.id,
    name: `${r.mailbox.localPart}@${r.mailbox.domain.name}`,
    domainId: r.mailbox.domainId,
    role: null,
    lastAt: r.lastAt.toISOString(),
    clientAddress: r.clientAddress,
    mechanism: r.mechanism,
    attempts: r.attempts,
  }));
  if (isAdmin(p) && (p.kind === 'system' || !p.apiKey || hasScope(p.apiKey.scopes, 'owners:read'))) {
    const users = await prisma.userSignIn.findMany({
      where: refused,
      orderBy: { lastAt: 'desc' },
      take: 1000,
      select: { ...entry, user: { select: { id: true, email: true, role: true, passwordChangedAt: true } } },
    });
    for (const r of latestSinceChange(users, (u) => u.user))
      items.push({
        kind: 'user',
        id: r.user.id,
        name: r.user.email,
        domainId: null,
        role: r.user.role,
        lastAt: r.lastAt.toISOString(),
        clientAddress: r.clientAddress,
        mechanism: r.mechanism,
        attempts: r.attempts,
      });
  }
  items.sort((a, b) => b.lastAt.localeCompare(a.lastAt));
  return { items: items.slice(0, MAX_PASSWORD_WARNINGS) };
}

/** Deletes sign-ins of both logs older than `retentionDays` (an id range: ids are UUID v7), in chunks; returns how many went. */
export async function pruneSignInLog(db: Db, retentionDays: number, now = new Date(), chunk = 10_000): Promise<number> {
  const mailboxes = await deleteOlderThan(db, 'mailbox_sign_ins', retentionDays, now, chunk);
  return mailboxes + (await deleteOlderThan(db, 'user_sign_ins', retentionDays, now, chunk));
}
