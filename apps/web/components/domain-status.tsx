// How a domain stands with ownership verification and its MX (server-safe; used by the dashboard and the domain page).
import type { Domain } from '@/lib/types';
import { formatDateTime } from '@/lib/format';
import { Badge } from './ui';

type DomainState = Pick<Domain, 'verificationStatus' | 'mxStatus' | 'claimExpiresAt' | 'active' | 'mtaStsMode' | 'mtaStsRecordStatus'>;

/** True when a verified domain's last MX re-check found no MX or one that names another host. */
export function mxNeedsAttention(d: DomainState): boolean {
  return d.verificationStatus === 'verified' && (d.mxStatus === 'missing' || d.mxStatus === 'different');
}

export const MX_PROBLEM: Record<'missing' | 'different', string> = {
  missing: 'No MX record',
  different: 'MX points elsewhere',
};

/** Badges: pending (with the claim's expiry) or verified, disabled, a failed MX re-check, and a stale MTA-STS record. */
export function DomainStatusBadges({ domain, expiry = false }: { domain: DomainState; expiry?: boolean }) {
  return (
    <>
      {domain.verificationStatus === 'pending' ? <Badge tone="amber">Pending verification</Badge> : <Badge tone="green">Verified</Badge>}
      {expiry && domain.verificationStatus === 'pending' && domain.claimExpiresAt && (
        <span className="text-xs text-slate-600">Claim expires {formatDateTime(domain.claimExpiresAt)}</span>
      )}
      {!domain.active && <Badge tone="red">Disabled</Badge>}
      {mxNeedsAttention(domain) && <Badge tone="red">{MX_PROBLEM[domain.mxStatus as 'missing' | 'different']}</Badge>}
      {domain.verificationStatus === 'verified' && domain.mtaStsMode && domain.mtaStsRecordStatus && domain.mtaStsRecordStatus !== 'ok' && (
        <Badge tone="amber">{domain.mtaStsRecordStatus === 'missing' ? 'No MTA-STS record' : 'MTA-STS record out of date'}</Badge>
      )}
    </>
  );
}
