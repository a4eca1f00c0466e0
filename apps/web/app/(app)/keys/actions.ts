'use server';
import { field, invalidForm, isValid, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import type { ApiKeyScope, CreatedApiKey } from '@/lib/types';

/** An API key: the answer carries the key, shown once. */
export async function createApiKey(prev: FormState<CreatedApiKey>, fd: FormData): Promise<FormState<CreatedApiKey>> {
  const name = field(fd, 'name');
  const scopes = fd.getAll('scopes').filter((s): s is string => typeof s === 'string');
  const domainIds = fd.getAll('domainIds').filter((s): s is string => typeof s === 'string' && s !== '');
  const expires = field(fd, 'expiresAt');
  const expiresAt = /^\d{4}-\d{2}-\d{2}$/.test(expires) ? new Date(`${expires}T23:59:59Z`) : null;
  const problems = {
    name: name ? undefined : 'Enter a name.',
    scopes: scopes.length ? undefined : 'Choose at least one permission.',
    expiresAt: expires && (!expiresAt || Number.isNaN(expiresAt.getTime())) ? 'Enter a date.' : undefined,
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<CreatedApiKey, CreatedApiKey>(prev, fd, {
    method: 'POST',
    path: '/api-keys',
    body: {
      name,
      scopes: scopes as ApiKeyScope[],
      ...(domainIds.length ? { domainIds } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    success: (key) => ({ data: key }),
  });
}
