'use server';
import { field, invalidForm, isValid, secret, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import type { RecoveryCodes } from '@/lib/types';
import type { EnrolDone } from '@/components/totp-enrolment';

export async function changeOwnPassword(prev: FormState, fd: FormData): Promise<FormState> {
  const currentPassword = secret(fd, 'currentPassword');
  const newPassword = secret(fd, 'newPassword');
  const problems = {
    currentPassword: currentPassword ? undefined : 'Enter your current password.',
    newPassword: newPassword ? undefined : 'Enter a new password.',
    confirmPassword: secret(fd, 'confirmPassword') === newPassword ? undefined : 'The two new passwords differ.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi(prev, fd, {
    method: 'PUT',
    path: '/me/password',
    body: { currentPassword, newPassword },
    success: () => ({ message: 'Your password has been changed.' }),
    refusal: (p) =>
      p.code === 'INVALID_CREDENTIALS'
        ? { message: 'Some fields need attention.', fields: { currentPassword: 'That is not your current password.' } }
        : undefined,
  });
}

/** A 6-digit entry is a code from the app; anything else is the password. */
function proofOf(value: string): { code: string } | { password: string } {
  return /^\d{6}$/.test(value.trim()) ? { code: value.trim() } : { password: value };
}

/** The first code of a new authenticator app: two-factor authentication is on, the answer has the recovery codes. */
export async function confirmTotp(prev: FormState<EnrolDone>, fd: FormData): Promise<FormState<EnrolDone>> {
  const code = field(fd, 'code');
  if (!code) return invalidForm(prev, fd, { code: 'Enter the code.' });
  return submitToApi<RecoveryCodes, EnrolDone>(prev, fd, {
    method: 'POST',
    path: '/me/2fa/totp/confirm',
    body: { code },
    success: (r) => ({ data: { codes: r.recoveryCodes, account: '' }, refresh: false }),
  });
}

export async function regenerateRecoveryCodes(prev: FormState<string[]>, fd: FormData): Promise<FormState<string[]>> {
  const proof = secret(fd, 'proof');
  if (!proof) return invalidForm(prev, fd, { proof: 'Enter your password or a code.' });
  return submitToApi<RecoveryCodes, string[]>(prev, fd, {
    method: 'POST',
    path: '/me/2fa/recovery-codes',
    body: proofOf(proof),
    inputs: { password: 'proof', code: 'proof' },
    success: (r) => ({ data: r.recoveryCodes, refresh: false }),
  });
}

export async function disableTotp(prev: FormState, fd: FormData): Promise<FormState> {
  const proof = secret(fd, 'proof');
  if (!proof) return invalidForm(prev, fd, { proof: 'Enter your password or a code.' });
  return submitToApi(prev, fd, {
    method: 'POST',
    path: '/me/2fa/totp/disable',
    body: proofOf(proof),
    inputs: { password: 'proof', code: 'proof' },
  });
}

export async function renamePasskey(passkeyId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const name = field(fd, 'name');
  if (!name) return invalidForm(prev, fd, { name: 'Enter a name.' });
  return submitToApi(prev, fd, { method: 'PATCH', path: `/me/passkeys/${passkeyId}`, body: { name } });
}
