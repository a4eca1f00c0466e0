// The sender checks' DNS cache on its own: the lookup below stands in for node:dns (it answers from a table and counts
// the questions), and the clock is a variable. sender-auth.test.ts checks it against a real DNS server.
import { describe, expect, test } from 'vitest';
import { DnsCache } from './dns-cache.ts';

function dnsError(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

function setup(answers: Record<string, unknown>, maxEntries = 100) {
  let now = 1_000_000;
  const asked: string[] = [];
  const events: string[] = [];
  const cache = new DnsCache(
    async (name, type) => {
      asked.push(`${type} ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      const a = answers[`${type} ${name.toLowerCase()}`];
      if (a instanceof Error) throw a;
      if (a === undefined) throw dnsError('ENOTFOUND');
      return a;
    },
    { positiveMs: 300_000, negativeMs: 60_000, maxEntries, onLookup: (r) => events.push(r), now: () => now },
  );
  return { cache, asked, events, tick: (ms: number) => (now += ms) };
}

describe('DnsCache', () => {
  test('an answer is reused until its time is up, for any spelling of the name; then it is asked again', async () => {
    const { cache, asked, events, tick } = setup({ 'TXT example.org': [['v=spf1 -all']] });
    expect(await cache.resolve('example.org', 'TXT')).toEqual([['v=spf1 -all']]);
    expect(await cache.resolve('EXAMPLE.org.', 'txt')).toEqual([['v=spf1 -all']]);
    tick(299_999);
    await cache.resolve('example.org', 'TXT');
    expect(asked).toEqual(['TXT example.org']);
    tick(1);
    await cache.resolve('example.org', 'TXT');
    expect(asked).toHaveLength(2);
    expect(events).toEqual(['miss', 'hit', 'hit', 'miss']);
  });

  test('an asker that edits its answer does not change what the cache gives the next one', async () => {
    const { cache } = setup({
      'MX example.org': [
        { exchange: 'b.example.org', priority: 20 },
        { exchange: 'a.example.org', priority: 10 },
      ],
    });
    const first = (await cache.resolve('example.org', 'MX')) as { exchange: string; priority: number }[];
    first.sort((a, b) => a.priority - b.priority).pop();
    const second = (await cache.resolve('example.org', 'MX')) as { exchange: string }[];
    second[0]!.exchange = 'evil.example';
    expect(await cache.resolve('example.org', 'MX')).toEqual([
      { exchange: 'b.example.org', priority: 20 },
      { exchange: 'a.example.org', priority: 10 },
    ]);
  });

  test('questions in flight are asked once; their answer goes to every asker', async () => {
    const { cache, asked } = setup({ 'MX example.org': [{ exchange: 'mx.example.org', priority: 10 }] });
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.resolve('example.org', 'MX')));
    expect(asked).toEqual(['MX example.org']);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  test('"no such name" is kept for a minute; a timeout or SERVFAIL is not kept at all', async () => {
    const { cache, asked, tick } = setup({ 'TXT slow.example': dnsError('ETIMEOUT'), 'TXT broken.example': dnsError('ESERVFAIL') });
    for (let i = 0; i < 2; i++) await expect(cache.resolve('gone.example', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked).toEqual(['TXT gone.example']);
    tick(60_000);
    await expect(cache.resolve('gone.example', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      await expect(cache.resolve('slow.example', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
      await expect(cache.resolve('broken.example', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    }
    expect(asked.filter((q) => q !== 'TXT gone.example')).toEqual([
      'TXT slow.example',
      'TXT broken.example',
      'TXT slow.example',
      'TXT broken.example',
    ]);
  });

  test('abuse: a flood of distinct names keeps at most maxEntries answers, the oldest dropped first', async () => {
    const answers = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`A h${i}.example`, [`192.0.2.${i}`]]));
    const { cache, asked } = setup(answers, 10);
    for (let i = 0; i < 50; i++) await cache.resolve(`h${i}.example`, 'A');
    expect(cache.size).toBe(10);
    await cache.resolve('h49.example', 'A');
    expect(asked).toHaveLength(50);
    await cache.resolve('h0.example', 'A');
    expect(asked).toHaveLength(51);
  });
});
