/**
 * Child process of retr-ab.ts and the ingress's dovecot.ts: logs in, prints "ready", waits for a line on stdin, then
 * times `RETR n` (the fourth argument, 1 by default) to its terminator and prints octets, seconds and its own CPU
 * seconds (so the parent measures only the download).
 */
import { BenchClient } from './client.ts';

const [port, user, pass, msg = '1'] = process.argv.slice(2) as [string, string, string, string?];
const c = await BenchClient.connect(Number(port));
if (!(await c.login(user, pass)).startsWith('+OK')) throw new Error('login failed');
process.stdout.write('ready\n');
await new Promise((r) => process.stdin.once('data', r));
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const status = await c.cmd(`RETR ${Number(msg)}`);
if (!status.startsWith('+OK')) throw new Error(status);
const n = await c.drainBody();
const dt = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${n} ${dt} ${(cpu.user + cpu.system) / 1e6}\n`);
await c.quit();
process.exit(0);
