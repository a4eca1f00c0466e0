import { describe, expect, test } from 'vitest';
import { assertWebhookUrl, blockedAddressReason, guardedLookup } from './webhook-guard.ts';

describe('blockedAddressReason', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved / broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
    ['fd12:3456::1', 'unique local (private)'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped IPv6'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['not-an-ip', 'not an IP address'],
  ])('%s is refused (%s)', (ip, why) => {
    expect(blockedAddressReason(ip)).toBe(why);
  });

  test.each(['203.0.113.10', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2001:db8::1', '2606:4700::1111'])('%s is public', (ip) => {
    expect(blockedAddressReason(ip)).toBeNull();
  });
});

describe('assertWebhookUrl and guardedLookup', () => {
  const resolvesTo = (ips: string[]) => async () => ips;

  test('a name with any internal address is refused at registration; WEBHOOK_ALLOW_PRIVATE lets it through', async () => {
    await expect(
      assertWebhookUrl('https://hooks.example/x', { allowPrivate: false, lookup: resolvesTo(['203.0.113.5', '10.0.0.1']) }),
    ).rejects.toMatchObject({ code: 'WEBHOOK_URL_FORBIDDEN' });
    await expect(
      assertWebhookUrl('https://hooks.example/x', { allowPrivate: false, lookup: resolvesTo(['203.0.113.5']) }),
    ).resolves.toBeInstanceOf(URL);
    await expect(assertWebhookUrl('http://127.0.0.1/', { allowPrivate: true })).resolves.toBeInstanceOf(URL);
    await expect(assertWebhookUrl('gopher://203.0.113.5/', { allowPrivate: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  test('the connection-time lookup hands out only the addresses it checked, and refuses internal ones', async () => {
    const run = (ips: string[], allowPrivate = false) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((resolve) => {
        guardedLookup({ allowPrivate, lookup: resolvesTo(ips) })('h.example', {}, (err, address) =>
          resolve({ err, address: String(address) }),
        );
      });
    expect(await run(['203.0.113.5'])).toEqual({ err: null, address: '203.0.113.5' });
    const refused = await run(['127.0.0.1']);
    expect(refused.err?.code).toBe('WEBHOOK_URL_FORBIDDEN');
    expect((await run(['127.0.0.1'], true)).address).toBe('127.0.0.1');
  });
});
