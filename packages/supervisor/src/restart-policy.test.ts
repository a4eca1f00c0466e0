import { describe, expect, it } from 'vitest';
import { RestartPolicy } from './restart-policy.ts';

const opts = { backoffMinMs: 500, backoffMaxMs: 30_000, stableAfterMs: 60_000, crashLoopRestarts: 5, crashLoopWindowMs: 60_000 };

describe('RestartPolicy', () => {
  it('doubles the delay from the minimum up to the maximum', () => {
    const p = new RestartPolicy({ ...opts, crashLoopRestarts: 100 });
    const delays: number[] = [];
    // crashes 20 s apart: never a crash loop, never stable
    for (let i = 0; i < 9; i++) {
      const d = p.onCrash(i * 20_000, 1_000);
      if (d.action !== 'restart') throw new Error('gave up');
      delays.push(d.delayMs);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('starts over at the minimum after a stable run', () => {
    const p = new RestartPolicy(opts);
    p.onCrash(0, 100);
    p.onCrash(1_000, 100);
    expect(p.onCrash(100_000, 60_000)).toEqual({ action: 'restart', delayMs: 500, attempt: 1 });
  });

  it('gives up at the N-th crash within the window, not when crashes are spread out', () => {
    const spread = new RestartPolicy(opts);
    for (let i = 0; i < 10; i++) expect(spread.onCrash(i * 16_000, 100).action).toBe('restart');
    const loop = new RestartPolicy(opts);
    for (let i = 0; i < 4; i++) expect(loop.onCrash(i * 1_000, 100).action).toBe('restart');
    expect(loop.onCrash(5_000, 100)).toEqual({ action: 'give-up', crashes: 5 });
  });
});
