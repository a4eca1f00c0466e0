/**
 * Mailbox CSV import benchmark (`npm run bench -- import`): 10,000 rows with given passwords POSTed to
 * /api/v1/domains/{id}/mailboxes/import over a real socket, argon2id at the default parameters (m=19456 KiB, t=2, p=1).
 *  1. The machine's argon2 capacity: as many raw argon2.hash calls in parallel as the hasher runs (one per core, on a
 *     thread pool sized by sizeThreadPoolForArgon2) for CAPACITY_SECONDS → hashes/s.
 *  2. The import: rows/s, and its share of that capacity (target ≥ 80%). Capacity is measured again afterwards, since
 *     the 2 cores are shared with whatever else runs; the share is given against both.
 * Nothing here asserts; it reports.
 */
import argon2 from 'argon2';
import { DEFAULT_ARGON2_PARAMS } from '@mailroom/core';
import { sizeThreadPoolForArgon2 } from '@mailroom/runtime';
import { buildApp } from '../src/app.ts';
import { defaultApiConfig } from '../src/config.ts';
import { describeMachine, openBenchFixture } from './fixture.ts';

const threadPool = sizeThreadPoolForArgon2();
const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 10_000);
const CAPACITY_SECONDS = Number(process.env.BENCH_CAPACITY_S ?? 5);
const TARGET_SHARE = 0.8;

async function argon2Capacity(parallel: number): Promise<number> {
  const { memoryKib, timeCost, parallelism } = DEFAULT_ARGON2_PARAMS;
  const options = { type: argon2.argon2id, memoryCost: memoryKib, timeCost, parallelism } as const;
  await argon2.hash('warm up', options);
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + CAPACITY_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await argon2.hash(`capacity ${w} ${i}`, options);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

const { prisma, hasher, domain, key, close } = await openBenchFixture({
  database: 'importbench',
  applicationName: 'mailroom-import-bench',
  domainPrefix: 'import',
});
try {
  const app = await buildApp({
    prisma,
    hasher,
    secret: 'bench-secret',
    config: defaultApiConfig({ argon2: DEFAULT_ARGON2_PARAMS, importMaxRows: Math.max(ROWS, 10_000) }),
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const csv = `address,password,displayName,quota\n${Array.from({ length: ROWS }, (_, i) => `user${i},given passphrase ${i} x9,User ${i},1 GB`).join('\n')}\n`;

  console.log(describeMachine());
  console.log(
    `argon2id m=${DEFAULT_ARGON2_PARAMS.memoryKib} KiB t=${DEFAULT_ARGON2_PARAMS.timeCost} p=${DEFAULT_ARGON2_PARAMS.parallelism}; hasher concurrency ${hasher.concurrency}, UV_THREADPOOL_SIZE ${threadPool}`,
  );
  const before = await argon2Capacity(hasher.concurrency);
  console.log(`capacity before: ${before.toFixed(1)} hashes/s (${hasher.concurrency} parallel raw argon2.hash for ${CAPACITY_SECONDS} s)`);

  const t0 = performance.now();
  const res = await fetch(`${address}/api/v1/domains/${domain.id}/mailboxes/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const body = (await res.json()) as { created?: number; code?: string };
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 201 || body.created !== ROWS) throw new Error(`import failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  const rate = ROWS / seconds;

  const after = await argon2Capacity(hasher.concurrency);
  console.log(`capacity after:  ${after.toFixed(1)} hashes/s`);
  const share = rate / before;
  const shareAfter = rate / after;
  console.log(
    `import of ${ROWS} rows with given passwords: ${seconds.toFixed(1)} s, ${rate.toFixed(1)} rows/s; share of argon2 capacity ${(share * 100).toFixed(0)}% ` +
      `(vs capacity after: ${(shareAfter * 100).toFixed(0)}%) (target ≥ ${TARGET_SHARE * 100}%: ${share >= TARGET_SHARE ? 'MET' : 'MISSED'})`,
  );
  console.log(
    'bounds: argon2 (every row hashed once, hasher.hashMany keeps one hash per core in flight); then one transaction with createMany and one audit row per mailbox.',
  );
  await app.close();
} finally {
  await close();
}
process.exit(0);
