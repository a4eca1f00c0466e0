import { serverConfig } from '@/lib/config';
import { CopyButton } from './copy-button';
import { Card } from './ui';

/** What a mailbox user types into their mail client. Host and ports come from the server's configuration. */
export function ConnectionCard({ address, id = 'connection-settings' }: { address: string; id?: string }) {
  const cfg = serverConfig();
  const rows: { label: string; value: string; copy?: boolean }[] = [
    { label: 'Server', value: cfg.publicHost, copy: true },
    { label: 'Username', value: address, copy: true },
    { label: 'POP3S port (TLS)', value: String(cfg.pop3sPublicPort), copy: true },
    { label: 'POP3 port (STARTTLS)', value: String(cfg.pop3PublicPort), copy: true },
    { label: 'Security', value: `SSL/TLS on ${cfg.pop3sPublicPort}, or STARTTLS (STLS) on ${cfg.pop3PublicPort}` },
    { label: 'Password', value: 'The mailbox password (normal password authentication)' },
  ];
  const summary = [
    `Incoming mail (POP3) for ${address}`,
    `Server: ${cfg.publicHost}`,
    `Username: ${address}`,
    `Port ${cfg.pop3sPublicPort} with SSL/TLS (recommended), or port ${cfg.pop3PublicPort} with STARTTLS`,
    'Authentication: normal password',
  ].join('\n');
  return (
    <Card id={id} title="Connection settings" description="Hand these to the person using this mailbox." actions={<CopyButton value={summary} label="all settings" />}>
      <dl className="divide-y divide-slate-100">
        {rows.map((r) => (
          <div key={r.label} className="flex flex-wrap items-center justify-between gap-2 py-2 sm:flex-nowrap">
            <dt className="w-44 shrink-0 text-sm font-medium text-slate-600">{r.label}</dt>
            <dd className={`min-w-0 flex-1 text-sm break-all text-slate-900 ${r.copy ? 'font-mono' : ''}`}>
              {r.value}
            </dd>
            {r.copy && (
              <dd className="shrink-0">
                <CopyButton value={r.value} label={r.label} />
              </dd>
            )}
          </div>
        ))}
      </dl>
    </Card>
  );
}
