/**
 * A query whose large `bytea` parameters go to PostgreSQL as they are. `pg` builds each Bind message in one growing
 * buffer: every parameter octet is copied into it (and again each time it grows), so a statement carrying four 1 MB
 * message bodies allocated and copied about three times their size, and the garbage collection of those buffers was
 * the ingress's largest cost after parsing (issue 17's profiles). Here the Bind message is `pg`'s own, serialised with
 * empty placeholders for the trailing binary parameters; their lengths are patched in and their octets follow as
 * separate socket writes of the caller's buffers (one `writev` under pg's cork). Everything else (Parse, Describe,
 * Execute, Sync, the replies, errors, the pool) is `pg`'s.
 */
import type net from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { writeBinaryCopyRows } from './pg-copy.ts';

/** One `bytea` parameter given as consecutive buffers (e.g. a message as it was read): sent without joining them. */
export class ByteaParts {
  readonly length: number;
  constructor(readonly parts: readonly Buffer[]) {
    this.length = parts.reduce((n, p) => n + p.length, 0);
  }
}

interface BindConfig {
  portal?: string;
  statement?: string;
  values?: unknown[];
  binary?: boolean;
  valueMapper?: (value: unknown, index: number) => unknown;
}

/** The part of pg's Connection a Bind goes through. */
interface PgConnection {
  _send(buffer: Buffer): boolean;
  bind(config: BindConfig): void;
  parse(config: { text: string }): void;
  execute(config: Record<string, never>): void;
  sync(): void;
  stream: net.Socket;
}

const EMPTY = Buffer.alloc(0);
const MAX_MESSAGE_OCTETS = 0x7fffffff;

const isBinary = (v: unknown): v is Buffer | ByteaParts => Buffer.isBuffer(v) || v instanceof ByteaParts;

function sendBind(connection: PgConnection, config: BindConfig): void {
  const values = config.values ?? [];
  let n = 0;
  while (n < values.length && isBinary(values[values.length - 1 - n])) n++;
  const tail = values.slice(values.length - n) as (Buffer | ByteaParts)[];
  const message = serialize.bind({ ...config, values: [...values.slice(0, values.length - n), ...tail.map(() => EMPTY)] });
  // the message ends with each placeholder's length (0, four octets each) and the result format codes (four octets)
  const cut = message.length - 4 * n - 4;
  const total = message.length - 1 + tail.reduce((sum, v) => sum + v.length, 0);
  if (total > MAX_MESSAGE_OCTETS) throw new RangeError(`bind message of ${total} octets is too large`);
  message.writeInt32BE(total, 1);
  connection._send(message.subarray(0, cut));
  for (const v of tail) {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(v.length, 0);
    connection._send(length);
    for (const part of v instanceof ByteaParts ? v.parts : [v]) if (part.length) connection._send(part);
  }
  connection._send(message.subarray(message.length - 4));
}

const QueryBase = pg.Query as unknown as new (config: pg.QueryConfig) => { prepare(connection: PgConnection): void };

class BufferBindQuery extends QueryBase {
  constructor(
    config: pg.QueryConfig,
    private readonly options: QueryWithBuffersOptions,
  ) {
    super(config);
  }

  override prepare(connection: PgConnection): void {
    // pg's own prepare (Parse, Bind, Describe, Execute, Sync, its error handling) with only the Bind replaced; with
    // copyFirst, the statements and the COPY with its rows go before it, and with thenCommit a COMMIT (unnamed Parse,
    // Bind, Execute) goes between the statement's Execute and the Sync: one Sync, one round trip for all of it
    const view = Object.create(connection) as PgConnection;
    view.bind = (config) => sendBind(connection, config);
    if (this.options.thenCommit) {
      view.sync = () => {
        connection.parse({ text: 'COMMIT' });
        connection.bind({ values: [] });
        connection.execute({});
        connection.sync();
      };
    }
    const first = this.options.copyFirst;
    if (!first) {
      super.prepare(view);
      return;
    }
    connection.stream.cork();
    for (const text of [...first.statements, first.copy]) {
      connection.parse({ text });
      connection.bind({ values: [] });
      connection.execute({});
    }
    // PostgreSQL reads the rows once its COPY starts (in copy-in mode it ignores Sync, so none may come before CopyDone)
    writeBinaryCopyRows(connection.stream, first.rows);
    super.prepare(view);
    connection.stream.uncork();
  }

  /** The rows went with the query (pg's own would answer CopyFail). */
  handleCopyInResponse(): void {}
}

export interface QueryWithBuffersOptions {
  /**
   * Commit the transaction the statement runs in, in the same round trip: a COMMIT follows it in the pipeline, before
   * the Sync. If the statement fails, PostgreSQL skips everything up to the Sync, so the COMMIT does not run and the
   * transaction is left aborted (roll it back); the promise rejects with the statement's error either way.
   */
  thenCommit?: boolean;
  /**
   * Before the statement, in the same round trip: `statements` (one each, e.g. `BEGIN`), then `copy` (a
   * `COPY … FROM STDIN (FORMAT binary)`) with `rows` (see writeBinaryCopyRows). If any of them fails, PostgreSQL skips
   * the rest up to the Sync, and the promise rejects with that error.
   */
  copyFirst?: { statements: string[]; copy: string; rows: Iterable<readonly (Buffer | null)[]> };
}

/**
 * Runs `text` with `values` like `sql.query(text, values)`, except that the trailing parameters that are Buffers or
 * {@link ByteaParts} are sent as binary `bytea` without being copied (put the large ones last). With `name`, a named
 * statement like pg's `{ name, text }`: parsed once per connection, then only bound and executed. See
 * {@link QueryWithBuffersOptions} for committing in the same round trip.
 */
export function queryWithBuffers<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: pg.Pool | pg.PoolClient,
  text: string,
  values: unknown[],
  name?: string,
  options: QueryWithBuffersOptions = {},
): Promise<pg.QueryResult<R>> {
  const query = new BufferBindQuery({ text, values, ...(name ? { name } : {}) }, options);
  // with copyFirst or thenCommit pg reports a result per command (the statements, the COPY, the statement, the
  // COMMIT): the statement's is the one wanted
  const index = options.copyFirst ? options.copyFirst.statements.length + 1 : 0;
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, res: pg.QueryResult<R> | pg.QueryResult<R>[]) =>
      err ? reject(err) : resolve(Array.isArray(res) ? res[index]! : res);
    (sql as unknown as { query(q: unknown, cb: typeof done): void }).query(query, done);
  });
}
