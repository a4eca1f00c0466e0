import { readFileSync } from 'node:fs';
import { createPgPool, streamCopyRows } from '@mailroom/db';
const pool = createPgPool('postgresql://postgres@127.0.0.1:25432/postgres', { maxConnections: 1, reuseReadBuffers: process.env.FRAMED !== '0' });
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const pid = (await pool.query('SELECT pg_backend_pid() AS p')).rows[0].p;
const hw = Number(process.env.HW ?? 1048576);
for (let r = 0; r < 4; r++) {
  const c0 = cpu(pid); const n0 = process.cpuUsage(); const t0 = performance.now(); let n = 0;
  for await (const chunk of streamCopyRows(pool, `COPY (SELECT substring(raw FROM 1 + i * 524288 FOR 524288) FROM big, generate_series(0, 99) i WHERE id = 1 ORDER BY i) TO STDOUT (FORMAT binary)`, { highWaterOctets: hw, reuseBuffers: true })) {
    n += chunk.length;
    if (process.env.SLOW) await new Promise((r) => setImmediate(r));
  }
  const dt = performance.now() - t0; const u = process.cpuUsage(n0);
  console.log(`${n} octets ${(n / dt / 1000).toFixed(0)} MB/s; pg cpu ${cpu(pid) - c0} ms; node cpu ${((u.user + u.system) / 1000).toFixed(0)} ms`);
}
await pool.end();
