export * from './dns-server.ts';
export * from './webauthn.ts';
