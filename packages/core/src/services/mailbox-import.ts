import { parse, CsvError } from 'csv-parse';
import { newId } from '@mailroom/db';
import { normalizeDomain, normalizeLocalPart, parseAddress } from '../address.ts';
import { AppError } from '../errors.ts';
import { displayNameSchema, MAX_BYTE_COUNT } from '../schemas/common.ts';
import type { GeneratedPassword, MailboxImportIssue, MailboxImportReport } from '../schemas/mailbox-bulk.ts';
import { recordAudit, recordAuditMany } from './audit.ts';
import { aliasOfSelect, assertNotAliasDomain, findVisibleDomain } from './domains.ts';
import { domainForMailboxSelect } from './mailboxes.ts';
import { checkPasswordPolicy } from './password-policy.ts';
import { type Actor, requireUser } from './principal.ts';
import { type Db, lockTenant, notFound, type ServiceDeps } from './shared.ts';
import { generatePassword } from './users.ts';

/**
 * CSV import of mailboxes into one domain. Columns (header row required, any order, case/space/_/- insensitive):
 * address (local part or full address in the domain), password (empty: generated), displayName, quota (bytes or a size
 * like `2 GB`, `500MiB`; empty: the domain default; `unlimited`), enabled (true/false, yes/no, 1/0; empty: true).
 * Columns of the export that describe state (usedBytes, messageCount, lastLoginAt, createdAt) are accepted and ignored,
 * so an export imports again.
 */
export const MAILBOX_CSV_COLUMNS = {
  address: ['address', 'email', 'emailaddress', 'mailbox', 'localpart', 'local', 'user', 'username', 'login'],
  password: ['password', 'pass', 'passwd', 'pwd'],
  displayName: ['displayname', 'name', 'fullname'],
  quota: ['quota', 'quotabytes', 'size', 'mailboxsize', 'storage'],
  enabled: ['enabled', 'active', 'enable'],
} as const;
type Column = keyof typeof MAILBOX_CSV_COLUMNS;
/** Export-only columns (state, not settings): read and ignored. */
const IGNORED_COLUMNS = new Set([
  'usedbytes',
  'used',
  'messagecount',
  'messages',
  'lastloginat',
  'lastlogin',
  'createdat',
  'created',
  'id',
]);

/** Issues reported in a response, at most; `errorCount` counts them all. */
export const MAX_REPORTED_ISSUES = 1000;
/** Longest CSV record accepted (a row with a 1 KiB password and a long display name fits many times). */
const MAX_RECORD_BYTES = 64 * 1024;
/** The import's own transaction: many inserts and audit rows, so longer than TENANT_TX. */
const IMPORT_TX = { maxWait: 10_000, timeout: 300_000 } as const;

/** Binary units throughout, as the panel's quota fields (parseByteInput) and Dovecot read them: 1 GB = 1 GiB = 2³⁰ bytes. */
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  kb: 2 ** 10,
  mb: 2 ** 20,
  gb: 2 ** 30,
  tb: 2 ** 40,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * A size as operators write it: bytes (`1048576`, no unit), or a number with a binary unit (`2 GB`, `500MiB`, `2G`;
 * all 1024-based). `unlimited`/`none` is null; undefined when unreadable.
 */
export function parseByteSize(input: string): number | null | undefined {
  const v = input.trim().toLowerCase();
  if (v === 'unlimited' || v === 'none') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(v);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!];
  if (unit === undefined || (unit === 1 && m[1]!.includes('.'))) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes <= MAX_BYTE_COUNT ? bytes : undefined;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'on', 'enabled', 'active']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'off', 'disabled', 'inactive']);

/** One CSV record as read: row number and the cells of the known columns. */
interface CsvRow {
  row: number;
  cells: Partial<Record<Column, string>>;
  /** The record had another number of cells than the header. */
  columnMismatch: boolean;
}

/** A row whose own content is valid (the database may still refuse it). */
export interface ImportCandidate {
  row: number;
  localPart: string;
  address: string;
  /** Undefined: generate one. */
  password: string | undefined;
  displayName: string | null;
  /** Undefined: the domain's default quota. */
  quotaBytes: number | null | undefined;
  enabled: boolean;
}

function headerColumn(cell: string): Column | 'ignored' | undefined {
  const key = cell
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  for (const [column, aliases] of Object.entries(MAILBOX_CSV_COLUMNS) as [Column, readonly string[]][])
    if (aliases.includes(key)) return column;
  return IGNORED_COLUMNS.has(key) ? 'ignored' : undefined;
}

function headerError(message: string, code: string): AppError {
  return new AppError('VALIDATION_FAILED', message, { fields: [{ path: 'header', message, code }] });
}

/**
 * Reads a mailbox CSV (UTF-8 with or without BOM, CRLF or LF, RFC 4180 quoting) as a stream: one record at a time,
 * stopping with TOO_MANY_ROWS past `maxRows` rather than reading everything first.
 */
export async function* readMailboxCsv(source: string | Buffer | AsyncIterable<string | Buffer>, maxRows: number): AsyncGenerator<CsvRow> {
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: MAX_RECORD_BYTES,
  });
  const feed = async () => {
    try {
      if (typeof source === 'string' || Buffer.isBuffer(source)) parser.write(source);
      else for await (const chunk of source) if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
      parser.end();
    } catch (err) {
      parser.destroy(err as Error);
    }
  };
  const feeding = feed();
  let columns: (Column | 'ignored')[] | undefined;
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      if (!columns) {
        const seen = new Set<Column>();
        columns = record.map((cell) => {
          const c = headerColumn(cell);
          if (!c)
            throw headerError(
              `Unknown column "${cell.slice(0, 60)}" in the header row (columns: ${Object.keys(MAILBOX_CSV_COLUMNS).join(', ')})`,
              'unknown_column',
            );
          if (c !== 'ignored') {
            if (seen.has(c)) throw headerError(`Column ${c} appears twice in the header row`, 'duplicate_column');
            seen.add(c);
          }
          return c;
        });
        if (!seen.has('address'))
          throw headerError('The header row needs an address column (address, email or local part)', 'missing_address_column');
        continue;
      }
      if (row - 1 > maxRows) {
        throw new AppError('TOO_MANY_ROWS', `The file has more than ${maxRows} mailbox rows; split it`, { details: { maxRows } });
      }
      const cells: Partial<Record<Column, string>> = {};
      columns.forEach((c, i) => {
        if (c !== 'ignored' && record[i] !== undefined) cells[c] = record[i];
      });
      yield { row, cells, columnMismatch: record.length !== columns.length };
    }
  } catch (err) {
    if (err instanceof CsvError) {
      const e = err as CsvError & { lines?: number };
      throw new AppError(
        'VALIDATION_FAILED',
        `The CSV cannot be read near line ${e.lines ?? '?'}: ${err.message.replace(/^Invalid [^:]*: /, '').slice(0, 200)}`,
        {
          fields: [{ path: 'body', message: err.message.slice(0, 200), code: err.code.toLowerCase() }],
          details: { line: e.lines ?? null },
        },
      );
    }
    throw err;
  } finally {
    parser.destroy();
    await feeding.catch(() => undefined);
  }
  if (!columns) throw headerError('The file is empty: it needs a header row and one row per mailbox', 'empty_file');
}

/** The checks of one row that need nothing but the row and the domain name; `issues` collects what is wrong. */
export function checkImportRow(
  r: CsvRow,
  domainName: string,
  policy: ServiceDeps['passwordPolicy'],
  issues: MailboxImportIssue[],
): ImportCandidate | undefined {
  const before = issues.length;
  const add = (field: string, code: string, message: string) => issues.push({ row: r.row, field, code, message });
  if (r.columnMismatch) add('', 'column_count', 'has another number of cells than the header row');
  for (const [field, cell] of Object.entries(r.cells))
    if (cell.includes('\u0000')) add(field, 'nul_character', 'must not contain NUL characters');
  const rawAddress = (r.cells.address ?? '').trim();
  let localPart: string | undefined;
  if (!rawAddress) add('address', 'required', 'is empty');
  else if (rawAddress.includes('@')) {
    const parsed = parseAddress(rawAddress);
    if (!parsed) add('address', 'invalid_address', 'is not a valid address');
    else if (parsed.domain !== normalizeDomain(domainName)) add('address', 'wrong_domain', `is not in ${domainName}`);
    else localPart = parsed.localPart;
  } else {
    localPart = normalizeLocalPart(rawAddress);
    if (!localPart) add('address', 'invalid_local_part', 'must be a valid local part (RFC 5321 dot-atom, at most 64 octets)');
  }
  const address = localPart ? `${localPart}@${domainName}` : rawAddress;
  const rawPassword = r.cells.password ?? '';
  const password = rawPassword === '' ? undefined : rawPassword;
  if (password !== undefined) {
    for (const i of checkPasswordPolicy(password, policy, { account: address, path: 'password' }))
      add('password', i.code ?? 'weak', i.message);
  }
  const name = displayNameSchema.safeParse(r.cells.displayName ?? '');
  if (!name.success) add('displayName', 'invalid_display_name', 'must be at most 200 characters');
  const rawQuota = (r.cells.quota ?? '').trim();
  const quotaBytes = rawQuota === '' ? undefined : parseByteSize(rawQuota);
  if (quotaBytes === undefined && rawQuota !== '')
    add('quota', 'invalid_size', 'must be bytes or a size like 2 GB, 500MiB, 2G, or unlimited');
  const rawEnabled = (r.cells.enabled ?? '').trim().toLowerCase();
  const enabled = rawEnabled === '' || TRUE_WORDS.has(rawEnabled) ? true : FALSE_WORDS.has(rawEnabled) ? false : undefined;
  if (enabled === undefined) add('enabled', 'invalid_boolean', 'must be true/false, yes/no or 1/0');
  if (issues.length > before || !localPart) return undefined;
  return { row: r.row, localPart, address, password, displayName: name.data || null, quotaBytes, enabled: enabled! };
}

interface ImportDomain {
  id: string;
  name: string;
  ownerId: string;
  maxMailboxes: number | null;
  maxStorageBytes: bigint | null;
  defaultQuotaBytes: bigint | null;
  owner: { maxMailboxes: number | null; maxStorageBytes: bigint | null };
}

/**
 * The checks that need the database, over the whole file: taken by a mailbox or an alias, and the owner's and domain's
 * mailbox count and storage limits (rows are admitted in file order; the first row past a limit and every later one are
 * refused). Returns the admitted candidates; refused ones go to `issues`.
 */
export async function checkImportAgainstDatabase(
  db: Db,
  d: ImportDomain,
  candidates: ImportCandidate[],
  issues: MailboxImportIssue[],
): Promise<ImportCandidate[]> {
  const localParts = candidates.map((c) => c.localPart);
  const [mailboxes, aliases] = await Promise.all([
    db.mailbox.findMany({ where: { domainId: d.id, localPart: { in: localParts } }, select: { localPart: true } }),
    db.alias.findMany({ where: { domainId: d.id, localPart: { in: localParts } }, select: { localPart: true } }),
  ]);
  const takenByMailbox = new Set(mailboxes.map((m) => m.localPart));
  const takenByAlias = new Set(aliases.map((a) => a.localPart));
  const [ownerCount, domainCount, ownerAllocated, domainAllocated] = await Promise.all([
    d.owner.maxMailboxes === null ? 0 : db.mailbox.count({ where: { domain: { ownerId: d.ownerId } } }),
    d.maxMailboxes === null ? 0 : db.mailbox.count({ where: { domainId: d.id } }),
    d.owner.maxStorageBytes === null
      ? 0n
      : db.mailbox
          .aggregate({ where: { domain: { ownerId: d.ownerId } }, _sum: { quotaBytes: true } })
          .then((a) => a._sum.quotaBytes ?? 0n),
    d.maxStorageBytes === null
      ? 0n
      : db.mailbox.aggregate({ where: { domainId: d.id }, _sum: { quotaBytes: true } }).then((a) => a._sum.quotaBytes ?? 0n),
  ]);
  let added = 0;
  let addedBytes = 0n;
  const admitted: ImportCandidate[] = [];
  for (const c of candidates) {
    const add = (field: string, code: string, message: string) => issues.push({ row: c.row, field, code, message });
    if (takenByMailbox.has(c.localPart)) add('address', 'taken', 'a mailbox with this address exists');
    else if (takenByAlias.has(c.localPart)) add('address', 'alias_taken', 'is already used by an alias');
    else if (d.owner.maxMailboxes !== null && ownerCount + added + 1 > d.owner.maxMailboxes) {
      add('address', 'limit_mailboxes', `the owner may have at most ${d.owner.maxMailboxes} mailbox(es) (${ownerCount} exist)`);
    } else if (d.maxMailboxes !== null && domainCount + added + 1 > d.maxMailboxes) {
      add('address', 'limit_mailboxes', `the domain may have at most ${d.maxMailboxes} mailbox(es) (${domainCount} exist)`);
    } else {
      const quota = c.quotaBytes === undefined ? d.defaultQuotaBytes : c.quotaBytes === null ? null : BigInt(c.quotaBytes);
      const limits: [string, bigint | null, bigint][] = [
        ['domain', d.maxStorageBytes, domainAllocated],
        ['owner', d.owner.maxStorageBytes, ownerAllocated],
      ];
      const refused = limits.find(([, limit, allocated]) => limit !== null && (quota === null || allocated + addedBytes + quota > limit));
      if (refused) {
        const [scope, limit, allocated] = refused;
        if (quota === null) add('quota', 'quota_required', `is required under the ${scope}'s storage limit (no domain default either)`);
        else
          add('quota', 'limit_storage', `exceeds the ${scope}'s storage limit: ${Number(limit! - allocated - addedBytes)} bytes are left`);
        continue;
      }
      added++;
      addedBytes += quota ?? 0n;
      admitted.push(c);
    }
  }
  return admitted;
}

export interface MailboxImportOptions {
  dryRun?: boolean;
  skipInvalid?: boolean;
  /** Rows accepted at most (API_IMPORT_MAX_ROWS). */
  maxRows: number;
}

function sortIssues(issues: MailboxImportIssue[]): MailboxImportIssue[] {
  return issues.sort((a, b) => a.row - b.row);
}

/**
 * Imports mailboxes from a CSV into a domain. Every row is validated first (its own content, duplicates within the file
 * in any spelling, then against the database and the limits for the whole file). A dry run stops there and writes
 * nothing. A real run hashes the passwords in parallel on every core (hasher.hashMany), then writes in one transaction
 * under the tenant lock, re-checking what may have changed meanwhile: all or nothing (IMPORT_INVALID), or with
 * `skipInvalid` the valid rows only. Each mailbox is audited as mailbox.create, the whole as one mailbox.import.
 */
export async function importMailboxes(
  deps: ServiceDeps,
  actor: Actor,
  domainId: string,
  source: string | Buffer | AsyncIterable<string | Buffer>,
  opts: MailboxImportOptions,
): Promise<MailboxImportReport> {
  const p = requireUser(actor, 'mailboxes:write');
  const domain = await findVisibleDomain(deps.prisma, p, domainId, { ...domainForMailboxSelect, ...aliasOfSelect });
  assertNotAliasDomain(domain);
  const issues: MailboxImportIssue[] = [];
  const candidates: ImportCandidate[] = [];
  const firstRowOf = new Map<string, number>();
  let rows = 0;
  for await (const r of readMailboxCsv(source, opts.maxRows)) {
    rows++;
    const c = checkImportRow(r, domain.name, deps.passwordPolicy, issues);
    if (!c) continue;
    const first = firstRowOf.get(c.localPart);
    if (first !== undefined) {
      issues.push({ row: c.row, field: 'address', code: 'duplicate_in_file', message: `is the same mailbox as row ${first}` });
      continue;
    }
    firstRowOf.set(c.localPart, c.row);
    candidates.push(c);
  }
  let admitted = await checkImportAgainstDatabase(deps.prisma, domain, candidates, issues);
  const report = (created: number, generated: GeneratedPassword[], dryRun: boolean): MailboxImportReport => {
    const invalidRows = new Set(issues.map((i) => i.row)).size;
    sortIssues(issues);
    return {
      dryRun,
      rows,
      valid: rows - invalidRows,
      invalid: invalidRows,
      created,
      passwordsToGenerate: admitted.filter((c) => c.password === undefined).length,
      errors: issues.slice(0, MAX_REPORTED_ISSUES),
      errorCount: issues.length,
      generatedPasswords: generated,
    };
  };
  const refuseInvalid = () => {
    const r = report(0, [], false);
    return new AppError(
      'IMPORT_INVALID',
      `${r.invalid} of ${rows} row(s) are invalid; nothing was imported (dry run to see them, or skipInvalid)`,
      {
        details: { rows, invalid: r.invalid, errorCount: r.errorCount, errors: r.errors },
      },
    );
  };
  if (opts.dryRun) return report(0, [], true);
  if (issues.length && !opts.skipInvalid) throw refuseInvalid();

  const passwords = admitted.map((c) => c.password ?? generatePassword());
  const hashes = await deps.hasher.hashMany(passwords);
  const hashOf = new Map(admitted.map((c, i) => [c.row, { password: passwords[i]!, hash: hashes[i]! }]));

  const created = await deps.prisma.$transaction(async (tx) => {
    await lockTenant(tx, domain.ownerId);
    // The limits and names as they are under the lock (another request may have created mailboxes meanwhile).
    const d = await tx.domain.findUnique({ where: { id: domain.id }, select: domainForMailboxSelect });
    if (!d) throw notFound('Domain');
    assertNotAliasDomain(d);
    const before = issues.length;
    admitted = await checkImportAgainstDatabase(tx, d, admitted, issues);
    if (issues.length > before && !opts.skipInvalid) throw refuseInvalid();
    const rowsToCreate = admitted.map((c) => ({
      id: newId(),
      candidate: c,
      quotaBytes: c.quotaBytes === undefined ? d.defaultQuotaBytes : c.quotaBytes === null ? null : BigInt(c.quotaBytes),
    }));
    for (let i = 0; i < rowsToCreate.length; i += 1000) {
      await tx.mailbox.createMany({
        data: rowsToCreate.slice(i, i + 1000).map((m) => ({
          id: m.id,
          domainId: d.id,
          localPart: m.candidate.localPart,
          passwordHash: hashOf.get(m.candidate.row)!.hash,
          displayName: m.candidate.displayName,
          quotaBytes: m.quotaBytes,
          enabled: m.candidate.enabled,
        })),
      });
    }
    // The same audit rows (and webhook events) as single creations, so whatever hangs on mailbox.create sees imported
    // mailboxes too; written in multi-row INSERTs, not two statements per mailbox.
    await recordAuditMany(
      tx,
      actor,
      rowsToCreate.map(({ id, candidate: c, quotaBytes }) => ({
        action: 'mailbox.create',
        targetType: 'mailbox',
        targetId: id,
        ownerId: d.ownerId,
        details: {
          localPart: c.localPart,
          address: c.address,
          domainId: d.id,
          quotaBytes,
          displayName: c.displayName,
          enabled: c.enabled,
          import: true,
        },
      })),
    );
    const generated = rowsToCreate.filter((m) => m.candidate.password === undefined).length;
    await recordAudit(tx, actor, {
      action: 'mailbox.import',
      targetType: 'domain',
      targetId: d.id,
      ownerId: d.ownerId,
      details: { domainId: d.id, domain: d.name, rows, created: rowsToCreate.length, skipped: rows - rowsToCreate.length, generated },
    });
    return rowsToCreate;
  }, IMPORT_TX);

  const generated: GeneratedPassword[] = created
    .filter((m) => m.candidate.password === undefined)
    .map((m) => ({ row: m.candidate.row, mailboxId: m.id, address: m.candidate.address, password: hashOf.get(m.candidate.row)!.password }));
  return report(created.length, generated, false);
}
