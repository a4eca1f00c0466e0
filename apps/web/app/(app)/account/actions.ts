'use server';
import { secret, type FormState } from '@/lib/forms';
import { invalidForm, isValid, submitToApi } from '@/lib/form-action';

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
    refusal: (p) => (p.code === 'INVALID_CREDENTIALS' ? { message: 'Some fields need attention.', fields: { currentPassword: 'That is not your current password.' } } : undefined),
  });
}
