'use client';
import { useState } from 'react';
import { Form } from '@/components/form';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { CSRF_HEADER, problemMessage, useSession, type ClientProblem } from '@/lib/client';
import type { ErrorCode } from '@/lib/types';

/**
 * The Apple profile (.mobileconfig) of a mailbox: a plain download link (the device asks for the password), or, when
 * the user types the password here, a POST that embeds it (never put into a URL).
 */
export function ProfileDownload({ path }: { path: string }) {
  const { csrfToken } = useSession();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!password) return;
    setBusy(true);
    setProblem(undefined);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (csrfToken) headers[CSRF_HEADER] = csrfToken;
      const res = await fetch(`/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify({ password }), credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) {
        const p = (await res.json().catch(() => ({}))) as { code?: ErrorCode; title?: string; detail?: string };
        return setProblem({ status: res.status, code: p.code ?? 'INTERNAL', title: p.title ?? `Request failed (${res.status})`, detail: p.detail });
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      // The server names the file (Content-Disposition), as it does for the plain link.
      a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'mailbox.mobileconfig';
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setPassword('');
    } catch {
      setProblem({ status: 0, code: 'NETWORK', title: 'The server could not be reached. Check your connection and try again.' });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700">
        iPhone, iPad and Mac: open this profile on the device and install it in Settings. Mail then asks for the mailbox password, unless you include it
        below.
      </p>
      <a href={`/api/v1${path}`} download className={buttonClass('secondary', 'sm')} data-testid="profile-download">
        Download profile (.mobileconfig)
      </a>
      <Form onSubmit={submit} className="flex flex-wrap items-end gap-2" label="Profile with password">
        <div className="min-w-0 flex-1">
          <Field id="profile-password" label="Include the password (optional)">
            <input id="profile-password" type="password" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} className={inputClass} {...describedBy('profile-password')} />
          </Field>
        </div>
        <button type="submit" className={buttonClass('secondary', 'sm')} disabled={busy || !password}>
          {busy ? 'Preparing…' : 'Download with password'}
        </button>
      </Form>
      {problem && <Alert>{problemMessage(problem)}</Alert>}
    </div>
  );
}
