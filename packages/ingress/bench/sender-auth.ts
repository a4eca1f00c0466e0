/**
 * What the SMTP sender checks (SPF, DKIM, ARC, DMARC with mailauth; src/sender-auth.ts) cost per message: wall time
 * and the ingress process's CPU per check, for DKIM-signed 10 KB and 1 MB messages, with the DNS cache as deployed
 * (INGRESS_DNS_CACHE_S; one sender repeated, so its answers are cached) and without it, against a local DNS server
 * (Debian's dnsmasq, as the tests use; answers in well under a millisecond, so this is the checks' own cost, not a
 * resolver's). Sequential checks, one at a time. Nothing here is a test.
 *
 *   npx tsx bench/sender-auth.ts [--n=N]        (npm run bench -- sender-auth)
 */
import { generateKeyPairSync } from 'node:crypto';
import os from 'node:os';
import { parseTrustedProxies } from '@mailroom/core';
import { haveDnsmasq, startDnsServer } from '@mailroom/core/testing';
import nodemailer from 'nodemailer';
import { SenderAuth } from '../src/sender-auth.ts';

const N = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 200);
/**
 * CPU per check, at most: one core checks at least 200 small messages or 50 MB of large ones a second, far more than
 * an MX receives from the internet (each client is limited to INGRESS_MAX_MESSAGES_PER_IP_PER_MINUTE, 120 by default).
 * The checks are mailauth's JavaScript (line-break and canonicalization passes over every octet, an RSA verification);
 * they cost about as much CPU as storing the message does.
 */
const TARGET_CPU_MS = { '10 KB': 5, '1 MB': 20 } as const;

if (!haveDnsmasq) {
  console.log('dnsmasq is not installed (apt-get install dnsmasq): skipping the sender checks benchmark');
  process.exit(0);
}

const DOMAIN = 'sender.bench.test';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const dns = await startDnsServer(['bench.test'], {
  txt: [
    [DOMAIN, 'v=spf1 ip4:192.0.2.0/24 -all'],
    // a 2048-bit key, as senders publish them (dnsmasq splits the record into 255-octet strings; the resolver joins them)
    [`s1._domainkey.${DOMAIN}`, `v=DKIM1; k=rsa; p=${p}`],
    [`_dmarc.${DOMAIN}`, 'v=DMARC1; p=reject'],
  ],
});

async function signed(size: number): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    dkim: { domainName: DOMAIN, keySelector: 's1', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  });
  const line = 'The quarterly figures are attached; the totals are unchanged since the last report.\n';
  const text = line.repeat(Math.ceil(size / line.length));
  const info = await transport.sendMail({ from: `alice@${DOMAIN}`, to: 'bob@example.com', subject: 'figures', text });
  return info.message as Buffer;
}

try {
  const config = {
    skip: parseTrustedProxies('none'),
    dmarcReject: true,
    dns: { servers: [dns.server], timeoutMs: 2000 },
    timeoutMs: 30_000,
    rejectUnknownSenderDomain: true,
  };
  // as deployed (INGRESS_DNS_CACHE_S=300: the repeated sender's answers come from the cache), and every lookup asked
  const variants = [
    ['DNS answers cached', new SenderAuth({ ...config, dnsCacheMs: 300_000 }, 'mx.bench.test')],
    ['no DNS cache', new SenderAuth(config, 'mx.bench.test')],
  ] as const;
  const results: string[] = [];
  for (const [label, size, variant, auth] of (
    [
      ['10 KB', 10 * 1024],
      ['1 MB', 1024 * 1024],
    ] as const
  ).flatMap(([l, sz]) => variants.map(([v, a]) => [l, sz, v, a] as const))) {
    const body = await signed(size);
    const input = { body, ip: '192.0.2.10', helo: 'mail.sender.bench.test', envelopeFrom: `alice@${DOMAIN}` };
    const first = await auth.check(input);
    if (first.results.dkim !== 'pass' || first.results.spf !== 'pass' || first.results.dmarc !== 'pass')
      throw new Error(`the benchmark's message does not pass its checks: ${JSON.stringify(first.results)}`);
    const n = label === '1 MB' ? Math.max(10, Math.round(N / 4)) : N;
    for (let i = 0; i < 5; i++) await auth.check(input); // warm up
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await auth.check(input);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    const c = process.cpuUsage(cpu0);
    const cpuMs = (c.user + c.system) / 1000 / n;
    const target = TARGET_CPU_MS[label];
    results.push(
      `RESULT sender checks, ${label} DKIM-signed message, ${variant} (${body.length} octets, ${n} checks): ${wallMs.toFixed(2)} ms wall, ${cpuMs.toFixed(2)} ms CPU per check vs target <= ${target} ms CPU: ${cpuMs <= target ? 'MET' : 'NOT MET'}`,
    );
  }
  for (const r of results) console.log(r);
  console.log(`(load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores; node ${process.version})`);
} finally {
  await dns.close();
}
