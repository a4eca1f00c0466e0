// SMTP test helpers: one transaction over a raw socket, and the tests' greylisting configuration.
import { parseTrustedProxies } from '@mailroom/core';
import { expect } from 'vitest';
import type { GreylistConfig } from '../greylist.ts';
import { WireClient } from './wire-client.ts';

/** One SMTP transaction from `from`; the replies to each RCPT, and DATA's when a recipient was accepted. */
export async function smtpAttempt(
  port: number,
  from: string,
  sender: string,
  rcpts: string[],
  subject = 'test message',
  helo = 'client.example',
) {
  const c = await WireClient.connect(port, '127.0.0.1', from);
  try {
    expect((await c.command(`EHLO ${helo}`)).code).toBe(250);
    expect((await c.command(`MAIL FROM:<${sender}>`)).code).toBe(250);
    const replies: string[] = [];
    for (const r of rcpts) {
      const reply = await c.command(`RCPT TO:<${r}>`);
      replies.push(`${reply.code} ${reply.text}`);
    }
    let data: number | null = null;
    if (replies.some((r) => r.startsWith('250'))) {
      expect((await c.command('DATA')).code).toBe(354);
      c.sendData(Buffer.from(`From: <${sender}>\r\nSubject: ${subject}\r\n\r\nhello\r\n`));
      data = (await c.read()).code;
    }
    return { replies, data };
  } finally {
    await c.quit();
  }
}

/** The tests' greylisting: on, an hour's delay, no auto-whitelist, nobody skipped or exempt, SPF passes greylisted. */
export const greylistConfig = (over: Partial<GreylistConfig> = {}): GreylistConfig => ({
  enabled: true,
  delaySeconds: 3600,
  retryWindowHours: 48,
  maxAgeDays: 35,
  autoWhitelistClients: 0,
  skip: parseTrustedProxies('none'),
  exempt: parseTrustedProxies('none'),
  skipSpfPass: false,
  ...over,
});
