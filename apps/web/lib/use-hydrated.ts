'use client';
import { useSyncExternalStore } from 'react';

const subscribe = () => () => undefined;

/**
 * false in the server-rendered HTML, true once React has hydrated. Controls that need JavaScript start disabled, so
 * nothing typed or clicked before hydration is silently lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
