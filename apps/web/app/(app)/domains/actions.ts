'use server';
import { checked, field, invalidForm, isValid, optionalField, secret, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import { parseByteInput } from '@/lib/format';
import type { Alias, Domain, Mailbox } from '@/lib/types';
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
  const aliasOf = field(fd, 'aliasOf');
  const description = field(fd, 'description');
  return submitToApi<Domain>(prev, fd, {
    method: 'POST',
    path: '/domains',
    body: {
      name,
      ...(ownerId ? { ownerId } : {}),
      ...(aliasOf ? { aliasOf } : {}),
      ...(description ? { description } : {}),
      ...(quota != null ? { defaultQuotaBytes: quota } : {}),
      ...(checked(fd, 'verified') ? { verified: true } : {}),
    },
    success: (d) => `/domains/${d.id}`,
    inputs: { defaultQuotaBytes: 'defaultQuota' },
    refusal: (p) => (p.code === 'ALREADY_EXISTS' ? { message: `${p.detail ?? 'That domain is already hosted here'}.` } : undefined),
  });
}

export async function createMailbox(domainId: string, domainName: string, prev: FormState, fd: FormData): Promise<FormState> {
  const localPart = field(fd, 'localPart');
  const password = secret(fd, 'password');
  const quotaBytes = parseByteInput(field(fd, 'quota'));
  const problems = {
    localPart: localPartProblem(localPart),
    quota: quotaBytes === undefined ? SIZE_HINT : undefined,
    password: password ? undefined : 'Enter a password.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<Mailbox>(prev, fd, {
    method: 'POST',
    path: `/domains/${domainId}/mailboxes`,
    body: { localPart, password, displayName: optionalField(fd, 'displayName'), quotaBytes },
    success: (m) => `/mailboxes/${m.id}?created=1`,
    inputs: { quotaBytes: 'quota' },
    refusal: (p) =>
      p.code === 'ALREADY_EXISTS'
        ? {
            message: 'That address is already taken by a mailbox or alias.',
            fields: { localPart: `${localPart.toLowerCase()}@${domainName} already exists.` },
          }
        : undefined,
  });
}

function parseCount(v: string): number | null | undefined {
  if (!v) return null;
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Description and default quota; admins also the domain's own limits (the form has those inputs only for them). */
export async function updateDomainSettings(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const defaultQuotaBytes = parseByteInput(field(fd, 'defaultQuota'));
  const limits = fd.has('maxMailboxes');
  const maxMailboxes = parseCount(field(fd, 'maxMailboxes'));
  const maxStorageBytes = parseByteInput(field(fd, 'maxStorage'));
  const problems = {
    defaultQuota: defaultQuotaBytes === undefined ? SIZE_HINT : undefined,
    maxMailboxes: limits && maxMailboxes === undefined ? 'A whole number, or empty for no limit.' : undefined,
    maxStorage: limits && maxStorageBytes === undefined ? 'A size like 10 GB, or empty for no limit.' : undefined,
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi(prev, fd, {
    method: 'PATCH',
    path: `/domains/${domainId}`,
    body: { description: optionalField(fd, 'description'), defaultQuotaBytes, ...(limits ? { maxMailboxes, maxStorageBytes } : {}) },
    inputs: { defaultQuotaBytes: 'defaultQuota', maxStorageBytes: 'maxStorage' },
    success: () => ({ message: 'Saved.' }),
  });
}

/** An alias domain's new target, or an empty domain made an alias domain (the API checks both). */
export async function pointAliasDomain(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const aliasOf = field(fd, 'aliasOf');
  if (!aliasOf) return invalidForm(prev, fd, { aliasOf: 'Choose the domain its mail should go to.' });
  return submitToApi<Domain>(prev, fd, {
    method: 'PATCH',
    path: `/domains/${domainId}`,
    body: { aliasOf },
    success: (d) => ({ message: `Its mail now goes to ${d.aliasOf?.name ?? 'the chosen domain'}.` }),
  });
}

/** "80, 95" → [80, 95]; '' → null (the operator default); undefined when it is not a list of whole percentages. */
function parseThresholds(t: string): number[] | null | undefined {
  if (!t) return null;
  const parts = t.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((p) => /^\d{1,3}%?$/.test(p))) return undefined;
  const nums = parts.map((p) => Number(p.replace('%', '')));
  return nums.every((n) => n >= 1 && n <= 100) && new Set(nums).size === nums.length && nums.length <= 5 ? nums : undefined;
}

export async function updateQuotaWarnings(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const quotaWarningThresholds = parseThresholds(field(fd, 'quotaWarningThresholds'));
  if (quotaWarningThresholds === undefined)
    return invalidForm(prev, fd, { quotaWarningThresholds: 'Up to five different whole percentages from 1 to 100, like 80, 95.' });
  return submitToApi(prev, fd, {
    method: 'PATCH',
    path: `/domains/${domainId}`,
    body: { quotaWarningThresholds },
    success: () => ({ message: 'Saved.' }),
  });
}

/** The domain's greylisting: "on", "off" or "default" (null: the operator's INGRESS_GREYLIST). */
export async function updateGreylisting(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const choice = field(fd, 'greylisting');
  const greylisting = choice === 'on' ? true : choice === 'off' ? false : choice === 'default' ? null : undefined;
  if (greylisting === undefined) return invalidForm(prev, fd, { greylisting: 'Choose one of the three.' });
  return submitToApi(prev, fd, {
    method: 'PATCH',
    path: `/domains/${domainId}`,
    body: { greylisting },
    success: () => ({ message: 'Saved.' }),
  });
}

const MTA_STS_CHOICES = { off: null, testing: 'testing', enforce: 'enforce', none: 'none' } as const;

/** The domain's MTA-STS mode: "off" (not published), "testing", "enforce" or "none" (withdrawing a policy). */
export async function updateMtaSts(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const choice = field(fd, 'mode');
  if (!Object.hasOwn(MTA_STS_CHOICES, choice)) return invalidForm(prev, fd, { mode: 'Choose one of the modes.' });
  return submitToApi(prev, fd, {
    method: 'PUT',
    path: `/domains/${domainId}/mta-sts`,
    body: { mode: MTA_STS_CHOICES[choice as keyof typeof MTA_STS_CHOICES] },
    success: () => ({ message: 'Saved. The records to publish for it are listed under DNS records.' }),
  });
}

/** An alias (or, with "catchAll" ticked, the catch-all) delivering to the chosen mailboxes of the domain. */
export async function createAlias(domainId: string, prev: FormState, fd: FormData): Promise<FormState> {
  const catchAll = checked(fd, 'catchAll');
  const localPart = field(fd, 'localPart');
  const destinations = fd.getAll('destinations').filter((s): s is string => typeof s === 'string' && s !== '');
  const problems = {
    localPart: catchAll ? undefined : localPartProblem(localPart),
    destinations: destinations.length ? undefined : 'Choose at least one mailbox.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<Alias>(prev, fd, {
    method: 'POST',
    path: `/domains/${domainId}/aliases`,
    body: { localPart: catchAll ? null : localPart, destinations },
    success: (a) => ({ message: `${a.localPart === null ? 'Catch-all' : a.address} created.` }),
    refusal: (p) => (p.code === 'ALREADY_EXISTS' ? { message: 'That address already exists as a mailbox or alias.' } : undefined),
  });
}
