'use client';
import { useState } from 'react';
import { useApi } from '@/lib/client';
import { useHydrated } from '@/lib/use-hydrated';
import { cx } from './ui';

export function SignOutButton({ className }: { className?: string }) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  return (
    <button
      type="button"
      disabled={busy || !hydrated}
      className={cx('rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100', className)}
      onClick={async () => {
        setBusy(true);
        await api('POST', '/auth/logout');
        window.location.assign('/login');
      }}
    >
      {busy ? 'Signing out…' : 'Sign out'}
    </button>
  );
}
