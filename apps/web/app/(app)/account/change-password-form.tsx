'use client';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { PasswordField } from '@/components/password-field';
import { describedBy, Field, inputClass } from '@/components/ui';
import { changeOwnPassword } from './actions';

export function ChangePasswordForm({ username }: { username: string }) {
  // live check of the repeated password; the inputs are uncontrolled and the action reads the form's own data
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  return (
    <ApiForm action={changeOwnPassword} className="space-y-4" resetOnSuccess onAnswer={(s) => s.ok && setConfirm('')}>
      {(f) => {
        const confirmError = f.errors.confirmPassword ?? (confirm && confirm !== next ? 'The two new passwords differ.' : undefined);
        return (
          <>
            <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
            <Field id="current-password" label="Current password" error={f.errors.currentPassword}>
              <input
                id="current-password"
                name="currentPassword"
                type="password"
                autoComplete="current-password"
                required
                className={inputClass}
                {...describedBy('current-password', f.errors.currentPassword)}
              />
            </Field>
            <PasswordField id="new-password" name="newPassword" label="New password" onChange={setNext} error={f.errors.newPassword} />
            <Field id="confirm-password" label="Repeat new password" error={confirmError}>
              <input
                id="confirm-password"
                name="confirmPassword"
                type="password"
                autoComplete="new-password"
                onChange={(e) => setConfirm(e.target.value)}
                required
                className={inputClass}
                {...describedBy('confirm-password', confirmError)}
              />
            </Field>
            <SubmitButton pending={f.pending} label="Change password" pendingLabel="Changing…" />
          </>
        );
      }}
    </ApiForm>
  );
}
