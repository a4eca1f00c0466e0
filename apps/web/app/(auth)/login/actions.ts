'use server';
import { field, invalidForm, isValid, secret, type FormState } from '@/lib/forms';
import { submitToApi } from '@/lib/form-action';
import type { LoginResponse, Me } from '@/lib/types';
import type { EnrolDone } from '@/components/totp-enrolment';

/** What the password step leads to when it does not end in a session. */
export type LoginNext = { challenge: string; methods: string[] } | { enrol: string };

export async function signIn(prev: FormState<LoginNext>, fd: FormData): Promise<FormState<LoginNext>> {
  const email = field(fd, 'email');
  const password = secret(fd, 'password');
  const missing = {
    email: email ? undefined : 'Enter your email or mailbox address.',
    password: password ? undefined : 'Enter your password.',
  };
  if (!isValid(missing)) return invalidForm(prev, fd, missing);
  return submitToApi<LoginResponse, LoginNext>(prev, fd, {
    method: 'POST',
    path: '/auth/login',
    body: { email, password },
    success: (r) =>
      'secondFactorRequired' in r
        ? { data: { challenge: r.challenge, methods: r.methods }, refresh: false }
        : 'enrolmentRequired' in r
          ? { data: { enrol: r.challenge }, refresh: false }
          : '/',
  });
}

export async function verifySecondFactor(prev: FormState, fd: FormData): Promise<FormState> {
  const code = field(fd, 'code');
  if (!code) return invalidForm(prev, fd, { code: 'Enter the code.' });
  return submitToApi(prev, fd, {
    method: 'POST',
    path: '/auth/login/second-factor',
    body: { challenge: field(fd, 'challenge'), code, method: field(fd, 'method') },
    success: () => '/',
  });
}

/** The first code of the enrolment MAILROOM_REQUIRE_2FA forced after the password: the session starts. */
export async function confirmEnrolment(prev: FormState<EnrolDone>, fd: FormData): Promise<FormState<EnrolDone>> {
  const code = field(fd, 'code');
  if (!code) return invalidForm(prev, fd, { code: 'Enter the code.' });
  return submitToApi<Me & { recoveryCodes: string[] }, EnrolDone>(prev, fd, {
    method: 'POST',
    path: '/auth/login/enrol/totp/confirm',
    body: { challenge: field(fd, 'challenge'), code },
    success: (r) => ({ data: { codes: r.recoveryCodes, account: r.user?.email ?? r.mailbox?.address ?? '' }, refresh: false }),
  });
}
