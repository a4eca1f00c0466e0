// Browser-safe zod schemas shared by the API (validation + OpenAPI) and the web panel (forms).
export * from '../errors.ts';
export * from './common.ts';
export * from './auth.ts';
export * from './owners.ts';
export * from './domains.ts';
export * from './mailboxes.ts';
export * from './aliases.ts';
export * from './api-keys.ts';
export * from './audit.ts';
export * from './autoconfig.ts';
export * from './passkeys.ts';
export * from './second-factor.ts';
