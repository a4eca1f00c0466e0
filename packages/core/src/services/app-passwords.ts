import { randomInt } from 'node:crypto';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { PasswordHasher } from '../password.ts';
import {
  MAX_APP_PASSWORDS_PER_MAILBOX,
  type AppPassword,
  type AppPasswordList,
  type AppPasswordPolicyBody,
  type CreateAppPasswordBody,
  type CreatedAppPassword,
} from '../schemas/app-passwords.ts';
import { recordAudit } from './audit.ts';
import { findVisibleDomain } from './domains.ts';
import { assertManagedMailbox } from './mailboxes.ts';
import { type Actor, requireUser } from './principal.ts';
import { iso, isUniqueViolation, notFound } from './shared.ts';

/**
 * An app password is six groups of four lowercase letters, `sel0-xxxx-xxxx-xxxx-xxxx-xxxx`: easy to type on a phone.
 * The first group is a public selector (unique per mailbox, shown in the list) that picks the one stored hash to verify,
 * so a login costs one argon2 verification however many app passwords the mailbox has. The other 20 letters are the
 * secret: 20 × log2(26) ≈ 94 bits.
 */
export const APP_PASSWORD_GROUPS = 6;
export const APP_PASSWORD_GROUP_LETTERS = 4;
const APP_PASSWORD_LETTERS = APP_PASSWORD_GROUPS * APP_PASSWORD_GROUP_LETTERS;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
/** Tries to draw a selector the mailbox does not use yet (26^4 selectors, at most 20 in use). */
const SELECTOR_ATTEMPTS = 5;

function randomLetters(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A new app password: the text shown once (grouped with dashes), its canonical form (hashed) and its selector. */
export function generateAppPassword(): { password: string; canonical: string; selector: string } {
  const canonical = randomLetters(APP_PASSWORD_LETTERS);
  const groups = canonical.match(new RegExp(`.{${APP_PASSWORD_GROUP_LETTERS}}`, 'g'))!;
  return { password: groups.join('-'), canonical, selector: canonical.slice(0, APP_PASSWORD_GROUP_LETTERS) };
}

/** Reads a typed app password: case, spaces and dashes do not matter. Anything else is no app password. */
export function parseAppPassword(input: string): { canonical: string; selector: string } | undefined {
  if (input.length > 64) return undefined;
  const canonical = input.replace(/[\s-]/g, '').toLowerCase();
  if (!new RegExp(`^[a-z]{${APP_PASSWORD_LETTERS}}$`).test(canonical)) return undefined;
  return { canonical, selector: canonical.slice(0, APP_PASSWORD_GROUP_LETTERS) };
}

/** What decides whether POP3 accepts app passwords only for one mailbox (appPasswordsRequired). */
export interface AppPasswordPolicyInputs {
  /** The mailbox's setting, written by its owner, an admin or an API key: true, false, or null = the domain's. */
  mailbox: boolean | null;
  /** The domain's setting: true, false, or null = the operator default. */
  domain: boolean | null;
  /** The operator default, POP3_REQUIRE_APP_PASSWORDS. */
  operatorDefault: boolean;
  /** The mailbox user's own opt-in: it adds the requirement, it never lifts one. */
  userRequired: boolean;
}

/**
 * Whether POP3 accepts app passwords only: the one rule, used by the POP3 login and shown by the API. The mailbox user's
 * opt-in or a `true` on the mailbox or its domain requires them; otherwise an explicit `false` (mailbox first) allows
 * the main password; with neither set the operator default decides. Only the owner's settings can allow the main
 * password, so a mailbox user (whose stolen main password is what this protects against) can tighten, never loosen.
 * With `userRequired: false` it answers what the owner, the domain and the operator require by themselves.
 */
export function appPasswordsRequired(p: AppPasswordPolicyInputs): boolean {
  if (p.userRequired || p.mailbox === true || p.domain === true) return true;
  return p.mailbox ?? p.domain ?? p.operatorDefault;
}

type AppPasswordRow = Prisma.MailboxAppPasswordGetPayload<{ select: typeof appPasswordSelect }>;
const appPasswordSelect = {
  id: true,
  mailboxId: true,
  name: true,
  selector: true,
  lastUsedAt: true,
  lastUsedIp: true,
  createdAt: true,
} as const;

function toAppPasswordDto(r: AppPasswordRow): AppPassword {
  return {
    id: r.id,
    mailboxId: r.mailboxId,
    name: r.name,
    selector: r.selector,
    lastUsedAt: iso(r.lastUsedAt),
    lastUsedIp: r.lastUsedIp,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The mailbox an actor may manage app passwords of (see {@link assertManagedMailbox}), with what they need of it. */
async function findManagedMailbox(prisma: PrismaClient, actor: Actor, mailboxId: string, scope: 'mailboxes:read' | 'mailboxes:write') {
  await assertManagedMailbox(prisma, actor, mailboxId, scope);
  const row = await prisma.mailbox.findFirst({
    where: { id: mailboxId },
    select: {
      id: true,
      localPart: true,
      domainId: true,
      pop3AppPasswordsRequired: true,
      pop3AppPasswordsUserRequired: true,
      domain: { select: { name: true, ownerId: true, pop3AppPasswordsRequired: true } },
    },
  });
  if (!row) throw notFound('Mailbox');
  return { ...row, address: `${row.localPart}@${row.domain.name}` };
}

/** The API's knowledge of the operator's POP3 setting, for showing the policy POP3 applies. */
export interface AppPasswordPolicyOptions {
  /** POP3_REQUIRE_APP_PASSWORDS (the same value the POP3 service runs with). */
  requireAppPasswordsDefault: boolean;
}

export async function listAppPasswords(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  opts: AppPasswordPolicyOptions,
): Promise<AppPasswordList> {
  const m = await findManagedMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const rows = await prisma.mailboxAppPassword.findMany({ where: { mailboxId }, orderBy: { createdAt: 'asc' }, select: appPasswordSelect });
  const policy: AppPasswordPolicyInputs = {
    mailbox: m.pop3AppPasswordsRequired,
    domain: m.domain.pop3AppPasswordsRequired,
    operatorDefault: opts.requireAppPasswordsDefault,
    userRequired: m.pop3AppPasswordsUserRequired,
  };
  return {
    items: rows.map(toAppPasswordDto),
    requiredForPop3: policy.mailbox,
    domainRequiredForPop3: policy.domain,
    operatorRequiredForPop3: policy.operatorDefault,
    userRequiredForPop3: policy.userRequired,
    enforcedForPop3: appPasswordsRequired({ ...policy, userRequired: false }),
    effectiveRequiredForPop3: appPasswordsRequired(policy),
  };
}

/** Creates a named app password; the password is in the result only (its argon2id hash is stored). */
export async function createAppPassword(
  deps: { prisma: PrismaClient; hasher: PasswordHasher },
  actor: Actor,
  mailboxId: string,
  input: CreateAppPasswordBody,
): Promise<CreatedAppPassword> {
  const { prisma } = deps;
  const m = await findManagedMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  const name = input.name.trim();
  for (let attempt = 1; ; attempt++) {
    const generated = generateAppPassword();
    const passwordHash = await deps.hasher.hash(generated.canonical);
    try {
      const row = await prisma.$transaction(async (tx) => {
        // Serializes creations for the mailbox, so the limit holds under concurrent requests.
        await tx.$executeRaw`SELECT 1 FROM mailboxes WHERE id = ${mailboxId}::uuid FOR UPDATE`;
        const count = await tx.mailboxAppPassword.count({ where: { mailboxId } });
        if (count >= MAX_APP_PASSWORDS_PER_MAILBOX) {
          throw new AppError('CONFLICT', `A mailbox can have at most ${MAX_APP_PASSWORDS_PER_MAILBOX} app passwords; revoke one first`);
        }
        const created = await tx.mailboxAppPassword.create({
          data: { mailboxId, name, selector: generated.selector, passwordHash },
          select: appPasswordSelect,
        });
        await recordAudit(tx, actor, {
          action: 'mailbox.app-password.create',
          targetType: 'mailbox',
          targetId: mailboxId,
          ownerId: m.domain.ownerId,
          details: { address: m.address, domainId: m.domainId, credentialId: created.id, name, selector: created.selector },
        });
        return created;
      });
      return { ...toAppPasswordDto(row), password: generated.password };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const nameTaken = await prisma.mailboxAppPassword.findFirst({ where: { mailboxId, name }, select: { id: true } });
      if (nameTaken) {
        throw new AppError('ALREADY_EXISTS', `An app password named "${name}" exists already`, {
          fields: [{ path: 'name', message: 'is taken', code: 'taken' }],
        });
      }
      if (attempt >= SELECTOR_ATTEMPTS) throw err;
    }
  }
}

/** Revokes (deletes) one app password: the device using it is refused at its next login; the others are untouched. */
export async function revokeAppPassword(prisma: PrismaClient, actor: Actor, mailboxId: string, appPasswordId: string): Promise<void> {
  const m = await findManagedMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  await prisma.$transaction(async (tx) => {
    const rows = await tx.mailboxAppPassword.findMany({ where: { id: appPasswordId, mailboxId }, select: { name: true, selector: true } });
    const row = rows[0];
    if (!row) throw notFound('App password');
    await tx.mailboxAppPassword.deleteMany({ where: { id: appPasswordId, mailboxId } });
    await recordAudit(tx, actor, {
      action: 'mailbox.app-password.revoke',
      targetType: 'mailbox',
      targetId: mailboxId,
      ownerId: m.domain.ownerId,
      details: { address: m.address, domainId: m.domainId, credentialId: appPasswordId, name: row.name, selector: row.selector },
    });
  });
}

/**
 * Sets whether POP3 accepts only app passwords for this mailbox. Owners, admins and keys write the mailbox's setting
 * (true, false, or null: the domain's setting, then the operator's). The mailbox user writes only their own opt-in
 * (true: required; false or null: withdrawn), which can add the requirement but never lift the owner's, the domain's
 * or the operator's: otherwise a stolen main password could switch off the very policy that keeps it out of POP3.
 */
export async function setMailboxAppPasswordPolicy(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: AppPasswordPolicyBody,
  opts: AppPasswordPolicyOptions,
): Promise<AppPasswordList> {
  const m = await findManagedMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  // the mailbox user's body is their opt-in only (false and null withdraw it); everyone else's is the mailbox's setting
  const byMailboxUser = actor.principal.kind === 'mailbox';
  const userRequired = input.requiredForPop3 === true;
  await prisma.$transaction(async (tx) => {
    await tx.mailbox.update({
      where: { id: mailboxId },
      data: byMailboxUser ? { pop3AppPasswordsUserRequired: userRequired } : { pop3AppPasswordsRequired: input.requiredForPop3 },
    });
    await recordAudit(tx, actor, {
      action: 'mailbox.app-password.policy',
      targetType: 'mailbox',
      targetId: mailboxId,
      ownerId: m.domain.ownerId,
      details: {
        address: m.address,
        domainId: m.domainId,
        ...(byMailboxUser ? { setting: 'mailbox-user', userRequiredForPop3: userRequired } : { requiredForPop3: input.requiredForPop3 }),
      },
    });
  });
  return listAppPasswords(prisma, actor, mailboxId, opts);
}

/** Sets the domain's default for its mailboxes (owner or admin; null: the operator default). */
export async function setDomainAppPasswordPolicy(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: AppPasswordPolicyBody,
): Promise<{ requiredForPop3: boolean | null }> {
  const p = requireUser(actor, 'domains:write');
  const d = await findVisibleDomain(prisma, p, domainId, { id: true, name: true, ownerId: true });
  await prisma.$transaction(async (tx) => {
    await tx.domain.update({ where: { id: d.id }, data: { pop3AppPasswordsRequired: input.requiredForPop3 } });
    await recordAudit(tx, actor, {
      action: 'domain.app-password.policy',
      targetType: 'domain',
      targetId: d.id,
      ownerId: d.ownerId,
      details: { name: d.name, requiredForPop3: input.requiredForPop3 },
    });
  });
  return { requiredForPop3: input.requiredForPop3 };
}
