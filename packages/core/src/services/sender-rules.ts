/**
 * A domain's sender rules (see ../sender-rules.ts): the owner's list of envelope senders the SMTP listener refuses
 * (block) or never greylists (allow) for the domain's recipients.
 */
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { CreateSenderRuleBody, SenderRule, UpdateSenderRuleBody } from '../schemas/sender-rules.ts';
import { MAX_SENDER_RULES_PER_DOMAIN, normalizeSenderPattern, senderPatternProblem } from '../sender-rules.ts';
import { recordAudit } from './audit.ts';
import { aliasOfSelect, assertNotAliasDomain, findVisibleDomain, lockDomainTenant } from './domains.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import { type Actor, requireUser, visibleDomainWhere } from './principal.ts';
import { isUniqueViolation, notFound, TENANT_TX, type ServiceDeps } from './shared.ts';

const ruleSelect = {
  id: true,
  domainId: true,
  pattern: true,
  action: true,
  createdAt: true,
  updatedAt: true,
  domain: { select: { name: true, ownerId: true } },
} satisfies Prisma.SenderRuleSelect;
type RuleRow = Prisma.SenderRuleGetPayload<{ select: typeof ruleSelect }>;

function toSenderRuleDto(r: RuleRow): SenderRule {
  return {
    id: r.id,
    domainId: r.domainId,
    domain: r.domain.name,
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

const ruleTaken = () =>
  new AppError('ALREADY_EXISTS', 'The domain already has a rule for this sender; change its action instead', {
    fields: [{ path: 'pattern', message: 'already listed', code: 'taken' }],
  });

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
      const count = await tx.senderRule.count({ where: { domainId } });
      if (count >= MAX_SENDER_RULES_PER_DOMAIN) {
        throw new AppError('LIMIT_SENDER_RULES_EXCEEDED', `A domain may have at most ${MAX_SENDER_RULES_PER_DOMAIN} sender rules`, {
          details: { limit: MAX_SENDER_RULES_PER_DOMAIN },
        });
      }
      const created = await tx.senderRule.create({ data: { domainId, pattern, action: input.action }, select: ruleSelect });
      await recordAudit(tx, actor, {
        action: 'sender-rule.create',
        targetType: 'sender-rule',
        targetId: created.id,
        ownerId: domain.ownerId,
        details: { domainId, domain: domain.name, pattern, action: input.action },
      });
      return created;
    }, TENANT_TX);
    return toSenderRuleDto(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw ruleTaken();
    throw err;
  }
}

/** A domain's rules in the order of their patterns. */
export async function listSenderRules(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  const p = requireUser(actor, 'domains:read');
  const cursor = decodeCursor(input.cursor, ['pattern'] as const);
  await findVisibleDomain(prisma, p, domainId, { id: true });
  const where: Prisma.SenderRuleWhereInput = { domainId };
  if (cursor) where.pattern = { gt: cursor.pattern };
  const rows = await prisma.senderRule.findMany({ where, select: ruleSelect, orderBy: { pattern: 'asc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ pattern: r.pattern }), toSenderRuleDto);
}

async function findVisibleRule(prisma: PrismaClient, actor: Actor, ruleId: string, scope: 'domains:read' | 'domains:write') {
  const p = requireUser(actor, scope);
  const row = await prisma.senderRule.findFirst({ where: { id: ruleId, domain: visibleDomainWhere(p) }, select: ruleSelect });
  if (!row) throw notFound('Sender rule');
  return row;
}

export async function getSenderRule(prisma: PrismaClient, actor: Actor, ruleId: string): Promise<SenderRule> {
  return toSenderRuleDto(await findVisibleRule(prisma, actor, ruleId, 'domains:read'));
}

export async function updateSenderRule(deps: ServiceDeps, actor: Actor, ruleId: string, input: UpdateSenderRuleBody): Promise<SenderRule> {
  const current = await findVisibleRule(deps.prisma, actor, ruleId, 'domains:write');
  const row = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.senderRule.updateMany({ where: { id: ruleId }, data: { action: input.action } });
    if (!count) throw notFound('Sender rule');
    const updated = await tx.senderRule.findUniqueOrThrow({ where: { id: ruleId }, select: ruleSelect });
    await recordAudit(tx, actor, {
      action: 'sender-rule.update',
      targetType: 'sender-rule',
      targetId: ruleId,
      ownerId: current.domain.ownerId,
      details: {
        domainId: current.domainId,
        domain: current.domain.name,
        pattern: current.pattern,
        action: input.action,
        previousAction: current.action,
      },
    });
    return updated;
  });
  return toSenderRuleDto(row);
}

export async function deleteSenderRule(deps: ServiceDeps, actor: Actor, ruleId: string): Promise<void> {
  const current = await findVisibleRule(deps.prisma, actor, ruleId, 'domains:write');
  await deps.prisma.$transaction(async (tx) => {
    // a rule deleted meanwhile (or with its domain) reads as missing, not as a server error
    const { count } = await tx.senderRule.deleteMany({ where: { id: ruleId } });
    if (!count) throw notFound('Sender rule');
    await recordAudit(tx, actor, {
      action: 'sender-rule.delete',
      targetType: 'sender-rule',
      targetId: ruleId,
      ownerId: current.domain.ownerId,
      details: { domainId: current.domainId, domain: current.domain.name, pattern: current.pattern, action: current.action },
    });
  });
}
