'use client';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { TextField } from '@/components/ui';
import { problemMessage, type ClientProblem } from '@/lib/client';
import { signIn, type LoginNext } from './actions';
import { ENROL_CHALLENGE_KEY, SecondFactorStep } from './second-factor-step';

export function LoginForm() {
  const [step, setStep] = useState<{ challenge: string; methods: string[] }>();
  const [restart, setRestart] = useState<{ n: number; problem?: ClientProblem }>({ n: 0 });

  if (step) {
    return (
      <SecondFactorStep
        challenge={step.challenge}
        methods={step.methods}
        onRestart={(problem) => {
          setStep(undefined);
          setRestart((r) => ({ n: r.n + 1, problem }));
        }}
      />
    );
  }

  return (
    <ApiForm<LoginNext>
      key={restart.n}
      action={signIn}
      className="mt-6 space-y-4"
      notice={restart.problem && problemMessage(restart.problem)}
      onAnswer={(s) => {
        if (!s.ok || !s.data) return;
        if ('enrol' in s.data) {
          sessionStorage.setItem(ENROL_CHALLENGE_KEY, s.data.enrol);
          window.location.assign('/login/enrol');
        } else setStep(s.data);
      }}
    >
      {(f) => (
        <>
          <TextField
            id="email"
            label="Email or mailbox address"
            error={f.errors.email}
            name="email"
            type="email"
            autoComplete="username"
            required
            defaultValue={f.value('email')}
          />
          <TextField
            id="password"
            label="Password"
            error={f.errors.password}
            name="password"
            type="password"
            autoComplete="current-password"
            required
          />
          <SubmitButton pending={f.pending || !!f.state.ok} label="Sign in" pendingLabel="Signing in…" className="w-full" />
        </>
      )}
    </ApiForm>
  );
}
