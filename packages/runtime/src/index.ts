export * from './env.ts';
export * from './logger.ts';
export * from './tls.ts';
export * from './shutdown.ts';
export * from './secret.ts';
export * from './ops-server.ts';
export * from './service.ts';
export * from './node-flags.ts';
