'use server';
import { checked, field, invalidForm, isValid, optionalField, secret, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import { parseByteInput } from '@/lib/format';
import type { Owner } from '@/lib/types';

function parseCount(v: string): number | null | undefined {
  if (!v) return null;
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

const COUNT_HINT = 'A whole number, or empty for no limit.';

/** Creates an owner (ownerId null) or saves one: email, name, limits, disabled, optional new password. */
export async function saveOwner(ownerId: string | null, prev: FormState, fd: FormData): Promise<FormState> {
  const email = field(fd, 'email');
  const password = secret(fd, 'password');
  const maxDomains = parseCount(field(fd, 'maxDomains'));
  const maxMailboxes = parseCount(field(fd, 'maxMailboxes'));
  const maxStorageBytes = parseByteInput(field(fd, 'maxStorage'));
  const problems = {
    email: email ? undefined : 'Enter an email address.',
    maxDomains: maxDomains === undefined ? COUNT_HINT : undefined,
    maxMailboxes: maxMailboxes === undefined ? COUNT_HINT : undefined,
    maxStorage: maxStorageBytes === undefined ? 'A size like 10 GB, or empty for no limit.' : undefined,
    password: ownerId || password ? undefined : 'Enter an initial password.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  const body = {
    email,
    displayName: optionalField(fd, 'displayName'),
    maxDomains,
    maxMailboxes,
    maxStorageBytes,
    ...(password ? { password } : {}),
    ...(ownerId ? { disabled: checked(fd, 'disabled') } : {}),
  };
  return submitToApi<Owner>(prev, fd, {
    method: ownerId ? 'PATCH' : 'POST',
    path: ownerId ? `/owners/${ownerId}` : '/owners',
    body,
    success: (o) => (ownerId ? { message: 'Owner saved.' } : `/admin/owners/${o.id}?created=1`),
    inputs: { maxStorageBytes: 'maxStorage' },
    refusal: (p) =>
      p.code === 'ALREADY_EXISTS'
        ? { message: 'Some fields need attention.', fields: { email: 'An account with this email already exists.' } }
        : undefined,
  });
}
