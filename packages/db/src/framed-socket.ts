import net from 'node:net';

/** Backend message header: one type octet and an int32 length that counts itself. */
const HEADER_OCTETS = 5;
const READ_OCTETS = 64 * 1024;
/** A message assembled beyond this size gets its buffer dropped afterwards rather than kept for the connection's life. */
const KEEP_OCTETS = 1024 * 1024;
/**
 * Assembly buffers kept for reuse once given back after a claim. A streaming consumer (pg-copy's) holds one row while
 * one more waits in its queue and the framer assembles a third: two spares let the next download run in the same three.
 */
const SPARE_BUFFERS = 2;

/**
 * Splits a PostgreSQL backend byte stream into runs of whole messages. `push(chunk)` calls `emit` with views of `chunk`
 * (several messages at once when the chunk holds them) or of its own assembly buffer for a message that spanned
 * chunks, which it reuses: `emit` must be done with what it was given when it returns — pg's protocol parser is, it
 * consumes whole messages synchronously and keeps nothing when no partial message is left over — unless it claims the
 * assembly buffer (`claim`, during `emit`), which the framer then never writes to again until it is given back.
 */
export class MessageFramer {
  private partial: Buffer = Buffer.allocUnsafeSlow(READ_OCTETS + HEADER_OCTETS);
  private have = 0;
  /** The assembled message being emitted, while it may still be claimed. */
  private claimable: Buffer | undefined;
  private claimed = false;
  /** Claimed assembly buffers not given back yet (weak: a claim may never come back, e.g. an abandoned stream). */
  private readonly lent = new WeakSet<Buffer>();
  private readonly spare: Buffer[] = [];

  constructor(private readonly emit: (messages: Buffer) => void) {}

  /**
   * Takes over the assembly buffer that holds `view`, if `view` lies in the assembled message being emitted: returns
   * that whole buffer, which the caller owns until it hands it to `giveBack` (if ever). Anything else — a view of a
   * pushed chunk, which the next read overwrites, or of a copy pg's parser made — gives undefined: copy it instead.
   */
  claim(view: Buffer): Buffer | undefined {
    const message = this.claimable;
    if (
      !message ||
      view.buffer !== message.buffer ||
      view.byteOffset < message.byteOffset ||
      view.byteOffset + view.length > message.byteOffset + message.length
    ) {
      return undefined;
    }
    this.claimable = undefined;
    this.claimed = true;
    this.lent.add(this.partial);
    return this.partial;
  }

  /** Takes back a claimed buffer its holder is done with, to assemble later messages in (once; others are ignored). */
  giveBack(buffer: Buffer): void {
    if (!this.lent.delete(buffer)) return;
    if (buffer.length <= KEEP_OCTETS && this.spare.length < SPARE_BUFFERS) this.spare.push(buffer);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.have > 0) {
      if (this.have < HEADER_OCTETS) {
        const take = Math.min(HEADER_OCTETS - this.have, chunk.length);
        chunk.copy(this.partial, this.have, 0, take);
        this.have += take;
        pos = take;
        if (this.have < HEADER_OCTETS) return;
      }
      const total = 1 + this.partial.readUInt32BE(1);
      if (total < HEADER_OCTETS) throw new Error(`PostgreSQL message with a bad length (${total - 1})`);
      if (this.partial.length < total) {
        const grown = Buffer.allocUnsafeSlow(total);
        this.partial.copy(grown, 0, 0, this.have);
        this.partial = grown;
      }
      const take = Math.min(total - this.have, chunk.length - pos);
      chunk.copy(this.partial, this.have, pos, pos + take);
      this.have += take;
      pos += take;
      if (this.have < total) return;
      this.have = 0;
      this.claimable = this.partial.subarray(0, total);
      try {
        this.emit(this.claimable);
      } finally {
        this.claimable = undefined;
        if (this.claimed) {
          this.claimed = false;
          // the next message is likely as large (a stream of rows): a buffer of the claimed one's size saves growing
          const size = this.partial.length > KEEP_OCTETS ? READ_OCTETS + HEADER_OCTETS : this.partial.length;
          this.partial = this.spare.pop() ?? Buffer.allocUnsafeSlow(size);
        } else if (this.partial.length > KEEP_OCTETS) {
          this.partial = Buffer.allocUnsafeSlow(READ_OCTETS + HEADER_OCTETS);
        }
      }
    }
    const start = pos;
    while (chunk.length - pos >= HEADER_OCTETS) {
      const total = 1 + chunk.readUInt32BE(pos + 1);
      if (total < HEADER_OCTETS) throw new Error(`PostgreSQL message with a bad length (${total - 1})`);
      if (chunk.length - pos < total) break;
      pos += total;
    }
    if (pos > start) this.emit(chunk.subarray(start, pos));
    if (pos < chunk.length) {
      const rest = chunk.length - pos;
      if (this.partial.length < rest) this.partial = Buffer.allocUnsafeSlow(rest);
      chunk.copy(this.partial, 0, pos);
      this.have = rest;
    }
  }
}

/** The framer of a framed socket, for claimAssembled/returnAssembled. */
const FRAMER = Symbol('mailroom.framer');
type FramedSocket = net.Socket & { [FRAMER]?: MessageFramer };

/**
 * If `stream` is a framed socket and `view` lies in the message it assembled from several reads and is handing to pg
 * right now, takes over that message's whole buffer (see MessageFramer.claim): the caller may keep `view` instead of
 * copying it. Undefined for other sockets (TLS) and for messages that arrived within one read.
 */
export function claimAssembled(stream: object, view: Buffer): Buffer | undefined {
  return (stream as FramedSocket)[FRAMER]?.claim(view);
}

/** Gives a buffer from claimAssembled back to its socket's framer once nothing refers to its octets any more. */
export function returnAssembled(stream: object, buffer: Buffer): void {
  (stream as FramedSocket)[FRAMER]?.giveBack(buffer);
}

/**
 * A socket for pg's connection that reads into one buffer of its own, refilled by every read, and gives pg's parser
 * only whole messages. A plain socket allocates a fresh 64 KiB Buffer per read, which the GC collects only much later:
 * streaming a 50 MiB message would leave tens of MB of spent read buffers behind. Plain TCP only: pg's SSLRequest
 * answer is a single unframed octet, so TLS connections keep pg's own socket (see `pgStream`).
 */
export function createFramedSocket(): net.Socket {
  const read = Buffer.allocUnsafeSlow(READ_OCTETS);
  const framer = new MessageFramer((messages) => socket.emit('data', messages));
  // `onread` (Node ≥ 12.12) is missing from @types/node's constructor options.
  const socket = new net.Socket({
    onread: {
      buffer: read,
      callback: (octets: number, buf: Uint8Array) => {
        try {
          framer.push(Buffer.from(buf.buffer, buf.byteOffset, octets));
        } catch (err) {
          socket.destroy(err as Error);
        }
      },
    },
  } as net.SocketConstructorOpts) as FramedSocket;
  socket[FRAMER] = framer;
  return socket;
}

/** pg's `stream` option: framed sockets for plain connections, pg's default for TLS ones. */
export function pgStream(config: { ssl?: unknown }): net.Socket {
  return config.ssl ? new net.Socket() : createFramedSocket();
}
