/**
 * Sender rules (see ../sender-rules.ts): a domain owner's list of envelope senders the SMTP listener refuses (block) or
 * never greylists (allow) for the domain's recipients, and each mailbox's own list, kept by its user (or its owner) for
 * that mailbox only.
 */
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { CreateSenderRuleBody, SenderRule, UpdateSenderRuleBody } from '../schemas/sender-rules.ts';
import { MAX_SENDER_RULES, normalizeSenderPattern, senderPatternProblem } from '../sender-rules.ts';
import { recordAudit } from './audit.ts';
import { aliasOfSelect, assertNotAliasDomain, findVisibleDomain, lockDomainTenant } from './domains.ts';
import { assertManagedMailbox } from './mailboxes.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import { type Actor, requireUser, visibleDomainWhere } from './principal.ts';
import { isUniqueViolation, notFound, TENANT_TX, type ServiceDeps } from './shared.ts';

const ruleSelect = {
  id: true,
  domainId: true,
  mailboxId: true,
  pattern: true,
  action: true,
  createdAt: true,
  updatedAt: true,
  domain: { select: { name: true, ownerId: true } },
  mailbox: { select: { localPart: true } },
} satisfies Prisma.SenderRuleSelect;
type RuleRow = Prisma.SenderRuleGetPayload<{ select: typeof ruleSelect }>;

/** A mailbox rule's mailbox address; null for a domain's own rule. */
const mailboxAddress = (r: Pick<RuleRow, 'mailbox' | 'domain'>) => (r.mailbox ? `${r.mailbox.localPart}@${r.domain.name}` : null);

function toSenderRuleDto(r: RuleRow): SenderRule {
  return {
    id: r.id,
    domainId: r.domainId,
    domain: r.domain.name,
    mailboxId: r.mailboxId,
    mailbox: mailboxAddress(r),
    pattern: r.pattern,
    action: r.action as SenderRule['action'],
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** An alias domain's mail is its target's: so are the rules that apply to it. */
const AT_TARGET = 'set its sender rules there';

function storedPattern(input: string): string {
  const pattern = normalizeSenderPattern(input);
  if (pattern) return pattern;
  throw new AppError('VALIDATION_FAILED', 'Invalid sender pattern', {
    fields: [{ path: 'pattern', message: senderPatternProblem(input), code: 'invalid_pattern' }],
  });
}

const ruleTaken = (list: 'domain' | 'mailbox') =>
  new AppError('ALREADY_EXISTS', `The ${list} already has a rule for this sender; change its action instead`, {
    fields: [{ path: 'pattern', message: 'already listed', code: 'taken' }],
  });

const limitReached = (list: 'domain' | 'mailbox') =>
  new AppError('LIMIT_SENDER_RULES_EXCEEDED', `A ${list} may have at most ${MAX_SENDER_RULES} sender rules`, {
    details: { limit: MAX_SENDER_RULES },
  });

/** What an audit entry says of a rule: its list (the domain, and the mailbox for a mailbox's own) and its pattern. */
function auditDetails(r: Pick<RuleRow, 'domainId' | 'domain' | 'mailboxId' | 'mailbox' | 'pattern'>) {
  const address = mailboxAddress(r);
  const mailbox = r.mailboxId && address ? { mailboxId: r.mailboxId, address } : {};
  return { domainId: r.domainId, domain: r.domain.name, ...mailbox, pattern: r.pattern };
}

export async function createSenderRule(
  deps: ServiceDeps,
  actor: Actor,
  domainId: string,
  input: CreateSenderRuleBody,
): Promise<SenderRule> {
  const p = requireUser(actor, 'domains:write');
  const domain = await findVisibleDomain(deps.prisma, p, domainId, { id: true, name: true, ownerId: true, ...aliasOfSelect });
  assertNotAliasDomain(domain, AT_TARGET);
  const pattern = storedPattern(input.pattern);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      // the tenant lock orders this against a conversion into an alias domain (which deletes the rules) and keeps
      // concurrent creations within the limit
      await lockDomainTenant(tx, domainId, domain.ownerId, AT_TARGET);
      const count = await tx.senderRule.count({ where: { domainId, mailboxId: null } });
      if (count >= MAX_SENDER_RULES) throw limitReached('domain');
      const created = await tx.senderRule.create({ data: { domainId, pattern, action: input.action }, select: ruleSelect });
      await recordCreation(tx, actor, created);
      return created;
    }, TENANT_TX);
    return toSenderRuleDto(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw ruleTaken('domain');
    throw err;
  }
}

async function recordCreation(tx: Prisma.TransactionClient, actor: Actor, created: RuleRow): Promise<void> {
  await recordAudit(tx, actor, {
    action: 'sender-rule.create',
    targetType: 'sender-rule',
    targetId: created.id,
    ownerId: created.domain.ownerId,
    details: { ...auditDetails(created), action: created.action },
  });
}

/**
 * A rule of the mailbox's own list: owners, admins and keys (scope mailboxes:write) for mailboxes they can see, and the
 * mailbox's user for their own. It applies to that mailbox only, beside its domain's rules (a block in either refuses).
 */
export async function createMailboxSenderRule(
  deps: ServiceDeps,
  actor: Actor,
  mailboxId: string,
  input: CreateSenderRuleBody,
): Promise<SenderRule> {
  const seenOwner = await assertManagedMailbox(deps.prisma, actor, mailboxId, 'mailboxes:write');
  const pattern = storedPattern(input.pattern);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      // The mailbox's row lock keeps concurrent creations within the limit (a mailbox deleted meanwhile is NOT_FOUND);
      // its domain's, shared, waits for a transfer of the domain, so an owner who has just lost it adds nothing there.
      const [mailbox] = await tx.$queryRaw<{ domain_id: string; owner_id: string }[]>`
        SELECT m.domain_id::text, d.owner_id::text FROM mailboxes m JOIN domains d ON d.id = m.domain_id
        WHERE m.id = ${mailboxId}::uuid FOR UPDATE OF m FOR SHARE OF d`;
      if (!mailbox) throw notFound('Mailbox');
      if (seenOwner !== null && mailbox.owner_id !== seenOwner) {
        throw new AppError('CONFLICT', 'The mailbox’s domain changed owner meanwhile; try again');
      }
      const count = await tx.senderRule.count({ where: { mailboxId } });
      if (count >= MAX_SENDER_RULES) throw limitReached('mailbox');
      const data = { domainId: mailbox.domain_id, mailboxId, pattern, action: input.action };
      const created = await tx.senderRule.create({ data, select: ruleSelect });
      await recordCreation(tx, actor, created);
      return created;
    });
    return toSenderRuleDto(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw ruleTaken('mailbox');
    throw err;
  }
}

/** A domain's own rules (not its mailboxes') in the order of their patterns. */
export async function listSenderRules(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  const p = requireUser(actor, 'domains:read');
  await findVisibleDomain(prisma, p, domainId, { id: true });
  return pageOfRules(prisma, { domainId, mailboxId: null }, input);
}

/** A mailbox's own rules in the order of their patterns (who may: see {@link createMailboxSenderRule}). */
export async function listMailboxSenderRules(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  await assertManagedMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  return pageOfRules(prisma, { mailboxId }, input);
}

async function pageOfRules(
  prisma: PrismaClient,
  list: Prisma.SenderRuleWhereInput,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  const cursor = decodeCursor(input.cursor, ['pattern'] as const);
  const where: Prisma.SenderRuleWhereInput = { ...list, ...(cursor ? { pattern: { gt: cursor.pattern } } : {}) };
  const rows = await prisma.senderRule.findMany({ where, select: ruleSelect, orderBy: { pattern: 'asc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ pattern: r.pattern }), toSenderRuleDto);
}

/**
 * A rule the actor may read or change: a mailbox user only their mailbox's own (a domain's rules and other mailboxes'
 * are NOT_FOUND); owners, admins and keys those of the domains they can see, with the scope of the rule's list
 * (domains:* for a domain's rules, mailboxes:* for a mailbox's).
 */
async function findVisibleRule(prisma: PrismaClient, actor: Actor, ruleId: string, access: 'read' | 'write') {
  const p = actor.principal;
  if (p.kind === 'mailbox') {
    const own = await prisma.senderRule.findFirst({ where: { id: ruleId, mailboxId: p.mailboxId }, select: ruleSelect });
    if (!own) throw notFound('Sender rule');
    return own;
  }
  const row = await prisma.senderRule.findFirst({ where: { id: ruleId, domain: visibleDomainWhere(p) }, select: ruleSelect });
  if (!row) throw notFound('Sender rule');
  requireUser(actor, `${row.mailboxId ? 'mailboxes' : 'domains'}:${access}`);
  return row;
}

export async function getSenderRule(prisma: PrismaClient, actor: Actor, ruleId: string): Promise<SenderRule> {
  return toSenderRuleDto(await findVisibleRule(prisma, actor, ruleId, 'read'));
}

export async function updateSenderRule(deps: ServiceDeps, actor: Actor, ruleId: string, input: UpdateSenderRuleBody): Promise<SenderRule> {
  const current = await findVisibleRule(deps.prisma, actor, ruleId, 'write');
  const row = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.senderRule.updateMany({ where: { id: ruleId }, data: { action: input.action } });
    if (!count) throw notFound('Sender rule');
    const updated = await tx.senderRule.findUniqueOrThrow({ where: { id: ruleId }, select: ruleSelect });
    await recordAudit(tx, actor, {
      action: 'sender-rule.update',
      targetType: 'sender-rule',
      targetId: ruleId,
      ownerId: current.domain.ownerId,
      details: { ...auditDetails(current), action: input.action, previousAction: current.action },
    });
    return updated;
  });
  return toSenderRuleDto(row);
}

export async function deleteSenderRule(deps: ServiceDeps, actor: Actor, ruleId: string): Promise<void> {
  const current = await findVisibleRule(deps.prisma, actor, ruleId, 'write');
  await deps.prisma.$transaction(async (tx) => {
    // a rule deleted meanwhile (or with its domain) reads as missing, not as a server error
    const { count } = await tx.senderRule.deleteMany({ where: { id: ruleId } });
    if (!count) throw notFound('Sender rule');
    await recordAudit(tx, actor, {
      action: 'sender-rule.delete',
      targetType: 'sender-rule',
      targetId: ruleId,
      ownerId: current.domain.ownerId,
      details: { ...auditDetails(current), action: current.action },
    });
  });
}
