'use server';
// Actions of forms that several pages show (components/).
import { field, invalidForm, isValid, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import { senderListPath } from '@/lib/sender-lists';
import type { CreatedAppPassword, SenderRule } from '@/lib/types';
import { MAX_LOGIN_DELAY_SECONDS, MAX_RETENTION_DAYS, wholeNumber } from '@/lib/validation';

/** RFC 2449 POP3 policy of a domain or a mailbox (components/pop3-policy-form.tsx). */
export async function updatePop3Policy(kind: 'domain' | 'mailbox', id: string, prev: FormState, fd: FormData): Promise<FormState> {
  const delay = field(fd, 'loginDelaySeconds');
  const loginDelaySeconds = delay === '' ? null : wholeNumber(delay, MAX_LOGIN_DELAY_SECONDS);
  const mode = field(fd, 'mode');
  const days = wholeNumber(field(fd, 'retentionDays'), MAX_RETENTION_DAYS);
  const inherited = kind === 'mailbox' ? "the domain's setting" : "the server's default";
  const problems = {
    loginDelaySeconds:
      loginDelaySeconds === undefined ? `Whole seconds from 0 to ${MAX_LOGIN_DELAY_SECONDS}, or empty to use ${inherited}.` : undefined,
    retentionDays: mode === 'days' && !days ? `Whole days from 1 to ${MAX_RETENTION_DAYS}.` : undefined,
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  const retentionDays = mode === 'never' ? 'never' : mode === 'retrieved' ? 0 : mode === 'days' ? days! : null;
  return submitToApi(prev, fd, {
    method: 'PATCH',
    path: `/${kind === 'domain' ? 'domains' : 'mailboxes'}/${id}`,
    body: { loginDelaySeconds, retentionDays },
    success: () => ({ message: 'POP3 policy saved.' }),
  });
}

/** A POP3 app password for one device: the answer carries it, shown once (components/app-passwords-card.tsx). */
export async function createAppPassword(
  mailboxId: string,
  prev: FormState<CreatedAppPassword>,
  fd: FormData,
): Promise<FormState<CreatedAppPassword>> {
  const name = field(fd, 'name');
  if (!name) return invalidForm(prev, fd, { name: 'Enter a device name.' });
  return submitToApi<CreatedAppPassword, CreatedAppPassword>(prev, fd, {
    method: 'POST',
    path: `/mailboxes/${mailboxId}/app-passwords`,
    body: { name },
    success: (created) => ({ data: created }),
  });
}

/**
 * A sender (address or domain) a domain's list or a mailbox's blocks or never greylists (components/sender-rules.tsx).
 * The API normalizes and checks the pattern, and whether the signed-in user may change that list.
 */
export async function createSenderRule(kind: 'domain' | 'mailbox', id: string, prev: FormState, fd: FormData): Promise<FormState> {
  const pattern = field(fd, 'pattern');
  const action = field(fd, 'action');
  const problems = {
    pattern: pattern ? undefined : 'Enter an address (name@example.com) or a domain (example.com).',
    action: action === 'block' || action === 'allow' ? undefined : 'Choose block or allow.',
  };
  if (!isValid(problems)) return invalidForm(prev, fd, problems);
  return submitToApi<SenderRule>(prev, fd, {
    method: 'POST',
    path: senderListPath({ kind, id }),
    body: { pattern, action },
    success: (r) => ({ message: `${r.pattern} ${r.action === 'block' ? 'blocked' : 'allowed'}.` }),
    refusal: (p) =>
      p.code === 'ALREADY_EXISTS'
        ? { message: 'That sender is listed already: change its rule instead.', fields: { pattern: 'already listed' } }
        : undefined,
  });
}
