'use client';
import { useState } from 'react';
import { CopyButton } from '@/components/copy-button';
import { Alert, Badge, buttonClass, Card } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { DnsRecord, DomainDns } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';

const PURPOSE: Record<DnsRecord['purpose'], string> = {
  verification: 'Ownership verification',
  mx: 'Mail delivery',
  autoconfig: 'Client setup (Thunderbird)',
  autodiscover: 'Client setup (Outlook)',
  'pop3s-srv': 'POP3 over TLS service',
  'pop3-srv': 'POP3 service',
  dmarc: 'DMARC policy',
  'mta-sts-host': 'MTA-STS policy host',
  'mta-sts': 'MTA-STS policy id',
  'tls-rpt': 'TLS reporting',
};

const STATUS = {
  ok: { tone: 'green', text: 'OK' },
  missing: { tone: 'red', text: 'Missing' },
  different: { tone: 'amber', text: 'Different' },
} as const;

/**
 * The records a domain should publish (GET /domains/{id}/dns) and, on "Check DNS", what DNS answers for each right now
 * (?check=true: ok / missing / different, with the values found).
 */
export function DnsRecords({ initial }: { initial: DomainDns }) {
  const api = useApi();
  const hydrated = useHydrated();
  const [dns, setDns] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();

  async function check() {
    setBusy(true);
    setProblem(undefined);
    const r = await api<DomainDns>('GET', `/domains/${initial.domainId}/dns?check=true`);
    setBusy(false);
    if (r.ok) setDns(r.data);
    else setProblem(r.problem);
  }

  const checked = dns.checkedAt !== null;
  return (
    <Card
      id="dns-records"
      title="DNS records"
      description={`Publish these at your DNS provider for ${dns.domain}. Required records make mail work; the others let mail clients set themselves up.`}
      actions={
        <button type="button" onClick={check} disabled={!hydrated || busy} className={buttonClass('secondary', 'sm')}>
          {busy ? 'Checking…' : 'Check DNS'}
        </button>
      }
    >
      <div className="space-y-4">
        {problem && <Alert>{problem.code === 'DNS_UNAVAILABLE' && problem.detail ? problem.detail : problemMessage(problem)}</Alert>}
        <p role="status" className="text-sm text-slate-700">
          {checked
            ? `Checked ${formatDateTime(dns.checkedAt)}: ${summary(dns.records)}`
            : 'Not checked yet: press Check DNS to compare with what DNS answers now.'}
        </p>
        <div className="-mx-4 overflow-x-auto sm:-mx-6">
          <table className="block min-w-full text-left text-sm sm:table">
            <caption className="sr-only">DNS records for {dns.domain}</caption>
            <thead className="border-b border-slate-200 text-xs font-semibold tracking-wide text-slate-600 uppercase max-sm:sr-only">
              <tr>
                <th scope="col" className="px-4 py-2 sm:px-6">
                  Type
                </th>
                <th scope="col" className="px-4 py-2">
                  Name
                </th>
                <th scope="col" className="px-4 py-2">
                  Value
                </th>
                <th scope="col" className="px-4 py-2">
                  Purpose
                </th>
                {checked && (
                  <th scope="col" className="px-4 py-2">
                    Check
                  </th>
                )}
              </tr>
            </thead>
            <tbody className="block divide-y divide-slate-100 sm:table-row-group">
              {dns.records.map((r) => {
                const value = r.priority !== null ? `${r.priority} ${r.value}` : r.value;
                return (
                  // several MX records share a purpose (one per MX host)
                  <tr key={`${r.purpose} ${r.value}`} data-purpose={r.purpose} className="block py-2 align-top sm:table-row sm:py-0">
                    <td className="block px-4 py-1 font-mono sm:table-cell sm:px-6 sm:py-3">{r.type}</td>
                    <td className="block px-4 py-1 font-mono break-all text-slate-900 sm:table-cell sm:py-3">{r.name}</td>
                    <td className="block px-4 py-1 sm:table-cell sm:py-3">
                      <div className="flex items-start gap-2">
                        <span className="min-w-0 font-mono break-all text-slate-900">{value}</span>
                        <CopyButton value={value} label={`${r.type} value for ${r.name}`} />
                      </div>
                    </td>
                    <td className="block px-4 py-1 text-slate-700 sm:table-cell sm:py-3">
                      <div className="flex flex-wrap items-center gap-2">
                        <span className="font-medium">{PURPOSE[r.purpose]}</span>
                        {r.required ? <Badge tone="brand">Required</Badge> : <Badge>Recommended</Badge>}
                      </div>
                      <p className="mt-1 text-xs text-slate-600">{r.description}</p>
                    </td>
                    {checked && (
                      <td className="block px-4 py-1 sm:table-cell sm:py-3">
                        {r.check ? (
                          <>
                            <Badge tone={STATUS[r.check.status].tone}>{STATUS[r.check.status].text}</Badge>
                            <p className="mt-1 text-xs break-all text-slate-600">
                              {r.check.found.length ? `Found: ${r.check.found.join(', ')}` : 'Nothing found'}
                            </p>
                          </>
                        ) : (
                          <span className="text-slate-500">—</span>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <ul className="list-disc space-y-1 pl-5 text-sm text-slate-700">
          {dns.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      </div>
    </Card>
  );
}

function summary(records: DnsRecord[]): string {
  const count = (s: 'ok' | 'missing' | 'different') => records.filter((r) => r.check?.status === s).length;
  return `${count('ok')} OK, ${count('missing')} missing, ${count('different')} different.`;
}
