export * from './errors.ts';
export * from './password.ts';
export * from './address.ts';
export * from './services/auth-throttle.ts';
export * from './services/mailbox-auth.ts';
