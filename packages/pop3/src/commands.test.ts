import { describe, expect, it } from 'vitest';
import { AUTHORIZATION_COMMANDS, TRANSACTION_COMMANDS } from './commands.ts';
import { isLoopback } from './session.ts';

describe('command tables', () => {
  it('AUTHORIZATION offers exactly the login commands (no APOP)', () => {
    expect(Object.keys(AUTHORIZATION_COMMANDS).sort()).toEqual(['AUTH', 'CAPA', 'PASS', 'QUIT', 'STLS', 'USER']);
  });

  it('TRANSACTION offers exactly the maildrop commands; no login or STLS once logged in', () => {
    expect(Object.keys(TRANSACTION_COMMANDS).sort()).toEqual([
      'CAPA',
      'DELE',
      'LIST',
      'NOOP',
      'QUIT',
      'RETR',
      'RSET',
      'STAT',
      'TOP',
      'UIDL',
    ]);
  });

  it('QUIT differs by state (only TRANSACTION enters UPDATE)', () => {
    expect(AUTHORIZATION_COMMANDS.QUIT).not.toBe(TRANSACTION_COMMANDS.QUIT);
  });
});

describe('isLoopback', () => {
  it('recognises IPv4, IPv6 and IPv4-mapped loopback, and nothing else', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(ip)).toBe(true);
    for (const ip of ['192.0.2.1', '::ffff:192.0.2.1', 'fd00::1', '10.127.0.1', '1127.0.0.1', '::11']) expect(isLoopback(ip)).toBe(false);
  });
});
