import { apiGet } from '@/lib/api';
import type { ClientSettings } from '@/lib/types';
import { CopyButton } from './copy-button';
import { CopyList, type CopyRow } from './copy-list';
import { ProfileDownload } from './profile-download';
import { Card } from './ui';

/**
 * What a mailbox user types into their mail client, and the Apple profile. Host and ports come from the API
 * (GET /client-settings: MAILROOM_PUBLIC_HOST and the public POP3 ports), the same source as autoconfig answers.
 * `profilePath` is the API path of the mailbox's .mobileconfig (`/mailboxes/{id}/mobileconfig` or `/me/mobileconfig`).
 * `appPasswordsOnly`: POP3 refuses the mailbox password for this mailbox (AppPasswordList.effectiveRequiredForPop3), so
 * mail programs are told to use an app password (the card with them sits below this one on both pages).
 */
export async function ConnectionCard({
  address,
  profilePath,
  appPasswordsOnly,
  id = 'connection-settings',
}: {
  address: string;
  profilePath: string;
  appPasswordsOnly: boolean;
  id?: string;
}) {
  const cfg = await apiGet<ClientSettings>('/client-settings');
  const rows: CopyRow[] = [
    { label: 'Server', value: cfg.host, copy: true },
    { label: 'Username', value: address, copy: true },
    { label: 'POP3S port (TLS)', value: String(cfg.pop3sPort), copy: true },
    { label: 'POP3 port (STARTTLS)', value: String(cfg.pop3Port), copy: true },
    { label: 'Security', value: `SSL/TLS on ${cfg.pop3sPort}, or STARTTLS (STLS) on ${cfg.pop3Port}` },
    {
      label: 'Password',
      value: appPasswordsOnly
        ? 'An app password, one per device (see App passwords below; normal password authentication). POP3 refuses the mailbox password'
        : 'The mailbox password (normal password authentication)',
    },
  ];
  if (cfg.submission) {
    rows.push({
      label: 'Outgoing (SMTP)',
      value: `${cfg.submission.host}:${cfg.submission.port} (${cfg.submission.security === 'tls' ? 'SSL/TLS' : 'STARTTLS'})`,
      copy: true,
    });
  }
  const summary = [
    `Incoming mail (POP3) for ${address}`,
    `Server: ${cfg.host}`,
    `Username: ${address}`,
    `Port ${cfg.pop3sPort} with SSL/TLS (recommended), or port ${cfg.pop3Port} with STARTTLS`,
    appPasswordsOnly
      ? 'Authentication: normal password, with an app password (the mailbox password is refused)'
      : 'Authentication: normal password',
  ].join('\n');
  return (
    <Card
      id={id}
      title="Connection settings"
      description="Hand these to the person using this mailbox."
      actions={<CopyButton value={summary} label="all settings" />}
    >
      <CopyList rows={rows} />
      <div className="mt-4 space-y-2 border-t border-slate-100 pt-4">
        <h3 className="text-sm font-semibold text-slate-900">Automatic setup</h3>
        <p className="text-sm text-slate-700">
          Thunderbird and Outlook fill these in by themselves from the address once the domain&apos;s{' '}
          <span className="font-mono">autoconfig</span> and <span className="font-mono">autodiscover</span> host names point at this panel.
        </p>
        <ProfileDownload path={profilePath} appPasswordsOnly={appPasswordsOnly} />
      </div>
    </Card>
  );
}
