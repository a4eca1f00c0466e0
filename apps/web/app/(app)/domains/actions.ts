'use server';
import { checked, field, optionalField, secret, type FormState } from '@/lib/forms';
import { invalidForm, isValid, submitToApi } from '@/lib/form-action';
import { parseByteInput } from '@/lib/format';
import type { Domain, Mailbox } from '@/lib/types';
import { localPartProblem, looksLikeDomainName } from '@/lib/validation';

const SIZE_HINT = 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.';

export async function createDomain(prev: FormState, fd: FormData): Promise<FormState> {
  const name = field(fd, 'name');
  const quota = parseByteInput(field(fd, 'defaultQuota'));
  const problems = {
    name: looksLikeDomainName(name) ? undefined : 'Enter a domain name like example.com (no trailing dot, no IP address).',
    defaultQuota: quota === undefined ? SIZE_HINT : undefined,
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  const ownerId = field(fd, 'ownerId');
  const description = field(fd, 'description');
  return submitToApi<Domain>(prev, fd, {
    method: 'POST',
    path: '/domains',
    body: { name, ...(ownerId ? { ownerId } : {}), ...(description ? { description } : {}), ...(quota != null ? { defaultQuotaBytes: quota } : {}), ...(checked(fd, 'verified') ? { verified: true } : {}) },
    success: (d) => `/domains/${d.id}`,
    inputs: { defaultQuotaBytes: 'defaultQuota' },
    refusal: (p) => (p.code === 'ALREADY_EXISTS' ? { message: `${p.detail ?? 'That domain is already hosted here'}.` } : undefined),
  });
}

export async function createMailbox(domainId: string, domainName: string, prev: FormState, fd: FormData): Promise<FormState> {
  const localPart = field(fd, 'localPart');
  const password = secret(fd, 'password');
  const quotaBytes = parseByteInput(field(fd, 'quota'));
  const problems = { localPart: localPartProblem(localPart), quota: quotaBytes === undefined ? SIZE_HINT : undefined, password: password ? undefined : 'Enter a password.' };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<Mailbox>(prev, fd, {
    method: 'POST',
    path: `/domains/${domainId}/mailboxes`,
    body: { localPart, password, displayName: optionalField(fd, 'displayName'), quotaBytes },
    success: (m) => `/mailboxes/${m.id}?created=1`,
    inputs: { quotaBytes: 'quota' },
    refusal: (p) =>
      p.code === 'ALREADY_EXISTS' ? { message: 'That address is already taken by a mailbox or alias.', fields: { localPart: `${localPart.toLowerCase()}@${domainName} already exists.` } } : undefined,
  });
}
