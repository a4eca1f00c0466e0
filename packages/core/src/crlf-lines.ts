const CRLF = Buffer.from('\r\n');
/** Smallest block lines are copied into; later blocks grow with the message, up to MAX_BLOCK_OCTETS. */
const MIN_BLOCK_OCTETS = 64 * 1024;
const MAX_BLOCK_OCTETS = 4 * 1024 * 1024;

/**
 * Lines of a message joined with CRLF, copied into a few large blocks as they arrive: memory stays about the octets
 * collected whatever the number of lines (a Buffer per line costs ~250 bytes of heap, so a file of empty lines would
 * cost 125 times its size). Used wherever a message is read line by line (mbox import, POP3 RETR).
 */
export class CrlfLineJoiner {
  private readonly blocks: Buffer[] = [];
  private block: Buffer = Buffer.alloc(0);
  private used = 0;
  /** Octets collected so far, CRLFs included. */
  octets = 0;

  /** Appends `line` and a CRLF. */
  push(line: Buffer): void {
    this.write(line);
    this.write(CRLF);
  }

  private write(data: Buffer): void {
    let pos = 0;
    while (pos < data.length) {
      if (this.used === this.block.length) {
        if (this.used) this.blocks.push(this.block);
        this.block = Buffer.allocUnsafe(Math.min(MAX_BLOCK_OCTETS, Math.max(MIN_BLOCK_OCTETS, this.octets)));
        this.used = 0;
      }
      const n = data.copy(this.block, this.used, pos);
      this.used += n;
      pos += n;
      this.octets += n;
    }
  }

  /** Everything collected, as one buffer. */
  toBuffer(): Buffer {
    return Buffer.concat([...this.blocks, this.block.subarray(0, this.used)], this.octets);
  }
}
