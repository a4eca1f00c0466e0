'use client';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { PasswordField } from '@/components/password-field';
import { TextField } from '@/components/ui';
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
            <TextField
              id="current-password"
              label="Current password"
              error={f.errors.currentPassword}
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
            />
            <PasswordField id="new-password" name="newPassword" label="New password" onChange={setNext} error={f.errors.newPassword} />
            <TextField
              id="confirm-password"
              label="Repeat new password"
              error={confirmError}
              name="confirmPassword"
              type="password"
              autoComplete="new-password"
              onChange={(e) => setConfirm(e.target.value)}
              required
            />
            <SubmitButton pending={f.pending} label="Change password" pendingLabel="Changing…" />
          </>
        );
      }}
    </ApiForm>
  );
}
