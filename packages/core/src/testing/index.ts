export * from './dns-server.ts';
