import { describe, expect, it } from 'vitest';
import { ConnectionCounter, RateLimiter } from './limits.ts';

describe('RateLimiter', () => {
  it('allows a burst of perMinute, then refills continuously', () => {
    let now = 1_000_000;
    const r = new RateLimiter(3, () => now);
    expect([r.take('a'), r.take('a'), r.take('a'), r.take('a')]).toEqual([true, true, true, false]);
    expect(r.take('b')).toBe(true); // keys are independent
    now += 20_000; // one token back (3 per minute)
    expect([r.take('a'), r.take('a')]).toEqual([true, false]);
    now += 10 * 60_000;
    expect([r.take('a'), r.take('a'), r.take('a'), r.take('a')]).toEqual([true, true, true, false]);
  });

  it('is unlimited at 0', () => {
    const r = new RateLimiter(0);
    expect(Array.from({ length: 1000 }, () => r.take('a')).every(Boolean)).toBe(true);
  });
});

describe('ConnectionCounter', () => {
  it('counts per key and frees slots on release', () => {
    const c = new ConnectionCounter(2);
    expect([c.acquire('x'), c.acquire('x'), c.acquire('x'), c.acquire('y')]).toEqual([true, true, false, true]);
    c.release('x');
    expect(c.acquire('x')).toBe(true);
    c.release('x');
    c.release('x');
    expect(c.count('x')).toBe(0);
  });
});
