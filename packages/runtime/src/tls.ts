import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** True when Mailroom generated a self-signed certificate. */
  selfSigned: boolean;
  certFile: string;
  keyFile: string;
}

/**
 * The certificate POP3 and SMTP STARTTLS present: TLS_CERT_FILE/TLS_KEY_FILE when configured, otherwise a self-signed
 * one generated once into the data directory (tls/cert.pem, tls/key.pem) for the public host name.
 */
export async function loadTlsMaterial(opts: {
  certFile?: string | undefined;
  keyFile?: string | undefined;
  dataDir: string;
  hostname: string;
}): Promise<TlsMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
    return {
      cert: await readFile(opts.certFile),
      key: await readFile(opts.keyFile),
      selfSigned: false,
      certFile: opts.certFile,
      keyFile: opts.keyFile,
    };
  }
  const dir = path.join(opts.dataDir, 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [
      { type: 2, value: opts.hostname },
      { type: 2, value: 'localhost' },
      { type: 7, ip: '127.0.0.1' },
    ];
    const pems = await selfsigned.generate([{ name: 'commonName', value: opts.hostname }], {
      keySize: 2048,
      days: 825,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames }],
    } as never);
    await writeFile(keyFile, pems.private, { mode: 0o600 });
    await writeFile(certFile, pems.cert, { mode: 0o644 });
  }
  return { cert: await readFile(certFile), key: await readFile(keyFile), selfSigned: true, certFile, keyFile };
}
