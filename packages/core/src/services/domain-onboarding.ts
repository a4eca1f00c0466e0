import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { Domain, DnsRecord, DomainDns } from '../schemas/domains.ts';
import { recordAudit } from './audit.ts';
import { amongHosts, hostList, sameHost, type DnsLookup } from './dns.ts';
import { aliasOfSelect, findVisibleDomain, getDomain, pruneExpiredClaims, removeCompetingClaims, verificationRecord } from './domains.ts';
import { type Actor, requireUser } from './principal.ts';
import { isMtaStsMode, mtaStsPolicyId, mtaStsRecordNames, mtaStsRecordValue } from '../mta-sts.ts';
import type { MtaStsMode } from '../schemas/mta-sts.ts';
import { domainMtaStsPolicy } from './mta-sts.ts';
import { lockDomainName, type DomainOnboarding, type ServiceDeps } from './shared.ts';

type CheckStatus = 'ok' | 'missing' | 'different';

/**
 * Proves control of a pending domain: resolves `_mailroom.<name>` TXT and, when it holds `mailroom-verify=<token>`,
 * marks the domain verified (audited `domain.verified`) and removes every other owner's pending claim for the name in
 * the same transaction (audited `domain.claim_removed`). First to verify wins: a claim removed that way answers
 * ALREADY_EXISTS. A missing or different record leaves the domain pending: DNS_RECORD_MISSING / DNS_RECORD_MISMATCH
 * (422) with the expected record and what DNS answered. Already verified domains are returned unchanged.
 */
export async function verifyDomain(deps: ServiceDeps, actor: Actor, domainId: string): Promise<Domain> {
  const p = requireUser(actor, 'domains:write');
  await deps.prisma.$transaction((tx) => pruneExpiredClaims(tx));
  const select = { id: true, name: true, ownerId: true, verifiedAt: true, verificationToken: true };
  const d = await findVisibleDomain(deps.prisma, p, domainId, select);
  if (d.verifiedAt) return getDomain(deps.prisma, actor, domainId);
  const expected = verificationRecord(d.name, d.verificationToken!);
  const found = await deps.onboarding.dns.txt(expected.name);
  if (!found.includes(expected.value)) {
    const ours = found.filter((v) => v.startsWith('mailroom-verify='));
    const code = found.length ? 'DNS_RECORD_MISMATCH' : 'DNS_RECORD_MISSING';
    const other = ours.length ? ' (a different mailroom-verify token is published)' : '';
    const message = found.length
      ? `${expected.name} has TXT record(s), but none is "${expected.value}"${other}. The domain stays pending.`
      : `No TXT record found at ${expected.name}. Publish "${expected.value}" there (DNS changes can take a while to ` +
        'appear) and try again. The domain stays pending.';
    throw new AppError(code, message, { details: { expected, found: found.slice(0, 10).map((v) => v.slice(0, 255)) } });
  }
  await deps.prisma.$transaction(async (tx) => {
    await lockDomainName(tx, d.name);
    const winner = await tx.domain.findFirst({ where: { name: d.name, verifiedAt: { not: null } }, select: { id: true } });
    if (winner && winner.id !== d.id) {
      throw new AppError('ALREADY_EXISTS', 'Another owner verified this domain first; this claim was removed', {
        details: { name: d.name },
      });
    }
    const updated = await tx.domain.updateMany({
      where: { id: d.id, verifiedAt: null },
      data: { verifiedAt: new Date(), verificationToken: null, claimExpiresAt: null },
    });
    if (updated.count === 0) throw new AppError('NOT_FOUND', 'Domain not found (its claim expired or was removed)');
    await recordAudit(tx, actor, {
      action: 'domain.verified',
      targetType: 'domain',
      targetId: d.id,
      ownerId: d.ownerId,
      details: { name: d.name, domainId: d.id, method: 'dns-txt' },
    });
    await removeCompetingClaims(tx, actor, d.name, d.id);
  });
  return getDomain(deps.prisma, actor, domainId);
}

/**
 * What an alias domain leaves out: its addresses sign in as the same name at the target, which the autoconfig answers
 * say, while RFC 6186's SRV records would make clients sign in with the alias address itself.
 */
const NOT_FOR_ALIAS_DOMAINS = new Set<DnsRecord['purpose']>(['pop3s-srv', 'pop3-srv']);
const DMARC_SUGGESTION = 'v=DMARC1; p=none';

const CLIENT_SETTINGS_NOTE = 'The autoconfig/autodiscover CNAMEs and SRV records let mail clients find their settings; they are optional.';
export const DNS_NOTES = [
  'Mailroom only receives mail; it sends none. SPF and DKIM records belong to whatever service sends mail for this domain, not to Mailroom.',
  'The DMARC record is a suggestion: p=none reports without rejecting; tighten it once your senders pass SPF/DKIM.',
  CLIENT_SETTINGS_NOTE,
];

interface PlannedRecord extends Omit<DnsRecord, 'check'> {
  probe: (dns: DnsLookup) => Promise<{ status: CheckStatus; found: string[] }>;
}

function compare(found: string[], matches: (v: string) => boolean): { status: CheckStatus; found: string[] } {
  return { status: !found.length ? 'missing' : found.some(matches) ? 'ok' : 'different', found };
}

/** The records a domain needs (and recommends), each with how to check it live. */
export function plannedRecords(
  o: Omit<DomainOnboarding, 'dns' | 'claimTtlHours'>,
  name: string,
  token: string | null,
  mtaStsMode: MtaStsMode | null = null,
): PlannedRecord[] {
  const records: PlannedRecord[] = [];
  if (token) {
    const v = verificationRecord(name, token);
    records.push({
      purpose: 'verification',
      type: 'TXT',
      name: v.name,
      value: v.value,
      priority: null,
      required: true,
      description: 'Proves you control the domain; then press Verify (POST /api/v1/domains/{id}/verify). It may be removed afterwards.',
      probe: async (dns) => compare(await dns.txt(v.name), (x) => x === v.value),
    });
  }
  for (const [i, mx] of o.mxHosts.entries()) {
    records.push({
      purpose: 'mx',
      type: 'MX',
      name,
      value: mx.host,
      priority: mx.priority,
      // the most preferred host is what makes mail arrive; the others are there for when it does not answer
      required: i === 0,
      description:
        i === 0
          ? `Routes the domain's mail to Mailroom. Replace other MX records unless they forward to ${hostList(o.mxHosts)}.`
          : `Another of Mailroom's mail hosts: senders try it when the ones with a lower priority do not answer.`,
      probe: async (dns) => {
        const found = await dns.mx(name);
        const { status } = compare(
          found.map((m) => m.exchange),
          (x) => sameHost(x, mx.host),
        );
        return { status, found: found.map((m) => `${m.priority} ${m.exchange}`) };
      },
    });
  }
  for (const [purpose, label] of [
    ['autoconfig', 'Thunderbird and others'],
    ['autodiscover', 'Outlook'],
  ] as const) {
    const host = `${purpose}.${name}`;
    records.push({
      purpose,
      type: 'CNAME',
      name: host,
      value: o.webHost,
      priority: null,
      required: false,
      description: `Lets ${label} find the mail settings automatically.`,
      probe: async (dns) => compare(await dns.cname(host), (x) => sameHost(x, o.webHost)),
    });
  }
  for (const [purpose, service, port] of [
    ['pop3s-srv', '_pop3s._tcp', o.pop3sPort],
    ['pop3-srv', '_pop3._tcp', o.pop3Port],
  ] as const) {
    const host = `${service}.${name}`;
    records.push({
      purpose,
      type: 'SRV',
      name: host,
      value: `0 1 ${port} ${o.mailHost}`,
      priority: null,
      required: false,
      description: `RFC 6186 service record: POP3${purpose === 'pop3s-srv' ? ' over TLS' : ' with STARTTLS'} at ${o.mailHost}:${port}.`,
      probe: async (dns) => {
        const srv = await dns.srv(host);
        const shown = srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`);
        return { status: compare(shown, () => srv.some((s) => s.port === port && sameHost(s.name, o.mailHost))).status, found: shown };
      },
    });
  }
  const dmarc = `_dmarc.${name}`;
  records.push({
    purpose: 'dmarc',
    type: 'TXT',
    name: dmarc,
    value: `${DMARC_SUGGESTION}; rua=mailto:postmaster@${name}`,
    priority: null,
    required: false,
    description: 'Suggested DMARC policy (any valid v=DMARC1 record counts as present).',
    probe: async (dns) => compare(await dns.txt(dmarc), (x) => /^v=DMARC1(;|$)/i.test(x.trim())),
  });
  if (mtaStsMode) records.push(...mtaStsRecords(o, name, mtaStsMode));
  return records;
}

/**
 * What DNS publishes at `_mta-sts.<name>` against the id of the policy served now for `mode`: ok when a TXT value
 * announces it (Check DNS and the periodic re-check both read it this way).
 */
async function probeMtaStsRecord(
  dns: DnsLookup,
  o: Pick<DomainOnboarding, 'mxHosts' | 'mtaStsMaxAgeSeconds'>,
  name: string,
  mode: MtaStsMode,
): Promise<{ status: CheckStatus; found: string[] }> {
  const id = mtaStsPolicyId(domainMtaStsPolicy(o, mode));
  return compare(await dns.txt(`_mta-sts.${name}`), (x) => mtaStsRecordNames(x, id));
}

/**
 * With an MTA-STS mode set: the host senders fetch the policy from (the panel's, which answers for every hosted
 * domain), the TXT record announcing the policy's id, and a TLS-RPT record (RFC 8460) so senders report what failed.
 */
function mtaStsRecords(o: Omit<DomainOnboarding, 'dns' | 'claimTtlHours'>, name: string, mode: MtaStsMode): PlannedRecord[] {
  const host = `mta-sts.${name}`;
  const tlsRpt = `_smtp._tls.${name}`;
  return [
    {
      purpose: 'mta-sts-host',
      type: 'CNAME',
      name: host,
      value: o.webHost,
      priority: null,
      required: true,
      description: `MTA-STS: senders fetch the policy from https://${host}/.well-known/mta-sts.txt (the panel answers it; its TLS certificate must cover ${host}).`,
      probe: async (dns) => compare(await dns.cname(host), (x) => sameHost(x, o.webHost)),
    },
    {
      purpose: 'mta-sts',
      type: 'TXT',
      name: `_mta-sts.${name}`,
      value: mtaStsRecordValue(domainMtaStsPolicy(o, mode)),
      priority: null,
      required: true,
      description: 'MTA-STS: announces the policy; its id changes whenever the policy does, which tells senders to fetch it again.',
      probe: (dns) => probeMtaStsRecord(dns, o, name, mode),
    },
    {
      purpose: 'tls-rpt',
      type: 'TXT',
      name: tlsRpt,
      value: `v=TLSRPTv1; rua=mailto:postmaster@${name}`,
      priority: null,
      required: false,
      description:
        'TLS reporting (RFC 8460): senders mail a daily report of TLS failures to this address (any v=TLSRPTv1 record counts as present).',
      probe: async (dns) => compare(await dns.txt(tlsRpt), (x) => /^v=TLSRPTv1(;|$)/.test(x.trim())),
    },
  ];
}

/** GET /domains/{id}/dns: the records to publish and, with `check`, what DNS answers for each right now. */
export async function getDomainDns(
  deps: Pick<ServiceDeps, 'prisma' | 'onboarding'>,
  actor: Actor,
  domainId: string,
  opts: { check?: boolean | undefined },
): Promise<DomainDns> {
  const p = requireUser(actor, 'domains:read');
  const d = await findVisibleDomain(deps.prisma, p, domainId, {
    id: true,
    name: true,
    verifiedAt: true,
    verificationToken: true,
    mtaStsMode: true,
    ...aliasOfSelect,
  });
  // An alias domain's addresses sign in at its target: no SRV records, which would name the alias address as the login.
  const mtaSts = isMtaStsMode(d.mtaStsMode) ? d.mtaStsMode : null;
  const planned = plannedRecords(deps.onboarding, d.name, d.verifiedAt ? null : d.verificationToken, mtaSts).filter(
    (r) => !d.aliasOf || !NOT_FOR_ALIAS_DOMAINS.has(r.purpose),
  );
  const notes = d.aliasOf
    ? [
        `${d.name} is an alias domain of ${d.aliasOf.name}: mail to name@${d.name} is delivered to name@${d.aliasOf.name}. ` +
          `Mailboxes sign in with their ${d.aliasOf.name} address; the autoconfig and autodiscover records let mail clients ` +
          'set that up for an address here (they are optional; there are no POP3 SRV records: clients that use them would sign in with ' +
          'this domain).',
        ...DNS_NOTES.filter((n) => n !== CLIENT_SETTINGS_NOTE),
      ]
    : DNS_NOTES;
  const checks = opts.check ? await Promise.all(planned.map((r) => r.probe(deps.onboarding.dns))) : undefined;
  return {
    domainId: d.id,
    domain: d.name,
    verificationStatus: d.verifiedAt ? 'verified' : 'pending',
    records: planned.map(({ probe: _probe, ...r }, i) => ({ ...r, check: checks?.[i] ?? null })),
    notes,
    checkedAt: checks ? new Date().toISOString() : null,
  };
}

export interface RecheckResult {
  checked: number;
  flagged: { domainId: string; name: string; mxStatus: CheckStatus }[];
  /** Domains with an MTA-STS mode whose `_mta-sts` record is missing or names another policy id. */
  mtaStsFlagged: { domainId: string; name: string; status: CheckStatus }[];
  unavailable: number;
}

/**
 * Periodic re-check: resolves the MX of verified domains (least recently checked first) and stores lastDnsCheckAt and
 * mxStatus (ok when an MX record names one of the MX hosts, else missing / different), so the panel can flag a domain
 * whose mail no longer reaches Mailroom; for a domain with an MTA-STS mode, also whether its `_mta-sts` record names
 * the policy served now (mtaStsRecordStatus). A resolver failure leaves that domain's previous state, counts as
 * unavailable and moves it to the back of the rotation.
 */
export async function recheckDomains(
  prisma: PrismaClient,
  onboarding: Pick<DomainOnboarding, 'dns' | 'mxHosts' | 'mtaStsMaxAgeSeconds'>,
  opts: { limit?: number; olderThan?: Date } = {},
): Promise<RecheckResult> {
  const where: Prisma.DomainWhereInput = { verifiedAt: { not: null } };
  if (opts.olderThan) where.OR = [{ lastDnsCheckAt: null }, { lastDnsCheckAt: { lt: opts.olderThan } }];
  const domains = await prisma.domain.findMany({
    where,
    select: { id: true, name: true, mtaStsMode: true },
    orderBy: [{ lastDnsCheckAt: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
    take: opts.limit ?? 500,
  });
  const result: RecheckResult = { checked: 0, flagged: [], mtaStsFlagged: [], unavailable: 0 };
  for (const d of domains) {
    let status: CheckStatus;
    let mtaSts: CheckStatus | null = null;
    try {
      const mx = await onboarding.dns.mx(d.name);
      status = compare(
        mx.map((m) => m.exchange),
        (x) => amongHosts(onboarding.mxHosts, x),
      ).status;
      if (isMtaStsMode(d.mtaStsMode)) mtaSts = (await probeMtaStsRecord(onboarding.dns, onboarding, d.name, d.mtaStsMode)).status;
    } catch (err) {
      if (err instanceof AppError && err.code === 'DNS_UNAVAILABLE') {
        // Its MX state stays as it was, but it goes to the back of the rotation: domains whose DNS keeps failing must
        // not hold the head of every run (least recently checked first) and starve the others.
        await prisma.domain.updateMany({ where: { id: d.id }, data: { lastDnsCheckAt: new Date() } });
        result.unavailable++;
        continue;
      }
      throw err;
    }
    await prisma.domain.updateMany({ where: { id: d.id }, data: { mxStatus: status, lastDnsCheckAt: new Date() } });
    // only if the mode is still the one checked: a change meanwhile has a new id (and reset the status to null, as every
    // change of the mode does, so a domain without one needs no write here)
    if (mtaSts !== null)
      await prisma.domain.updateMany({ where: { id: d.id, mtaStsMode: d.mtaStsMode }, data: { mtaStsRecordStatus: mtaSts } });
    result.checked++;
    if (status !== 'ok') result.flagged.push({ domainId: d.id, name: d.name, mxStatus: status });
    if (mtaSts !== null && mtaSts !== 'ok') result.mtaStsFlagged.push({ domainId: d.id, name: d.name, status: mtaSts });
  }
  return result;
}
