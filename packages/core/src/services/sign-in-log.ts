import { newId, Prisma, uuidV7Floor, type PrismaClient } from '@mailroom/db';
import {
  SIGN_IN_PASSED,
  type ListSignInsQuery,
  type MailboxSignIn,
  type SignInResult,
  type SignInService,
} from '../schemas/sign-in-log.ts';
import { assertManagedMailbox } from './mailboxes.ts';
import { toPage, uuidV7PageRange, type Page } from './pagination.ts';
import type { Actor } from './principal.ts';
import { deleteOlderThan, type Db } from './shared.ts';

/**
 * A mailbox's sign-in activity (Dovecot's last_login, WildDuck's authlog): every attempt that reached the mailbox's
 * credentials, over POP3 or the panel, with its result. Attempts for unknown addresses and those the throttle refused
 * before verifying name no mailbox and are not stored, so the log cannot be filled for mailboxes that do not exist
 * and grows for one mailbox only at the throttle's pace. Read by the mailbox's owner, admins and the mailbox user;
 * newest first by id (UUID v7) over the (mailbox_id, id) index; pruned after SIGN_IN_LOG_RETENTION_DAYS.
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
  /** POP3: USER or PLAIN; panel: password. */
  mechanism: string | null;
  appPasswordId?: string | null | undefined;
}

/** Identical attempts within this long of a row's first one are counted in it (attempts, last_at) instead of a new row. */
const SIGN_IN_GROUP_WINDOW_MS = 86_400_000;

/**
 * The statement that stores one attempt: counted in the mailbox's latest row of the same kind (service, result, client
 * address, TLS, mechanism, app password) whose first attempt is under a day old, else a new row. The lookup walks the
 * (mailbox_id, id) index over that day only; two identical attempts at the same instant may make two rows (harmless).
 * `before` are statements of the same round trip that run first (the POP3 login's last-login stamps).
 */
function storeSignInSql(r: SignInRecord, before: Prisma.Sql[] = []): Prisma.Sql {
  const ip = r.clientAddress.slice(0, CLIENT_ADDRESS_MAX);
  const ap = r.appPasswordId ?? null;
  const since = uuidV7Floor(new Date(Date.now() - SIGN_IN_GROUP_WINDOW_MS));
  const pre = before.map((q, i) => Prisma.sql`${Prisma.raw(`s${i}`)} AS (${q}),`);
  return Prisma.sql`
    WITH ${pre.length ? Prisma.join(pre, ' ') : Prisma.empty}
         prev AS (SELECT id FROM mailbox_sign_ins
                   WHERE mailbox_id = ${r.mailboxId}::uuid AND id >= ${since}::uuid AND service = ${r.service} AND result = ${r.result}
                     AND client_address = ${ip} AND tls IS NOT DISTINCT FROM ${r.tls}::boolean
                     AND mechanism IS NOT DISTINCT FROM ${r.mechanism}::text AND app_password_id IS NOT DISTINCT FROM ${ap}::uuid
                   ORDER BY id DESC LIMIT 1 FOR UPDATE),
         bumped AS (UPDATE mailbox_sign_ins s SET attempts = s.attempts + 1, last_at = now() FROM prev WHERE s.id = prev.id RETURNING s.id)
    INSERT INTO mailbox_sign_ins (id, mailbox_id, service, result, client_address, tls, mechanism, app_password_id)
    SELECT ${newId()}::uuid, ${r.mailboxId}::uuid, ${r.service}, ${r.result}, ${ip}, ${r.tls}::boolean, ${r.mechanism}::text, ${ap}::uuid
     WHERE NOT EXISTS (SELECT 1 FROM bumped)`;
}

/** Stores one sign-in attempt (any result but a POP3 `ok`, which recordPop3SignIn writes with the mailbox's last login). */
export async function recordMailboxSignIn(db: Db, r: SignInRecord): Promise<void> {
  await db.$executeRaw(storeSignInSql(r));
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
  await db.$executeRaw(storeSignInSql({ ...r, service: 'pop3', result: 'ok' }, stamps));
}

type Row = Prisma.MailboxSignInGetPayload<{ include: { appPassword: { select: { name: true } } } }>;

function toDto(r: Row): MailboxSignIn {
  return {
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    mailboxId: r.mailboxId,
    service: r.service as SignInService,
    result: r.result as SignInResult,
    clientAddress: r.clientAddress,
    tls: r.tls,
    mechanism: r.mechanism,
    appPasswordId: r.appPasswordId,
    appPasswordName: r.appPassword?.name ?? null,
    attempts: r.attempts,
    lastAt: r.lastAt.toISOString(),
  };
}

/** A mailbox's sign-ins, newest first. NOT_FOUND for another tenant's mailbox (and for a mailbox user, any other mailbox). */
export async function listMailboxSignIns(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: ListSignInsQuery,
): Promise<Page<MailboxSignIn>> {
  await assertManagedMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const where: Prisma.MailboxSignInWhereInput = { mailboxId };
  if (input.result === 'failed') where.result = { notIn: [...SIGN_IN_PASSED] };
  else if (input.result) where.result = input.result;
  if (input.service) where.service = input.service;
  const ids = uuidV7PageRange(input);
  if (ids) where.id = ids;
  const rows = await prisma.mailboxSignIn.findMany({
    where,
    orderBy: { id: 'desc' },
    take: input.limit + 1,
    include: { appPassword: { select: { name: true } } },
  });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toDto);
}

/** Deletes sign-ins older than `retentionDays` (an id range: ids are UUID v7), in chunks; returns how many went. */
export function pruneSignInLog(db: Db, retentionDays: number, now = new Date(), chunk = 10_000): Promise<number> {
  return deleteOlderThan(db, 'mailbox_sign_ins', retentionDays, now, chunk);
}
