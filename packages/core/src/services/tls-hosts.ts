/**
 * Certificates on demand for the names hosted domains point at the panel. Each hosted domain's DNS guide has
 * `autoconfig.<domain>` and `autodiscover.<domain>` (and, with MTA-STS, `mta-sts.<domain>`) name the panel's host, so
 * the HTTPS proxy in front of the panel needs a certificate for every one of them: mailcow's ACME client adds them to
 * its certificate; with Mailroom a proxy that obtains certificates on demand (Caddy's `on_demand_tls { ask <url> }`)
 * asks this first, and requests one only for a name Mailroom serves. Without that question anyone could point names
 * at the proxy and make it request certificates for them, using up the CA's rate limits.
 */
import type { PrismaClient } from '@mailroom/db';
import { normalizeDomain } from '../address.ts';
import { isMtaStsMode } from '../mta-sts.ts';
import { sameHost } from './dns.ts';
import { findHostedDomain } from './hosted-domains.ts';
import type { DomainOnboarding } from './shared.ts';

/** The first labels a hosted domain's records point at the panel, and whether each needs an MTA-STS mode. */
const PANEL_NAMES: Record<string, { needsMtaSts: boolean }> = {
  autoconfig: { needsMtaSts: false },
  autodiscover: { needsMtaSts: false },
  'mta-sts': { needsMtaSts: true },
};

/**
 * Whether a TLS proxy may obtain a certificate for `host`: the panel's own host (MAILROOM_WEB_HOST), or
 * `autoconfig.`, `autodiscover.` or `mta-sts.` and a hosted domain (verified, active, owner not disabled; an alias
 * domain's target active), the last only while the domain has an MTA-STS mode. Case and a root dot do not matter; an
 * IP address, a port, a wildcard or any other name is refused.
 */
export async function certificateHostAllowed(prisma: PrismaClient, o: Pick<DomainOnboarding, 'webHost'>, host: string): Promise<boolean> {
  const name = normalizeDomain(host.trim().replace(/\.$/, ''));
  if (!name) return false;
  if (sameHost(name, o.webHost)) return true;
  const dot = name.indexOf('.');
  const kind = dot > 0 ? PANEL_NAMES[name.slice(0, dot)] : undefined;
  if (!kind) return false;
  const hosted = await findHostedDomain(prisma, name.slice(dot + 1));
  return hosted !== null && (!kind.needsMtaSts || isMtaStsMode(hosted.mtaStsMode));
}
