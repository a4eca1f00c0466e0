import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTlsMaterial } from './tls.ts';

const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-tls-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loadTlsMaterial', () => {
  it('generates a self-signed certificate once into the data directory and reuses it', async () => {
    const a = await loadTlsMaterial({ dataDir: dir, hostname: 'mail.example.test' });
    expect(a.selfSigned).toBe(true);
    const cert = new X509Certificate(a.cert);
    expect(cert.subjectAltName).toContain('DNS:mail.example.test');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(a.key))).toBe(true);
    expect((await stat(a.keyFile)).mode & 0o077).toBe(0);
    const b = await loadTlsMaterial({ dataDir: dir, hostname: 'mail.example.test' });
    expect(b.cert.equals(a.cert)).toBe(true);
    // usable by Node's TLS stack
    expect(() => tls.createSecureContext({ cert: a.cert, key: a.key })).not.toThrow();
  });

  it('uses configured files and refuses half a configuration', async () => {
    const a = await loadTlsMaterial({ dataDir: dir, hostname: 'x.test' });
    const b = await loadTlsMaterial({ dataDir: '/nonexistent', hostname: 'x.test', certFile: a.certFile, keyFile: a.keyFile });
    expect(b.selfSigned).toBe(false);
    await expect(loadTlsMaterial({ dataDir: dir, hostname: 'x.test', certFile: a.certFile })).rejects.toThrow(/together/);
  });
});
