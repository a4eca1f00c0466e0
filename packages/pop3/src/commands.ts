import { isAppError, isDatabaseUnavailable, resolvePop3Policy, type Pop3Policy } from '@mailroom/core';
import type { Pop3Config } from './config.ts';
import { DotStuffer, MinRateGuard, TopLimiter } from './framing.ts';
import { isDeadLocalHolder } from './lease-holder.ts';
import { SessionClosedError } from './session-closed-error.ts';
import type { Pop3Session } from './session.ts';
import { LockLostError, MessageGoneError, type Maildrop, type MessageInfo, type SignInClient, type SignInFailure } from './store.ts';

export type CommandHandler = (session: Pop3Session, args: string) => Promise<void>;
export type CommandTable = Readonly<Record<string, CommandHandler>>;

const TEMP_FAILURE = '-ERR [SYS/TEMP] Temporary server failure, try again later.';
const AUTH_FAILED = '-ERR [AUTH] Authentication failed.';
/** The password was not checked: the client should retry later, not ask its user for another password (RFC 3206). */
const SERVER_BUSY = '-ERR [SYS/TEMP] Server busy, try again later.';
/** Like Dovecot's login process: a connection that fails this many logins is closed (the throttle still counts them). */
export const MAX_AUTH_FAILURES_PER_CONNECTION = 3;
const PLAINTEXT_REFUSED = '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.';

// ---------------------------------------------------------------------------------------------------------------
// Shared

function capabilities(s: Pop3Session): string[] {
  const cfg = s.ctx.config;
  const caps = ['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (s.state === 'AUTHORIZATION') {
    if (s.plaintextAuthAllowed) caps.push('USER', 'SASL PLAIN');
    if (!s.secure) caps.push('STLS');
    // Policies vary per mailbox/domain: before login the operator defaults with the USER tag (RFC 2449 §6.5, §6.7).
    caps.push(`EXPIRE ${cfg.retentionDays ?? 'NEVER'} USER`, `LOGIN-DELAY ${cfg.loginDelaySeconds} USER`);
  } else {
    // After login exactly what this session enforces.
    const p = policyOf(s.maildrop!, cfg);
    caps.push(`EXPIRE ${p.retentionDays ?? 'NEVER'}`, `LOGIN-DELAY ${p.loginDelaySeconds}`);
  }
  caps.push(`IMPLEMENTATION ${cfg.implementation}`);
  return caps;
}

/** The maildrop's effective LOGIN-DELAY and EXPIRE: mailbox → domain → operator default. */
function policyOf(m: Maildrop, cfg: Pop3Config): Pop3Policy {
  return resolvePop3Policy(
    { loginDelaySeconds: m.mailboxLoginDelaySeconds, retentionDays: m.mailboxRetentionDays },
    { loginDelaySeconds: m.domainLoginDelaySeconds, retentionDays: m.domainRetentionDays },
    cfg,
  );
}

const capa: CommandHandler = async (s, args) => {
  if (args.trim()) return s.badCommand('-ERR CAPA takes no arguments.');
  await s.replyMulti('+OK Capability list follows', capabilities(s));
};

// ---------------------------------------------------------------------------------------------------------------
// AUTHORIZATION

async function login(s: Pop3Session, login: string, password: string, mechanism: SignInClient['mechanism']): Promise<void> {
  const { store, config, metrics } = s.ctx;
  const started = process.hrtime.bigint();
  const client: SignInClient = { ip: s.ip, tls: s.secure, mechanism };
  // A refused login of a known mailbox goes to its sign-in log. Best effort: the log never changes the reply.
  const logFailure = (mailboxId: string | undefined, failure: SignInFailure) =>
    mailboxId
      ? store.recordSignInFailure(mailboxId, failure, client).catch((err: unknown) => {
          s.log.warn({ err: (err as Error).message }, 'sign-in log: not written');
        })
      : undefined;
  let result = 'error';
  try {
    // Counted before it is verified (per client network and canonical account, shared with the API); a turn up to
    // POP3_THROTTLE_MAX_SLEEP_MS away is waited for, a later one refused.
    const sleep = (ms: number) => {
      s.log.info({ delayMs: ms }, 'login throttled: waiting');
      return s.ctx.sleep(ms);
    };
    const auth = await store.authenticate(login, password, { ip: s.ip, maxWaitMs: config.throttleMaxSleepMs, sleep });
    if (auth.status === 'invalid' || auth.status === 'throttled') {
      result = auth.status;
      s.log.info({ login }, auth.status === 'throttled' ? 'login refused: throttled' : 'login failed');
      s.authFailures++;
      const reply =
        auth.status === 'throttled'
          ? `-ERR [SYS/TEMP] Too many failed logins, try again in ${auth.retryAfterSeconds} seconds.`
          : AUTH_FAILED;
      // A wrong password is logged after its reply: the write happens for existing mailboxes only, and must not make
      // their -ERR slower than an unknown address's (no enumeration by timing). The session's next command still
      // waits for it.
      if (s.authFailures >= MAX_AUTH_FAILURES_PER_CONNECTION) {
        await s.reply(`${reply.replace(/\.$/, '')}. Too many failures, disconnecting.`);
        s.close();
      } else await s.reply(reply);
      if (auth.status === 'invalid') await logFailure(auth.mailboxId, 'wrong_password');
      return;
    }
    if (auth.status === 'app-password-required') {
      result = 'app_password_required';
      await logFailure(auth.mailboxId, 'app_password_required');
      s.log.info({ login }, 'login refused: app password required');
      await s.reply('-ERR [AUTH] This mailbox accepts only app passwords for POP3: create one in the Mailroom panel.');
      return;
    }
    if (auth.status === 'disabled') {
      result = 'disabled';
      await logFailure(auth.mailboxId, 'disabled');
      s.log.info({ login }, 'login refused: disabled');
      await s.reply('-ERR [AUTH] Account is disabled.');
      return;
    }
    const maildrop = auth.maildrop;
    const policy = policyOf(maildrop, config);
    const delay = policy.loginDelaySeconds;
    if (delay > 0 && maildrop.lastLoginAt && Date.now() - maildrop.lastLoginAt.getTime() < delay * 1000) {
      result = 'login_delay';
      await logFailure(maildrop.id, 'login_delay');
      s.log.info({ login: maildrop.address, delay }, 'login refused: login delay');
      await s.reply(`-ERR [LOGIN-DELAY] Minimum time between logins is ${delay} seconds.`);
      return;
    }
    if (!(await acquireMaildrop(s, maildrop.id))) {
      result = 'in_use';
      await logFailure(maildrop.id, 'in_use');
      s.log.info({ login: maildrop.address }, 'login refused: maildrop in use');
      await s.reply('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
      return;
    }
    s.maildrop = maildrop;
    s.markLocked();
    // EXPIRE n (n > 0): the retention clock starts at delivery (RFC 2449 §6.7 allows it); expired mail goes before the snapshot.
    if (policy.retentionDays !== null && policy.retentionDays > 0) {
      const expired = await store.expireMessages(maildrop.id, s.lease.session, policy.retentionDays);
      if (expired.deleted > 0)
        s.log.info({ deleted: expired.deleted, octets: expired.bytes, days: policy.retentionDays }, 'expired messages');
    }
    const messages = await store.listMessages(maildrop.id);
    await store.recordLogin(maildrop, client);
    s.enterTransaction(maildrop, messages);
    result = 'ok';
    s.log.info({ login: maildrop.address, messages: messages.length }, 'logged in');
    await s.reply(`+OK Logged in.`);
  } catch (err) {
    if (isAppError(err) && err.code === 'SERVER_BUSY') {
      s.log.warn('login refused: argon2 queue full');
      result = 'busy';
      await s.reply(SERVER_BUSY);
      return;
    }
    if (isDatabaseUnavailable(err)) {
      s.log.warn({ err: (err as Error).message }, 'login failed: database unavailable');
      result = 'unavailable';
    } else {
      s.log.error({ err }, 'login failed: internal error');
    }
    // A lock taken before the failure is released when the session ends; the session must not stay half logged in.
    if (s.state === 'AUTHORIZATION' && s.maildrop) {
      await s.reply(TEMP_FAILURE);
      s.close();
      return;
    }
    await s.reply(TEMP_FAILURE);
  } finally {
    metrics.logins.inc({ result });
    metrics.authDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }
}

const user: CommandHandler = async (s, args) => {
  const name = args.trim();
  if (!name) return s.badCommand('-ERR No username given.');
  if (!s.plaintextAuthAllowed) return s.reply(PLAINTEXT_REFUSED);
  s.pendingUser = name;
  await s.reply('+OK');
};

const pass: CommandHandler = async (s, args) => {
  const name = s.pendingUser;
  s.pendingUser = undefined;
  if (!name) return s.badCommand('-ERR No username given.');
  if (!s.plaintextAuthAllowed) return s.reply(PLAINTEXT_REFUSED);
  await login(s, name, args, 'USER');
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const auth: CommandHandler = async (s, args) => {
  s.pendingUser = undefined;
  const parts = args.trim().split(/ +/).filter(Boolean);
  // RFC 1734-era clients send a bare AUTH to list mechanisms.
  if (parts.length === 0) return s.replyMulti('+OK', s.plaintextAuthAllowed ? ['PLAIN'] : []);
  if (parts.length > 2) return s.badCommand('-ERR Invalid AUTH arguments.');
  if (parts[0]!.toUpperCase() !== 'PLAIN') return s.reply('-ERR [AUTH] Unsupported authentication mechanism.');
  if (!s.plaintextAuthAllowed) return s.reply(PLAINTEXT_REFUSED);
  let response = parts[1];
  if (response === undefined) {
    await s.write('+ \r\n');
    const line = await s.readLine();
    if (line === null) return s.close();
    response = line.trim();
  }
  if (response === '*') return s.reply('-ERR [AUTH] Authentication cancelled.');
  if (response === '=') response = '';
  if (!BASE64.test(response)) return s.reply('-ERR [AUTH] Invalid base64 data.');
  const fields = Buffer.from(response, 'base64').toString('utf8').split('\0');
  if (fields.length !== 3 || !fields[1]) return s.reply(AUTH_FAILED);
  const [authzid, authcid, password] = fields as [string, string, string];
  if (authzid && authzid.toLowerCase() !== authcid.toLowerCase()) return s.reply(AUTH_FAILED);
  await login(s, authcid, password, 'PLAIN');
};

const stls: CommandHandler = async (s, args) => {
  if (args.trim()) return s.badCommand('-ERR STLS takes no arguments.');
  if (s.secure) return s.reply('-ERR TLS is already active.');
  await s.reply('+OK Begin TLS negotiation now.');
  try {
    await s.startTls();
  } catch (err) {
    s.log.info({ err: (err as Error).message }, 'STLS handshake failed');
    s.destroy();
    throw new SessionClosedError();
  }
};

const quitAuthorization: CommandHandler = async (s) => {
  await s.reply(`+OK ${s.ctx.config.implementation} signing off.`);
  s.close();
};

export const AUTHORIZATION_COMMANDS: CommandTable = { CAPA: capa, USER: user, PASS: pass, AUTH: auth, STLS: stls, QUIT: quitAuthorization };

// ---------------------------------------------------------------------------------------------------------------
// TRANSACTION

const NUMBER = /^[1-9][0-9]{0,9}$/;

/** Resolves a message-number argument; replies and returns undefined when it names no (visible) message. */
async function messageArg(s: Pop3Session, arg: string | undefined): Promise<{ n: number; msg: MessageInfo } | undefined> {
  if (arg === undefined || !NUMBER.test(arg)) {
    await s.badCommand('-ERR Invalid message number.');
    return undefined;
  }
  const n = Number(arg);
  const msg = s.messages[n - 1];
  if (!msg) {
    await s.reply(`-ERR There's no message ${n}.`);
    return undefined;
  }
  if (s.deleted.has(n)) {
    await s.reply('-ERR Message is deleted.');
    return undefined;
  }
  return { n, msg };
}

function splitArgs(args: string): string[] {
  return args.trim().split(/ +/).filter(Boolean);
}

function visible(s: Pop3Session): { n: number; msg: MessageInfo }[] {
  const out: { n: number; msg: MessageInfo }[] = [];
  s.messages.forEach((msg, i) => {
    if (!s.deleted.has(i + 1)) out.push({ n: i + 1, msg });
  });
  return out;
}

const stat: CommandHandler = async (s, args) => {
  if (args.trim()) return s.badCommand('-ERR STAT takes no arguments.');
  const v = visible(s);
  await s.reply(`+OK ${v.length} ${v.reduce((sum, m) => sum + m.msg.size, 0)}`);
};

const list: CommandHandler = async (s, args) => {
  const a = splitArgs(args);
  if (a.length > 1) return s.badCommand('-ERR Too many arguments.');
  if (a.length === 1) {
    const m = await messageArg(s, a[0]);
    if (m) await s.reply(`+OK ${m.n} ${m.msg.size}`);
    return;
  }
  const v = visible(s);
  await s.replyMulti(
    `+OK ${v.length} messages:`,
    v.map((m) => `${m.n} ${m.msg.size}`),
  );
};

const uidl: CommandHandler = async (s, args) => {
  const a = splitArgs(args);
  if (a.length > 1) return s.badCommand('-ERR Too many arguments.');
  if (a.length === 1) {
    const m = await messageArg(s, a[0]);
    if (m) await s.reply(`+OK ${m.n} ${m.msg.uidl}`);
    return;
  }
  await s.replyMulti(
    '+OK',
    visible(s).map((m) => `${m.n} ${m.msg.uidl}`),
  );
};

/** Streams a message (or TOP's cut of it) from storage through dot-stuffing, one chunk at a time with backpressure. */
/** Returns true when the whole response went out. */
async function sendMessage(s: Pop3Session, msg: MessageInfo, status: string, topLines?: number): Promise<boolean> {
  const { store, metrics } = s.ctx;
  // Chunks are refilled by the store once the next is asked for, so each is written through before that.
  const chunks = store.readMessage(s.maildrop!.id, msg, { reuseChunks: true })[Symbol.asyncIterator]();
  // Fetch the first chunk before the +OK, so a missing message or an unavailable database still gets an -ERR.
  let first: IteratorResult<Buffer>;
  try {
    first = await chunks.next();
  } catch (err) {
    if (err instanceof MessageGoneError) await s.reply('-ERR [SYS/PERM] Message was removed from the maildrop.');
    else {
      if (!isDatabaseUnavailable(err)) s.log.error({ err }, 'reading message failed');
      await s.reply(TEMP_FAILURE);
    }
    return false;
  }
  // A client that stops reading would hold its stream connection for as long as it likes: below the minimum rate
  // (POP3_RETR_MIN_BYTES_PER_SEC) the connection is cut. Nothing is deleted: that needs QUIT.
  const { retrMinBytesPerSec, retrRateWindowMs } = s.ctx.config;
  const guard = new MinRateGuard(retrMinBytesPerSec, retrRateWindowMs, (moved) => {
    s.log.info(
      { octets: moved, windowMs: retrRateWindowMs, minBytesPerSec: retrMinBytesPerSec },
      'download below the minimum rate: disconnecting',
    );
    metrics.slowTransfersCut.inc();
    s.destroy();
  });
  await s.write(`${status}\r\n`);
  const stuffer = new DotStuffer(msg.dotLines !== false);
  const limiter = topLines === undefined ? undefined : new TopLimiter(topLines);
  let sent = 0;
  try {
    let r = first;
    while (!r.done) {
      let chunk = r.value;
      let done = false;
      if (limiter) ({ out: chunk, done } = limiter.take(chunk));
      sent += chunk.length;
      await s.writeThrough(stuffer.transform(chunk));
      guard.progress(chunk.length);
      if (done) break;
      r = await chunks.next();
    }
  } catch (err) {
    // The +OK is out: the only honest thing left is to drop the connection (nothing is deleted).
    if (!(err instanceof Error && err.name === 'SessionClosedError')) s.log.error({ err }, 'streaming message failed');
    await chunks.return?.(undefined);
    s.destroy();
    throw err;
  } finally {
    guard.stop();
    metrics.retrievedOctets.inc(sent);
  }
  await chunks.return?.(undefined);
  await s.write(stuffer.finish());
  return true;
}

const retr: CommandHandler = async (s, args) => {
  const a = splitArgs(args);
  if (a.length !== 1) return s.badCommand('-ERR RETR needs one message number.');
  const m = await messageArg(s, a[0]);
  if (!m) return;
  if (await sendMessage(s, m.msg, `+OK ${m.msg.size} octets`)) s.retrieved.add(m.n);
};

const top: CommandHandler = async (s, args) => {
  const a = splitArgs(args);
  // RFC 1939 allows any non-negative line count; one beyond the body (fetchmail sends 99999999, others 2^32 - 1 or
  // more) means the whole message, so a count too large for a safe integer is taken as that
  if (a.length !== 2 || !/^[0-9]+$/.test(a[1]!)) return s.badCommand('-ERR TOP needs a message number and a line count.');
  const m = await messageArg(s, a[0]);
  if (m) await sendMessage(s, m.msg, '+OK', Math.min(Number(a[1]), Number.MAX_SAFE_INTEGER));
};

const dele: CommandHandler = async (s, args) => {
  const a = splitArgs(args);
  if (a.length !== 1) return s.badCommand('-ERR DELE needs one message number.');
  const m = await messageArg(s, a[0]);
  if (!m) return;
  s.deleted.add(m.n);
  await s.reply('+OK Marked to be deleted.');
};

const noop: CommandHandler = async (s, args) => {
  if (args.trim()) return s.badCommand('-ERR NOOP takes no arguments.');
  await s.reply('+OK');
};

const rset: CommandHandler = async (s, args) => {
  if (args.trim()) return s.badCommand('-ERR RSET takes no arguments.');
  s.deleted.clear();
  const v = visible(s);
  await s.reply(`+OK ${v.length} messages.`);
};

const quitTransaction: CommandHandler = async (s) => {
  s.state = 'UPDATE';
  // EXPIRE 0: mail may not be left on the server, so every message retrieved whole (RETR) in this session is deleted
  // too; a message never retrieved stays, and a dropped connection (no QUIT) deletes nothing.
  const gone = policyOf(s.maildrop!, s.ctx.config).retentionDays === 0 ? new Set([...s.deleted, ...s.retrieved]) : s.deleted;
  const ids = [...gone].map((n) => s.messages[n - 1]!.id);
  let reply: string;
  try {
    const r = await s.ctx.store.commitDeletions(s.maildrop!.id, s.lease.session, ids);
    s.ctx.metrics.deletedMessages.inc(r.deleted);
    s.log.info({ deleted: r.deleted, octets: r.bytes }, 'logout');
    reply = r.deleted > 0 ? '+OK Logging out, messages deleted.' : '+OK Logging out.';
  } catch (err) {
    if (err instanceof LockLostError) {
      s.log.warn('maildrop lease was lost; deletions not applied');
      reply = '-ERR [SYS/TEMP] Mailbox lock was lost, messages not deleted.';
    } else {
      s.log[isDatabaseUnavailable(err) ? 'warn' : 'error']({ err }, 'applying deletions failed');
      reply = '-ERR [SYS/TEMP] Some deleted messages were not removed, try again later.';
    }
  }
  s.close();
  await s.releaseMaildrop();
  await s.reply(reply);
};

export const TRANSACTION_COMMANDS: CommandTable = {
  CAPA: capa,
  STAT: stat,
  LIST: list,
  RETR: retr,
  DELE: dele,
  NOOP: noop,
  RSET: rset,
  TOP: top,
  UIDL: uidl,
  QUIT: quitTransaction,
};

/**
 * Takes the maildrop's lease. When another holder has it and that holder is a dead process of this machine (see
 * lease-holder.ts), its leases are released and the lease taken at once instead of after the lease lapses.
 */
async function acquireMaildrop(s: Pop3Session, maildropId: string): Promise<boolean> {
  const { store, config } = s.ctx;
  if (await store.acquireLock(maildropId, s.lease, config.leaseTtlMs)) return true;
  const holder = await store.lockHolder(maildropId);
  if (!holder || !isDeadLocalHolder(holder)) return false;
  s.log.warn({ holder }, 'maildrop held by a dead process of this machine: releasing its leases');
  await store.releaseAllLocks(holder);
  return store.acquireLock(maildropId, s.lease, config.leaseTtlMs);
}
