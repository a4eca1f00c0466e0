/**
 * MTA-STS (RFC 8461) for a domain: an owner chooses a mode, Mailroom serves the policy at
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt` (through the panel's origin) and lists the DNS records that
 * announce it. The policy's MX hosts are MAILROOM_MX_HOST's, so `enforce` is accepted only while the domain's MX
 * records all name one of them: an MTA-STS sender refuses to deliver to any other MX, a backup MX elsewhere included.
 */
import type { PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import { isMtaStsMode, mtaStsDomainFromHost, mtaStsPolicyText, mtaStsRecordValue, MTA_STS_PATH } from '../mta-sts.ts';
import type { DomainMtaSts, MtaStsMode, SetMtaStsBody } from '../schemas/mta-sts.ts';
import { recordAudit } from './audit.ts';
import { amongHosts, hostList } from './dns.ts';
import { findVisibleDomain } from './domains.ts';
import { findHostedDomain } from './hosted-domains.ts';
import { type Actor, requireUser } from './principal.ts';
import { iso, notFound, type DomainOnboarding, type ServiceDeps } from './shared.ts';

type MtaStsSettings = Pick<DomainOnboarding, 'mxHosts' | 'mtaStsMaxAgeSeconds'>;

/** The policy Mailroom serves for a domain in `mode`. */
export function domainMtaStsPolicy(o: MtaStsSettings, mode: MtaStsMode): string {
  return mtaStsPolicyText(
    mode,
    o.mxHosts.map((h) => h.host),
    o.mtaStsMaxAgeSeconds,
  );
}

const select = { id: true, name: true, ownerId: true, mtaStsMode: true, mtaStsChangedAt: true } as const;

async function describe(
  prisma: PrismaClient,
  o: MtaStsSettings,
  d: { id: string; name: string; mtaStsMode: string | null; mtaStsChangedAt: Date | null },
): Promise<DomainMtaSts> {
  const mode = isMtaStsMode(d.mtaStsMode) ? d.mtaStsMode : null;
  const policy = mode ? domainMtaStsPolicy(o, mode) : null;
  const served = mode !== null && (await findHostedDomain(prisma, d.name)) !== null;
  const cachedUntil = d.mtaStsChangedAt ? new Date(d.mtaStsChangedAt.getTime() + o.mtaStsMaxAgeSeconds * 1000) : null;
  return {
    domainId: d.id,
    domain: d.name,
    mode,
    changedAt: iso(d.mtaStsChangedAt),
    maxAgeSeconds: o.mtaStsMaxAgeSeconds,
    policyUrl: `https://mta-sts.${d.name}${MTA_STS_PATH}`,
    policy,
    record: policy ? { type: 'TXT', name: `_mta-sts.${d.name}`, value: mtaStsRecordValue(policy) } : null,
    served,
    previousPolicyCachedUntil: iso(cachedUntil),
  };
}

/** GET /domains/{id}/mta-sts. */
export async function getDomainMtaSts(
  deps: Pick<ServiceDeps, 'prisma' | 'onboarding'>,
  actor: Actor,
  domainId: string,
): Promise<DomainMtaSts> {
  const p = requireUser(actor, 'domains:read');
  return describe(deps.prisma, deps.onboarding, await findVisibleDomain(deps.prisma, p, domainId, select));
}

/**
 * Enforce only while every MX record of the domain names one of Mailroom's MX hosts: an MTA-STS sender would refuse to deliver
 * to any other (RFC 8461 §4.1), so a backup MX elsewhere would stop receiving mail. DNS_RECORD_MISSING without MX
 * records, DNS_RECORD_MISMATCH naming the others, DNS_UNAVAILABLE when the resolver fails.
 */
async function assertMxAllOurs(deps: Pick<ServiceDeps, 'onboarding'>, name: string): Promise<void> {
  const mx = await deps.onboarding.dns.mx(name);
  const hosts = deps.onboarding.mxHosts;
  const expected = { type: 'MX', name, value: hosts.map((h) => h.host).join(', ') };
  if (!mx.length) {
    throw new AppError('DNS_RECORD_MISSING', `${name} has no MX record. Point it at ${hostList(hosts)} before enforcing MTA-STS.`, {
      details: { expected, found: [] },
    });
  }
  const others = mx.filter((m) => !amongHosts(hosts, m.exchange));
  if (others.length) {
    throw new AppError(
      'DNS_RECORD_MISMATCH',
      `${name} has MX records for other hosts (${others.map((m) => m.exchange).join(', ')}): senders enforcing MTA-STS would ` +
        `refuse to deliver to them. Remove them (or stay in testing mode) before enforcing.`,
      { details: { expected, found: mx.map((m) => `${m.priority} ${m.exchange}`).slice(0, 10) } },
    );
  }
}

/**
 * PUT /domains/{id}/mta-sts: sets the mode (audited `domain.mta-sts` with the previous and the new mode). Leaving
 * `enforce` for "not published" directly is refused (CONFLICT): senders keep an enforced policy for max_age, and only
 * a policy in mode `none` tells them to drop it (RFC 8461 §8.3).
 */
export async function setDomainMtaSts(deps: ServiceDeps, actor: Actor, domainId: string, input: SetMtaStsBody): Promise<DomainMtaSts> {
  const p = requireUser(actor, 'domains:write');
  const current = await findVisibleDomain(deps.prisma, p, domainId, select);
  if (input.mode === current.mtaStsMode) return describe(deps.prisma, deps.onboarding, current);
  if (input.mode === null && current.mtaStsMode === 'enforce') {
    throw new AppError(
      'CONFLICT',
      'Senders keep an enforced policy for its max_age. Set the mode to none first (it tells them to drop it), and stop ' +
        'publishing once previousPolicyCachedUntil has passed.',
      { details: { mode: current.mtaStsMode } },
    );
  }
  if (input.mode === 'enforce') await assertMxAllOurs(deps, current.name);
  const updated = await deps.prisma.$transaction(async (tx) => {
    // the previous mode is checked again in the UPDATE: of two changes at once, the second sees the first's
    const changed = await tx.domain.updateMany({
      where: { id: domainId, mtaStsMode: current.mtaStsMode },
      data: { mtaStsMode: input.mode, mtaStsChangedAt: new Date(), mtaStsRecordStatus: null },
    });
    if (changed.count === 0) throw new AppError('CONFLICT', 'The MTA-STS mode changed meanwhile; reload and try again');
    await recordAudit(tx, actor, {
      action: 'domain.mta-sts',
      targetType: 'domain',
      targetId: domainId,
      ownerId: current.ownerId,
      details: { domainId, name: current.name, from: current.mtaStsMode, to: input.mode },
    });
    return tx.domain.findUniqueOrThrow({ where: { id: domainId }, select });
  });
  return describe(deps.prisma, deps.onboarding, updated);
}

/**
 * The public policy file for a request's Host (`mta-sts.<domain>`): only for a hosted domain (verified, active, owner
 * not disabled; an alias domain's target active) with a mode set. Anything else is NOT_FOUND, the same answer whether
 * the domain is unknown, pending or has no policy.
 */
export async function servedMtaStsPolicy(prisma: PrismaClient, o: MtaStsSettings, host: string | undefined): Promise<string> {
  const name = mtaStsDomainFromHost(host);
  const hosted = name ? await findHostedDomain(prisma, name) : null;
  if (!hosted || !isMtaStsMode(hosted.mtaStsMode)) throw notFound('MTA-STS policy');
  return domainMtaStsPolicy(o, hosted.mtaStsMode);
}
