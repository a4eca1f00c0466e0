'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { CopyList } from '@/components/copy-list';
import { Alert, buttonClass, Card } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { Domain } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';

/** Answers of POST …/verify whose detail (written for the owner) is the reason to show. */
const EXPLAINED = new Set<ClientProblem['code']>([
  'DNS_RECORD_MISSING',
  'DNS_RECORD_MISMATCH',
  'DNS_UNAVAILABLE',
  'ALREADY_EXISTS',
  'NOT_FOUND',
]);

/**
 * A pending domain: the TXT record that proves ownership, how to publish it, and the Verify button
 * (POST /domains/{id}/verify). A refusal shows the API's reason; success reloads the page as verified.
 */
export function VerifyDomain({ domain }: { domain: Pick<Domain, 'id' | 'name' | 'claimExpiresAt' | 'verificationRecord'> }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const record = domain.verificationRecord;
  if (!record) return null;

  async function verify() {
    setBusy(true);
    setProblem(undefined);
    const r = await api<Domain>('POST', `/domains/${domain.id}/verify`);
    if (r.ok) {
      router.replace(`/domains/${domain.id}?verified=1`);
      router.refresh();
      return;
    }
    setBusy(false);
    setProblem(r.problem);
  }

  const found = Array.isArray(problem?.details?.found) ? (problem.details.found as unknown[]).map(String) : [];
  const rows = [
    { label: 'Name', value: record.name, copy: 'record name' },
    { label: 'Type', value: record.type, copy: false },
    { label: 'Value', value: record.value, copy: 'record value' },
  ];
  return (
    <Card
      id="verification"
      title="Verify that you own this domain"
      description={
        domain.claimExpiresAt
          ? `Until then nothing is hosted: mail for ${domain.name} is refused and its mailboxes cannot sign in. This claim expires ${formatDateTime(domain.claimExpiresAt)} unless verified.`
          : `Until then nothing is hosted: mail for ${domain.name} is refused and its mailboxes cannot sign in.`
      }
    >
      <ol className="mb-4 list-decimal space-y-1 pl-5 text-sm text-slate-700">
        <li>At your DNS provider (where you manage {domain.name}), add a TXT record with the name and value below.</li>
        <li>Wait until it is published: often a minute, sometimes up to an hour, depending on your provider.</li>
        <li>Press Verify. Once verified, the record may be removed.</li>
      </ol>
      <CopyList rows={rows} labelClass="w-24" />
      <p className="mt-2 text-xs text-slate-600">
        Some providers add the domain to the name themselves: then enter only <span className="font-mono">_mailroom</span> as the name.
      </p>
      <div className="mt-4 space-y-3">
        {problem && (
          <Alert>
            <p>{EXPLAINED.has(problem.code) && problem.detail ? problem.detail : problemMessage(problem)}</p>
            {problem.code === 'DNS_RECORD_MISMATCH' && found.length > 0 && (
              <p className="mt-1">
                Found: <span className="font-mono break-all">{found.join(', ')}</span>
              </p>
            )}
          </Alert>
        )}
        <button type="button" onClick={verify} disabled={!hydrated || busy} className={buttonClass('primary')}>
          {busy ? 'Checking DNS…' : 'Verify'}
        </button>
      </div>
    </Card>
  );
}
