'use client';
import type { ReactNode } from 'react';
import { SessionContext, type SessionInfo } from '@/lib/client';

export function SessionProvider({ value, children }: { value: SessionInfo; children: ReactNode }) {
  return <SessionContext value={value}>{children}</SessionContext>;
}
