/**
 * Contract test of smtp-adapter.ts: pins exactly the smtp-server behaviours and internals the ingress relies on beyond
 * the library's documented options, so an upgrade of smtp-server that changes one of them fails here (and not as
 * silently doubled status codes or LMTP replies that arrive late or twice in production). No database: the adapter is
 * exercised with its own callbacks over a real socket.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { REPLIES, SmtpReplyError } from './replies.ts';
import { IngressSmtpServer } from './smtp-adapter.ts';
import { testTls } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

/** What the callbacks saw: per callback, whether handle(session.id) was that session's connection. */
interface Seen {
  handleMatched: string[];
  handleMissing: string[];
  closed: string[];
  connectSockets: boolean[];
}

let servers: IngressSmtpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  servers = [];
});

async function start(
  lmtp: boolean,
  onData: (
    server: IngressSmtpServer,
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string | (string | Error)[]) => void,
  ) => void,
  extra: Partial<SMTPServerOptions> = {},
) {
  const seen: Seen = { handleMatched: [], handleMissing: [], closed: [], connectSockets: [] };
  const check = (where: string, session: SMTPServerSession) => {
    if (server.handle(session.id)?.id === session.id) seen.handleMatched.push(where);
    else seen.handleMissing.push(where);
  };
  const options = {
    lmtp,
    name: 'adapter.test',
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    hideENHANCEDSTATUSCODES: false,
    onConnect: (session: SMTPServerSession, cb: (err?: Error | null) => void) => {
      check('connect', session);
      cb();
    },
    onMailFrom: (_a: unknown, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
      check('mail', session);
      cb();
    },
    onRcptTo: (address: { address: string }, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
      check('rcpt', session);
      if (address.address.startsWith('unknown@')) return cb(new SmtpReplyError(REPLIES.unknownUser));
      cb();
    },
    onData: (
      stream: SMTPServerDataStream,
      session: SMTPServerSession,
      cb: (err?: Error | null, message?: string | (string | Error)[]) => void,
    ) => {
      check('data', session);
      onData(server, stream, session, cb);
    },
    onClose: (session: SMTPServerSession) => {
      seen.closed.push(session.id);
      server.forget(session.id);
    },
    ...extra,
  } as unknown as SMTPServerOptions;
  // records what connect() is called with: the accepted socket first (the adapter sets TCP_NODELAY on it)
  class Recording extends IngressSmtpServer {
    override connect(...args: Parameters<IngressSmtpServer['connect']>): void {
      seen.connectSockets.push(args[0] instanceof net.Socket);
      super.connect(...args);
    }
  }
  const server = new Recording(options);
  servers.push(server);
  const port = await server.listenOn(0, '127.0.0.1');
  return { server, port, seen };
}

const drain = (stream: SMTPServerDataStream) =>
  new Promise<void>((resolve) => {
    stream.on('data', () => undefined);
    stream.once('end', () => resolve());
  });

describe('smtp-adapter: the smtp-server internals the ingress relies on', () => {
  it('connect() gets each accepted socket, and handle(session.id) is that session in every callback', async () => {
    const { server, port, seen } = await start(false, (_server, stream, _session, cb) => {
      drain(stream).then(() => cb(null, '2.0.0 Ok'), cb);
    });
    const a = await WireClient.connect(port);
    const b = await WireClient.connect(port);
    for (const c of [a, b]) {
      expect((await c.command('EHLO client.test')).code).toBe(250);
      expect((await c.command('MAIL FROM:<s@example.org>')).code).toBe(250);
      expect((await c.command('RCPT TO:<r@example.net>')).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      c.sendData(Buffer.from('Subject: x\r\n\r\nhi\r\n'));
      expect((await c.read()).code).toBe(250);
    }
    expect(seen.connectSockets).toEqual([true, true]);
    expect(seen.handleMissing).toEqual([]);
    expect([...seen.handleMatched].sort()).toEqual(['connect', 'connect', 'data', 'data', 'mail', 'mail', 'rcpt', 'rcpt']);
    await a.quit();
    await b.quit();
    await Promise.all([a.closed(), b.closed()]);
    await expect.poll(() => seen.closed.length).toBe(2);
    expect(seen.closed.map((id) => server.handle(id))).toEqual([undefined, undefined]);
  });

  it('a reply whose text carries our enhanced status code goes out verbatim; the library still adds its own to its replies', async () => {
    const { port } = await start(false, (_server, stream, _session, cb) => {
      drain(stream).then(() => cb(new SmtpReplyError(REPLIES.quotaTemporary)), cb);
    });
    const c = await WireClient.connect(port);
    expect((await c.command('EHLO client.test')).lines.some((l) => /^250[- ]ENHANCEDSTATUSCODES$/.test(l))).toBe(true);
    const mail = await c.command('MAIL FROM:<s@example.org>');
    expect(mail.text).toMatch(/^2\.1\.0 /);
    const refused = await c.command('RCPT TO:<unknown@example.net>');
    expect(refused.lines).toEqual(['550 5.1.1 No such user here']);
    expect((await c.command('RCPT TO:<r@example.net>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.sendData(Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    expect((await c.read()).lines).toEqual(['452 4.2.2 Mailbox full, try again later']);
    await c.quit();
  });

  it('LMTP: replies sent on the handle while onData is pending arrive at once, and cb(null, []) adds nothing', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { port } = await start(true, (server, stream, session, cb) => {
      const conn = server.handle(session.id)!;
      drain(stream)
        .then(async () => {
          const [first, second] = session.envelope.rcptTo;
          conn.send(250, `2.0.0 Ok: first <${first!.address}>`);
          // the second reply waits until the client has seen the first: it must not be held back until cb()
          await held;
          conn.send(452, `4.2.2 Mailbox full <${second!.address}>`);
          cb(null, []);
        })
        .catch(cb);
    });
    const c = await WireClient.connect(port);
    expect((await c.command('LHLO client.test')).code).toBe(250);
    expect((await c.command('MAIL FROM:<s@example.org>')).code).toBe(250);
    expect((await c.command('RCPT TO:<one@example.net>')).code).toBe(250);
    expect((await c.command('RCPT TO:<two@example.net>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.sendData(Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    expect((await c.read()).lines).toEqual(['250 2.0.0 Ok: first <one@example.net>']);
    release();
    expect((await c.read()).lines).toEqual(['452 4.2.2 Mailbox full <two@example.net>']);
    // nothing else was queued for this transaction: the next reply is RSET's
    const rset = await c.command('RSET');
    expect(rset.code).toBe(250);
    expect(rset.text).not.toMatch(/<two@example.net>|<one@example.net>/);
    await c.quit();
  });

  it('pipelined commands: replies are held while input remains and leave in one write; the data end is not held', async () => {
    const { port } = await start(
      true,
      (_server, stream, _session, cb) => {
        drain(stream).then(() => cb(), cb);
      },
      // a recipient lookup that takes a while (the ingress asks the database): without coalescing, MAIL's reply would
      // leave long before RCPT's
      { onRcptTo: (_a: unknown, _s: SMTPServerSession, cb: (err?: Error | null) => void) => void setTimeout(() => cb(), 40) },
    );
    const c = await WireClient.connect(port);
    expect((await c.command('LHLO client.test')).code).toBe(250);
    const segments: string[] = [];
    c.socket.on('data', (d: string) => segments.push(d));
    c.write('MAIL FROM:<s@example.org>\r\nRCPT TO:<one@example.net>\r\nDATA\r\n');
    expect((await c.read()).code).toBe(250);
    expect((await c.read()).code).toBe(250);
    expect((await c.read()).code).toBe(354);
    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatch(/^250 [^\r]*\r\n250 [^\r]*\r\n354 [^\r]*\r\n$/);
    // the body's reply (LMTP: one per recipient) is sent from outside the parser and arrives without another command
    c.sendData(Buffer.from('Subject: x\r\n\r\nhi\r\n'));
    expect((await c.read()).code).toBe(250);
    // a command on its own is answered as soon as its handler replies
    expect((await c.command('RSET')).code).toBe(250);
    await c.quit();
  });

  it('listenOn/boundAddress use the listening net.Server; shutdown closes it', async () => {
    const { server, port } = await start(false, (_s, stream, _session, cb) => {
      drain(stream).then(() => cb(), cb);
    });
    expect(server.boundAddress()?.port).toBe(port);
    await server.shutdown();
    servers = servers.filter((s) => s !== server);
    await expect(WireClient.connect(port)).rejects.toThrow();
  });

  it('abuse: DATA ends only at CRLF.CRLF; bare-LF dot lines and commands smuggled after them stay message content', async () => {
    const received: Buffer[] = [];
    const { server, port, seen } = await start(false, (_server, stream, _session, cb) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.once('end', () => {
        received.push(Buffer.concat(parts));
        cb(null, '2.0.0 Ok');
      });
    });
    server.on('error', () => undefined);
    const c = await WireClient.connect(port);
    await openData(c);
    const smuggled = 'MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nforged\r\n';
    c.write(`Subject: x\r\n\r\nhi\n.\n${smuggled}.\n${smuggled}\r.\r${smuggled}end\r\n.`);
    // the terminator split over two TCP writes still ends DATA once
    await new Promise((resolve) => setTimeout(resolve, 20));
    c.write('\r\n');
    const done = await c.read();
    expect(done.lines).toEqual(['250 2.0.0 Ok']);
    const quit = await c.command('QUIT');
    expect(quit.code).toBe(221);
    // the server saw one MAIL FROM and one DATA: nothing smuggled was run as a command
    expect(seen.handleMatched.filter((w) => w === 'mail' || w === 'rcpt' || w === 'data')).toEqual(['mail', 'rcpt', 'data']);
    expect(received).toHaveLength(1);
    const body = received[0]!.toString('latin1');
    expect(body).toBe(`Subject: x\r\n\r\nhi\n.\n${smuggled}.\n${smuggled}\r.\r${smuggled}end\r\n`);
  });

  /** EHLO, MAIL, RCPT, DATA: the client is then in the data phase. */
  const openData = async (c: WireClient) => {
    expect((await c.command('EHLO client.test')).code).toBe(250);
    expect((await c.command('MAIL FROM:<s@example.org>')).code).toBe(250);
    expect((await c.command('RCPT TO:<r@example.net>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
  };

  /** Collects each message's data into `received` and answers 250. */
  const collecting =
    (received: Buffer[]) =>
    (_server: IngressSmtpServer, stream: SMTPServerDataStream, _s: unknown, cb: (err?: Error | null, m?: string) => void) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.once('end', () => {
        received.push(Buffer.concat(parts));
        cb(null, '2.0.0 Ok');
      });
    };

  it('DATA is read by our DataReader, also after STARTTLS: ".x" loses its dot (RFC 5321 §4.5.2), pipelined commands after the end run', async () => {
    const material = await testTls();
    const received: Buffer[] = [];
    const { port, seen } = await start(false, collecting(received), {
      disabledCommands: ['AUTH'],
      hideSTARTTLS: false,
      key: material.key,
      cert: material.cert,
    } as Partial<SMTPServerOptions>);
    // smtp-server's own reader keeps a dot that no second dot follows; ours drops it as Postfix and Dovecot do
    const wire = 'Subject: x\r\n\r\n.x\r\n..y\r\n.\r\nMAIL FROM:<t@example.org>\r\nRCPT TO:<r@example.net>\r\nDATA\r\n';
    const plain = await WireClient.connect(port);
    await openData(plain);
    plain.write(wire);
    expect((await plain.read()).code).toBe(250);
    // the pipelined transaction ran: its MAIL, RCPT and DATA were answered
    expect([(await plain.read()).code, (await plain.read()).code, (await plain.read()).code]).toEqual([250, 250, 354]);
    plain.write('.z\r\n.\r\n');
    expect((await plain.read()).code).toBe(250);
    await plain.quit();

    // the same over TLS: the connection's parser is replaced after STARTTLS
    const raw = net.connect(port, '127.0.0.1');
    const lines: string[] = [];
    const readLine = (sock: NodeJS.ReadableStream & { once: net.Socket['once'] }) =>
      new Promise<string>((resolve) => {
        const take = () => {
          const l = lines.shift();
          if (l !== undefined) return resolve(l);
          sock.once('data', (d: Buffer) => {
            lines.push(...d.toString('latin1').split('\r\n').filter(Boolean));
            take();
          });
        };
        take();
      });
    const reply = async (sock: net.Socket | tls.TLSSocket) => {
      for (;;) {
        const l = await readLine(sock);
        if (/^\d{3} /.test(l)) return Number(l.slice(0, 3));
      }
    };
    expect(await reply(raw)).toBe(220);
    raw.write('EHLO client.test\r\n');
    expect(await reply(raw)).toBe(250);
    raw.write('STARTTLS\r\n');
    expect(await reply(raw)).toBe(220);
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    secure.write('EHLO client.test\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.net>\r\nDATA\r\n');
    expect([await reply(secure), await reply(secure), await reply(secure), await reply(secure)]).toEqual([250, 250, 250, 354]);
    secure.write('Subject: tls\r\n\r\n.w\r\n.\r\n');
    expect(await reply(secure)).toBe(250);
    secure.end('QUIT\r\n');
    expect(received.map((b) => b.toString('latin1'))).toEqual(['Subject: x\r\n\r\nx\r\n.y\r\n', 'z\r\n', 'Subject: tls\r\n\r\nw\r\n']);
    expect(seen.handleMatched.filter((w) => w === 'data')).toHaveLength(3);
  });

  it('a message read slowly (backpressure) still arrives whole, and a large one arrives byte-exact', async () => {
    const received: Buffer[] = [];
    const { port } = await start(false, (server, stream, session, cb) => {
      // nothing reads the stream at first: it fills, the reader must wait for 'drain', and the socket buffers fill
      setTimeout(() => collecting(received)(server, stream, session, cb), 200);
    });
    const body = Buffer.concat(Array.from({ length: 60_000 }, (_, i) => Buffer.from(`${i % 7 ? 'line' : '.dot'} ${i}\r\n`)));
    const c = await WireClient.connect(port);
    await openData(c);
    c.sendData(body);
    expect((await c.read()).code).toBe(250);
    await c.quit();
    expect(received).toHaveLength(1);
    expect(received[0]!.equals(body)).toBe(true);
  });
});
