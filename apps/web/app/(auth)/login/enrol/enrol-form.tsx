'use client';
// Sign-in under MAILROOM_REQUIRE_2FA: the password step left an enrolment challenge; enrol TOTP, then the session starts.
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { RecoveryCodesList } from '@/components/recovery-codes';
import { TotpEnrolmentForm } from '@/components/totp-enrolment';
import { Alert, buttonClass } from '@/components/ui';
import { callApi, problemMessage, type ClientProblem } from '@/lib/client';
import type { TotpEnrolment } from '@/lib/types';
import { confirmEnrolment } from '../actions';
import { ENROL_CHALLENGE_KEY } from '../second-factor-step';

export function EnrolForm() {
  const started = useRef(false);
  const [challenge, setChallenge] = useState<string | null>();
  const [enrolment, setEnrolment] = useState<TotpEnrolment>();
  const [done, setDone] = useState<{ codes: string[]; account: string }>();
  const [problem, setProblem] = useState<ClientProblem>();

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const c = sessionStorage.getItem(ENROL_CHALLENGE_KEY);
    setChallenge(c);
    if (!c) return;
    void callApi<TotpEnrolment>('POST', '/auth/login/enrol/totp', { challenge: c }, null).then((r) =>
      r.ok ? setEnrolment(r.data) : setProblem(r.problem),
    );
  }, []);

  if (challenge === null || problem?.code === 'CHALLENGE_INVALID') {
    return (
      <div className="mt-6 space-y-4">
        <Alert>{problem ? problemMessage(problem) : 'Sign in with your password first.'}</Alert>
        <Link href="/login" className={buttonClass('primary')}>
          Back to sign-in
        </Link>
      </div>
    );
  }
  if (done) {
    return (
      <div className="mt-6 space-y-4">
        <Alert tone="success">Two-factor authentication is on. From now on, sign-in asks for a code from your app.</Alert>
        <RecoveryCodesList codes={done.codes} account={done.account} />
        <button type="button" className={buttonClass('primary')} onClick={() => window.location.assign('/')}>
          I saved my codes, continue
        </button>
      </div>
    );
  }
  return (
    <div className="mt-6">
      {!enrolment && !problem && <p className="text-sm text-slate-600">Preparing your QR code…</p>}
      {!enrolment && problem && <Alert>{problemMessage(problem)}</Alert>}
      {enrolment && (
        <TotpEnrolmentForm
          enrolment={enrolment}
          action={confirmEnrolment}
          onDone={(d) => {
            sessionStorage.removeItem(ENROL_CHALLENGE_KEY);
            setDone(d);
          }}
          onRefused={(s) => s.code === 'CHALLENGE_INVALID' && setProblem({ status: 400, code: s.code, title: s.message ?? '' })}
        >
          <input type="hidden" name="challenge" value={challenge ?? ''} />
        </TotpEnrolmentForm>
      )}
    </div>
  );
}
