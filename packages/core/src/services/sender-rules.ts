/**
 * Sender rules (see ../sender-rules.ts): a domain owner's list of envelope senders the SMTP listener refuses (block) or
 * never greylists (allow) for the domain's recipients, and each mailbox's own list, kept by its user (or its owner) for
 * that mailbox only.
 */
import { newId, type Prisma, type PrismaClient } from '@mailroom/db';
import { csvLine } from '../csv.ts';
import { AppError } from '../errors.ts';
import type {
  CreateSenderRuleBody,
  ImportSenderRulesBody,
  SenderRule,
  SenderRuleImportIssue,
  SenderRuleImportReport,
  UpdateSenderRuleBody,
} from '../schemas/sender-rules.ts';
import { MAX_SENDER_RULES, normalizeSenderPattern, senderPatternProblem } from '../sender-rules.ts';
import { recordAudit, recordAuditMany } from './audit.ts';
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

/** A list as a rule names it: its domain, and its mailbox for a mailbox's own (see {@link describeList}). */
type ListNames = Pick<RuleRow, 'domainId' | 'domain' | 'mailboxId' | 'mailbox'>;

/** What an audit entry says of a list: the domain, and the mailbox for a mailbox's own. */
function listAuditDetails(r: ListNames) {
  const address = mailboxAddress(r);
  const mailbox = r.mailboxId && address ? { mailboxId: r.mailboxId, address } : {};
  return { domainId: r.domainId, domain: r.domain.name, ...mailbox };
}

/** What an audit entry says of a rule: its list and its pattern. */
function auditDetails(r: ListNames & Pick<RuleRow, 'pattern'>) {
  return { ...listAuditDetails(r), pattern: r.pattern };
}

/** The names and owner of a list, in the shape its rules carry them (for the import's audit and the export's file). */
async function describeList(db: PrismaClient | Prisma.TransactionClient, ref: RuleListRef): Promise<ListNames> {
  const domain = { select: { name: true, ownerId: true } };
  if (ref.kind === 'domain') {
    return {
      domainId: ref.id,
      mailboxId: null,
      mailbox: null,
      domain: await db.domain.findUniqueOrThrow({ where: { id: ref.id }, ...domain }),
    };
  }
  const m = await db.mailbox.findUniqueOrThrow({ where: { id: ref.id }, select: { domainId: true, localPart: true, domain } });
  return { domainId: m.domainId, mailboxId: ref.id, mailbox: { localPart: m.localPart }, domain: m.domain };
}

export async function createSenderRule(
  deps: ServiceDeps,
  actor: Actor,
  domainId: string,
  input: CreateSenderRuleBody,
): Promise<SenderRule> {
  return createRule(deps, actor, await openRuleList(deps.prisma, actor, { kind: 'domain', id: domainId }, 'write'), input);
}

/** A list of sender rules: a domain's own, or a mailbox's. */
export type RuleListRef = { kind: 'domain' | 'mailbox'; id: string };

/** A list the actor may change (see {@link openRuleList}); `lock` takes its lock inside a transaction. */
export interface OpenRuleList {
  kind: RuleListRef['kind'];
  /** The list's rows in `sender_rules`. */
  where: Prisma.SenderRuleWhereInput;
  /**
   * Orders the transaction against concurrent changes of the list (so the rule limit holds) and against a transfer or
   * conversion of its domain; answers the ids a new rule of the list takes.
   */
  lock(tx: Prisma.TransactionClient): Promise<{ domainId: string; mailboxId: string | null }>;
}

/**
 * Checks that the actor may read or change a list and says how to lock it. A domain's own list: owners, admins and keys
 * with domains:read/write for domains they see, never an alias domain's (its target's applies). A mailbox's: owners,
 * admins and keys with mailboxes:read/write for mailboxes they see, and the mailbox's user for their own.
 */
export async function openRuleList(prisma: PrismaClient, actor: Actor, list: RuleListRef, access: 'read' | 'write'): Promise<OpenRuleList> {
  if (list.kind === 'domain') {
    const domainId = list.id;
    const p = requireUser(actor, `domains:${access}`);
    const domain = await findVisibleDomain(prisma, p, domainId, { id: true, name: true, ownerId: true, ...aliasOfSelect });
    if (access === 'write') assertNotAliasDomain(domain, AT_TARGET);
    return {
      kind: 'domain',
      where: { domainId, mailboxId: null },
      async lock(tx) {
        // the tenant lock orders this against a conversion into an alias domain (which deletes the rules) and keeps
        // concurrent creations within the limit
        await lockDomainTenant(tx, domainId, domain.ownerId, AT_TARGET);
        return { domainId, mailboxId: null };
      },
    };
  }
  const mailboxId = list.id;
  const seenOwner = await assertManagedMailbox(prisma, actor, mailboxId, `mailboxes:${access}`);
  const byItsUser = actor.principal.kind === 'mailbox';
  if (byItsUser && access === 'write') await assertMailboxUserMayChange(prisma, mailboxId);
  return {
    kind: 'mailbox',
    where: { mailboxId },
    async lock(tx) {
      // The mailbox's row lock keeps concurrent creations within the limit (a mailbox deleted meanwhile is NOT_FOUND);
      // its domain's, shared, waits for a transfer of the domain or a change of its settings, so an owner who has just
      // lost it adds nothing there, and a user whose owner has just taken the list over changes nothing.
      const [mailbox] = await tx.$queryRaw<{ domain_id: string; owner_id: string; users_may: boolean | null }[]>`
        SELECT m.domain_id::text, d.owner_id::text, d.mailbox_users_sender_rules AS users_may
        FROM mailboxes m JOIN domains d ON d.id = m.domain_id
        WHERE m.id = ${mailboxId}::uuid FOR UPDATE OF m FOR SHARE OF d`;
      if (!mailbox) throw notFound('Mailbox');
      if (seenOwner !== null && mailbox.owner_id !== seenOwner) {
        throw new AppError('CONFLICT', 'The mailbox’s domain changed owner meanwhile; try again');
      }
      if (byItsUser && mailbox.users_may === false) throw ownerOnly();
      return { domainId: mailbox.domain_id, mailboxId };
    },
  };
}

const ownerOnly = () =>
  new AppError('SENDER_RULES_OWNER_ONLY', 'The domain’s owner keeps the sender lists of its mailboxes; ask them to change yours');

/** A mailbox user changes their own list unless the domain's owner keeps the mailboxes' lists (`mailboxUsersSenderRules`). */
async function assertMailboxUserMayChange(prisma: PrismaClient, mailboxId: string): Promise<void> {
  const m = await prisma.mailbox.findUnique({
    where: { id: mailboxId },
    select: { domain: { select: { mailboxUsersSenderRules: true } } },
  });
  if (m?.domain.mailboxUsersSenderRules === false) throw ownerOnly();
}

async function createRule(deps: ServiceDeps, actor: Actor, list: OpenRuleList, input: CreateSenderRuleBody): Promise<SenderRule> {
  const pattern = storedPattern(input.pattern);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      const ids = await list.lock(tx);
      const count = await tx.senderRule.count({ where: list.where });
      if (count >= MAX_SENDER_RULES) throw limitReached(list.kind);
      const created = await tx.senderRule.create({ data: { ...ids, pattern, action: input.action }, select: ruleSelect });
      await recordCreation(tx, actor, created);
      return created;
    }, TENANT_TX);
    return toSenderRuleDto(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw ruleTaken(list.kind);
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
  return createRule(deps, actor, await openRuleList(deps.prisma, actor, { kind: 'mailbox', id: mailboxId }, 'write'), input);
}

/** A domain's own rules (not its mailboxes') in the order of their patterns. */
export async function listSenderRules(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  return pageOfRules(prisma, (await openRuleList(prisma, actor, { kind: 'domain', id: domainId }, 'read')).where, input);
}

/** A mailbox's own rules in the order of their patterns (who may: see {@link createMailboxSenderRule}). */
export async function listMailboxSenderRules(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<SenderRule>> {
  return pageOfRules(prisma, (await openRuleList(prisma, actor, { kind: 'mailbox', id: mailboxId }, 'read')).where, input);
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

/**
 * A mailbox user's change of their own list takes the list's lock first, where the owner's switch is read again
 * (see {@link openRuleList}); owners, admins and keys change one rule without it, as before.
 */
async function lockOwnList(prisma: PrismaClient, actor: Actor): Promise<(tx: Prisma.TransactionClient) => Promise<unknown>> {
  const p = actor.principal;
  if (p.kind !== 'mailbox') return async () => undefined;
  const list = await openRuleList(prisma, actor, { kind: 'mailbox', id: p.mailboxId }, 'write');
  return (tx) => list.lock(tx);
}

export async function updateSenderRule(deps: ServiceDeps, actor: Actor, ruleId: string, input: UpdateSenderRuleBody): Promise<SenderRule> {
  const current = await findVisibleRule(deps.prisma, actor, ruleId, 'write');
  const lock = await lockOwnList(deps.prisma, actor);
  const row = await deps.prisma.$transaction(async (tx) => {
    await lock(tx);
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
  const lock = await lockOwnList(deps.prisma, actor);
  await deps.prisma.$transaction(async (tx) => {
    await lock(tx);
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

type ImportOutcome = SenderRuleImportReport['rules'][number];

/**
 * Imports a list of senders into a domain's own list or a mailbox's (who may: as for one rule). Every entry is checked
 * first: a pattern that a single rule would refuse, or the same sender twice with different actions, answers 422
 * IMPORT_INVALID with every such entry and changes nothing. Then, in one transaction under the list's lock: senders not
 * listed are created, listed ones take the imported action, and with `replace` the list's other rules are deleted; more
 * than MAX_SENDER_RULES after it is 422 LIMIT_SENDER_RULES_EXCEEDED and changes nothing. A dry run answers the same
 * report and changes nothing. Audited per rule as sender-rule.create/update/delete, and once as sender-rule.import.
 */
export async function importSenderRules(
  deps: ServiceDeps,
  actor: Actor,
  ref: RuleListRef,
  input: ImportSenderRulesBody,
): Promise<SenderRuleImportReport> {
  const list = await openRuleList(deps.prisma, actor, ref, 'write');
  const wanted = new Map<string, { action: SenderRule['action']; index: number }>();
  const issues: SenderRuleImportIssue[] = [];
  input.rules.forEach(({ pattern: given, action }, index) => {
    const pattern = normalizeSenderPattern(given);
    if (!pattern) return issues.push({ index, pattern: given, code: 'invalid_pattern', message: senderPatternProblem(given) });
    const earlier = wanted.get(pattern);
    if (!earlier) return wanted.set(pattern, { action, index });
    if (earlier.action !== action) {
      issues.push({
        index,
        pattern: given,
        code: 'conflicting_duplicate',
        message: `entry ${earlier.index} names the same sender (${pattern}) to ${earlier.action}`,
        earlier: earlier.index,
      });
    }
  });
  if (issues.length) {
    throw new AppError('IMPORT_INVALID', `${issues.length} of ${input.rules.length} entries are invalid; nothing was imported`, {
      details: { entries: input.rules.length, errorCount: issues.length, errors: issues },
    });
  }
  const run = async (tx: Prisma.TransactionClient): Promise<SenderRuleImportReport> => {
    const ids = await list.lock(tx);
    const listed = await tx.senderRule.findMany({ where: list.where, select: { id: true, pattern: true, action: true } });
    const existing = new Map(listed.map((r) => [r.pattern, r] as const));
    const rules: ImportOutcome[] = [];
    const toCreate: { id: string; pattern: string; action: SenderRule['action'] }[] = [];
    const toUpdate: { id: string; pattern: string; action: string }[] = [];
    for (const [pattern, { action }] of wanted) {
      const current = existing.get(pattern);
      const outcome = !current ? 'created' : current.action === action ? 'unchanged' : 'updated';
      rules.push({ pattern, action, outcome });
      if (!current) toCreate.push({ id: newId(), pattern, action });
      else if (outcome === 'updated') toUpdate.push(current);
    }
    const toDelete = input.replace ? [...existing.values()].filter((r) => !wanted.has(r.pattern)) : [];
    const total = existing.size + toCreate.length - toDelete.length;
    if (total > MAX_SENDER_RULES) throw limitReached(list.kind);
    const report: SenderRuleImportReport = {
      dryRun: input.dryRun,
      created: toCreate.length,
      updated: toUpdate.length,
      unchanged: rules.length - toCreate.length - toUpdate.length,
      deleted: toDelete.length,
      duplicates: input.rules.length - wanted.size,
      total,
      rules,
      deletedPatterns: toDelete.map((r) => r.pattern),
    };
    if (input.dryRun) return report;
    if (toDelete.length) await tx.senderRule.deleteMany({ where: { id: { in: toDelete.map((r) => r.id) } } });
    for (const action of ['allow', 'block'] as const) {
      const changed = toUpdate.filter((r) => wanted.get(r.pattern)!.action === action).map((r) => r.id);
      if (changed.length) await tx.senderRule.updateMany({ where: { id: { in: changed } }, data: { action } });
    }
    if (toCreate.length) await tx.senderRule.createMany({ data: toCreate.map((r) => ({ ...ids, ...r })) });
    // the audit names each rule as its single change would
    const names = await describeList(tx, ref);
    const ownerId = names.domain.ownerId;
    const entry = (action: string, id: string, pattern: string, details: Record<string, unknown>) => ({
      action,
      targetType: 'sender-rule',
      targetId: id,
      ownerId,
      details: { ...auditDetails({ ...names, pattern }), ...details },
    });
    await recordAuditMany(tx, actor, [
      ...toCreate.map((r) => entry('sender-rule.create', r.id, r.pattern, { action: r.action })),
      ...toUpdate.map((r) =>
        entry('sender-rule.update', r.id, r.pattern, { action: wanted.get(r.pattern)!.action, previousAction: r.action }),
      ),
      ...toDelete.map((r) => entry('sender-rule.delete', r.id, r.pattern, { action: r.action })),
      {
        action: 'sender-rule.import',
        targetType: ref.kind,
        targetId: ref.id,
        ownerId,
        details: {
          ...listAuditDetails(names),
          created: report.created,
          updated: report.updated,
          unchanged: report.unchanged,
          deleted: report.deleted,
          total,
          replace: input.replace,
        },
      },
    ]);
    return report;
  };
  // a dry run writes nothing: its transaction only takes the lock, so its report is what the import would do now
  return deps.prisma.$transaction(run, IMPORT_TX);
}

/** Many rules and audit rows: longer than TENANT_TX. */
const IMPORT_TX = { maxWait: 10_000, timeout: 60_000 } as const;

/**
 * A list as CSV (`pattern,action`, in pattern order; cells a spreadsheet would run as a formula get csvCell's
 * apostrophe), which the panel's import reads again, with the list's name (the domain, or the mailbox's address) for
 * the file. Who may: as for listing it.
 */
export async function exportSenderRulesCsv(prisma: PrismaClient, actor: Actor, ref: RuleListRef): Promise<{ name: string; csv: string }> {
  const list = await openRuleList(prisma, actor, ref, 'read');
  const names = await describeList(prisma, ref);
  const name = mailboxAddress(names) ?? names.domain.name;
  const rows = await prisma.senderRule.findMany({
    where: list.where,
    select: { pattern: true, action: true },
    orderBy: { pattern: 'asc' },
  });
  return { name, csv: [csvLine(['pattern', 'action']), ...rows.map((r) => csvLine([r.pattern, r.action]))].join('') };
}
