/**
 * Contract test of smtp-adapter.ts: pins exactly the smtp-server behaviours and internals the ingress relies on beyond
 * the library's documented options, so an upgrade of smtp-server that changes one of them fails here (and not as
 * silently doubled status codes or LMTP replies that arrive late or twice in production). No database: the adapter is
 * exercised with its own callbacks over a real socket.
 */
import net from 'node:net';
import type { SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { REPLIES, SmtpReplyError } from './replies.ts';
import { IngressSmtpServer } from './smtp-adapter.ts';
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
    expect((await c.command('EHLO client.test')).code).toBe(250);
    expect((await c.command('MAIL FROM:<s@example.org>')).code).toBe(250);
    expect((await c.command('RCPT TO:<r@example.net>')).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
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
});
