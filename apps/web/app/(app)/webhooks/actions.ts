'use server';
import { field, invalidForm, isValid, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import type { CreatedWebhookEndpoint } from '@/lib/types';

/** A webhook endpoint: the answer carries its signing secret, shown once. */
export async function createWebhook(prev: FormState<CreatedWebhookEndpoint>, fd: FormData): Promise<FormState<CreatedWebhookEndpoint>> {
  const url = field(fd, 'url');
  const eventTypes = fd.getAll('eventTypes').filter((s): s is string => typeof s === 'string');
  const description = field(fd, 'description');
  const problems = {
    url: url ? undefined : 'Enter the endpoint URL.',
    eventTypes: eventTypes.length ? undefined : 'Choose at least one event.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<CreatedWebhookEndpoint, CreatedWebhookEndpoint>(prev, fd, {
    method: 'POST',
    path: '/webhooks',
    body: { url, eventTypes, ...(description ? { description } : {}) },
    success: (endpoint) => ({ data: endpoint }),
  });
}
