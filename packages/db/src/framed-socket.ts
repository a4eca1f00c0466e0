import net from 'node:net';

/** Backend message header: one type octet and an int32 length that counts itself. */
const HEADER_OCTETS = 5;
const READ_OCTETS = 64 * 1024;
/** A message assembled beyond this size gets its buffer dropped afterwards rather than kept for the connection's life. */
const KEEP_OCTETS = 1024 * 1024;

/**
 * Splits a PostgreSQL backend byte stream into runs of whole messages. `push(chunk)` calls `emit` with views of `chunk`
 * (several messages at once when the chunk holds them) or of its own assembly buffer for a message that spanned
 * chunks, which it reuses: `emit` must be done with what it was given when it returns — pg's protocol parser is, it
 * consumes whole messages synchronously and keeps nothing when no partial message is left over.
 */
export class MessageFramer {
  private partial = Buffer.allocUnsafeSlow(READ_OCTETS + HEADER_OCTETS);
  private have = 0;

  constructor(private readonly emit: (messages: Buffer) => void) {}

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
      this.emit(this.partial.subarray(0, total));
      if (this.partial.length > KEEP_OCTETS) this.partial = Buffer.allocUnsafeSlow(READ_OCTETS + HEADER_OCTETS);
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
  } as net.SocketConstructorOpts);
  return socket;
}

/** pg's `stream` option: framed sockets for plain connections, pg's default for TLS ones. */
export function pgStream(config: { ssl?: unknown }): net.Socket {
  return config.ssl ? new net.Socket() : createFramedSocket();
}
