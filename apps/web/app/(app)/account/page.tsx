import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { SessionsCard } from '@/components/sessions-card';
import { ownSignInLog, RecentSignIns } from '@/components/sign-ins';
import { apiGet, requireMe } from '@/lib/api';
import { formatDateTime, formatPasswordChanged } from '@/lib/format';
import type { Passkey, SessionList, TwoFactorStatus } from '@/lib/types';
import { ChangePasswordForm } from './change-password-form';
import { PasskeysSection } from './passkeys';
import { TwoFactorSection } from './two-factor-section';

export const metadata: Metadata = { title: 'Account' };

export default async function AccountPage() {
  const me = await requireMe();
  const who = me.user?.email ?? me.mailbox?.address ?? '';
  const sessions = await apiGet<SessionList>('/auth/sessions');
  const passkeys = me.user && me.authMethod === 'session' ? (await apiGet<{ items: Passkey[] }>('/me/passkeys')).items : null;
  const twoFactor = await apiGet<TwoFactorStatus>('/me/2fa');
  return (
    <>
      <PageHeader title={me.mailbox ? 'Change password' : 'Account'} description={`Signed in as ${who}`} />
      <div className="grid max-w-3xl grid-cols-1 gap-8">
        {me.user && (
          <Card title="Profile">
            <dl className="grid grid-cols-1 gap-3 text-sm sm:grid-cols-2">
              <div>
                <dt className="font-medium text-slate-600">Email</dt>
                <dd className="break-all text-slate-900">{me.user.email}</dd>
              </div>
              <div>
                <dt className="font-medium text-slate-600">Role</dt>
                <dd className="text-slate-900">{me.user.role === 'ADMIN' ? 'Administrator' : 'Domain owner'}</dd>
              </div>
              <div>
                <dt className="font-medium text-slate-600">Last sign-in</dt>
                <dd className="text-slate-900">{formatDateTime(me.user.lastLoginAt)}</dd>
              </div>
              <div>
                <dt className="font-medium text-slate-600">Password last changed</dt>
                <dd className="text-slate-900">{formatPasswordChanged(me.user.passwordChangedAt)}</dd>
              </div>
            </dl>
          </Card>
        )}
        {/* A panel user's own log; a mailbox user reads their mailbox's on their home. */}
        {me.user && me.authMethod === 'session' && (
          <RecentSignIns log={ownSignInLog} logPath="/account/sign-ins" passwordChangedAt={me.user.passwordChangedAt} />
        )}
        <Card
          id="password"
          title={me.mailbox ? 'Mailbox password' : 'Change password'}
          description={
            me.mailbox
              ? `This is the password your mail program uses, too: update it there afterwards. Last changed: ${formatPasswordChanged(me.mailbox.passwordChangedAt)}.`
              : 'Choose a long password you do not use anywhere else.'
          }
        >
          <ChangePasswordForm username={who} />
        </Card>
        {passkeys && (
          <Card
            id="passkeys"
            title="Passkeys"
            description="Sign in without a password, with your device's screen lock or a security key. Add one per device."
          >
            <PasskeysSection initial={passkeys} />
          </Card>
        )}
        <Card id="two-factor" title="Two-factor authentication" description="A code from an app on your phone, asked after your password.">
          <TwoFactorSection status={twoFactor} account={who} />
        </Card>
        <SessionsCard list={sessions} />
      </div>
    </>
  );
}
