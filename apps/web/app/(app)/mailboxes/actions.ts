'use server';
import { checked, field, invalidForm, optionalField, secret, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import { parseByteInput } from '@/lib/format';

export async function updateMailbox(mailboxId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const quotaBytes = parseByteInput(field(fd, 'quota'));
  if (quotaBytes === undefined) return invalidForm(prev, fd, { quota: 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' });
  return submitToApi(prev, fd, {
    method: 'PATCH',
    path: `/mailboxes/${mailboxId}`,
    body: { displayName: optionalField(fd, 'displayName'), quotaBytes, enabled: checked(fd, 'enabled') },
    success: () => ({ message: 'Changes saved.' }),
    inputs: { quotaBytes: 'quota' },
  });
}

export async function resetMailboxPassword(mailboxId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const password = secret(fd, 'password');
  if (!password) return invalidForm(prev, fd, { password: 'Enter a password.' });
  return submitToApi(prev, fd, {
    method: 'PUT',
    path: `/mailboxes/${mailboxId}/password`,
    body: { password },
    success: () => ({ message: 'Password changed. Give the new password to the mailbox user.', refresh: false }),
  });
}
