export * from './dns-server.ts';
export * from './webauthn.ts';
export * from './proxy-balancer.ts';
