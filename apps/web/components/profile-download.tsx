'use client';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { buttonClass, TextField } from '@/components/ui';
import { CSRF_HEADER, useSession } from '@/lib/client';
import { invalidForm, refusedState, secret, type FormState } from '@/lib/forms';
import { toClientProblem } from '@/lib/problems';

/**
 * The Apple profile (.mobileconfig) of a mailbox: a plain download link (the device asks for the password), or, when
 * the user types the password here, a POST that embeds it (never put into a URL).
 */
export function ProfileDownload({ path, appPasswordsOnly }: { path: string; appPasswordsOnly: boolean }) {
  const { csrfToken } = useSession();

  /** Runs in the browser: the answer is a file the browser saves, not a page. */
  async function download(prev: FormState, fd: FormData): Promise<FormState> {
    const password = secret(fd, 'password');
    if (!password) return invalidForm(prev, fd, { password: 'Enter the password to include.' });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (csrfToken) headers[CSRF_HEADER] = csrfToken;
    let res: Response;
    try {
      res = await fetch(`/api/v1${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ password }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      return refusedState(prev, fd, { status: 0, code: 'NETWORK', title: 'The server could not be reached.' });
    }
    if (!res.ok) return refusedState(prev, fd, toClientProblem(res.status, await res.json().catch(() => undefined)));
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    // The server names the file (Content-Disposition), as it does for the plain link.
    a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'mailbox.mobileconfig';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return { seq: prev.seq + 1, ok: true, fields: {} };
  }

  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700">
        iPhone, iPad and Mac: open this profile on the device and install it in Settings. Mail then asks for the{' '}
        {appPasswordsOnly ? 'password (an app password: POP3 refuses the mailbox password here)' : 'mailbox password'}, unless you include
        it below.
      </p>
      <a href={`/api/v1${path}`} download className={buttonClass('secondary', 'sm')} data-testid="profile-download">
        Download profile (.mobileconfig)
      </a>
      <ApiForm action={download} className="flex flex-wrap items-end gap-2" label="Profile with password" resetOnSuccess needsScript>
        {(f) => (
          <>
            <div className="min-w-0 flex-1">
              <TextField
                id="profile-password"
                label="Include the password (optional)"
                error={f.errors.password}
                name="password"
                type="password"
                autoComplete="off"
              />
            </div>
            <SubmitButton pending={f.pending} label="Download with password" pendingLabel="Preparing…" variant="secondary" size="sm" />
          </>
        )}
      </ApiForm>
    </div>
  );
}
