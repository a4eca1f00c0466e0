/** `mailboxes import` and `mailboxes export`: the API's CSV import and export, run by the operator against the database. */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import {
  AppError,
  createDnsLookup,
  createPasswordHasher,
  exportMailboxesCsv,
  importMailboxes,
  normalizeDomain,
  type ServiceDeps,
} from '@mailroom/core';
import { csvLine } from '@mailroom/core/csv';
import type { MailboxImportIssue } from '@mailroom/core/schemas';
import type { PrismaClient } from '@mailroom/db';
import { argon2Params, domainOnboardingConfig } from '@mailroom/runtime';
import { CLI_ACTOR, type CliIo, parseCommandArgs, printError, printLine, UsageError, withDatabase } from './common.ts';

/** The CLI is the operator: no row limit of its own beyond this (the API's is API_IMPORT_MAX_ROWS). */
const CLI_IMPORT_MAX_ROWS = 100_000;

export const MAILBOXES_HELP = `Usage: npm run mailroom -- mailboxes import <domain> <file.csv> [--dry-run] [--skip-invalid] [--passwords-out <file>]
       npm run mailroom -- mailboxes export <domain> [file.csv]

import  Creates the mailboxes of a CSV file in <domain> (its name or id). Header row with the columns address (local part
        or full address; required), password (empty: generated), displayName, quota (bytes, 2 GB, 500MiB, 2G, unlimited;
        empty: the domain default), enabled (true/false, yes/no, 1/0). UTF-8 with or without BOM, CRLF or LF.
        Every row is checked first; any invalid row stops the import (nothing written) unless --skip-invalid.
        Prints one line per invalid row: row, field, code, message. Exit code 1 when rows are invalid (and nothing
        was imported), else 0.
  --dry-run              Check every row and report; write nothing
  --skip-invalid         Import the valid rows, report the invalid ones
  --passwords-out <file> Write the generated passwords (address,password CSV, mode 0600) there instead of to stdout

export  Writes the domain's mailboxes as CSV (address, displayName, quota, usedBytes, messageCount, enabled, lastLoginAt,
        createdAt; no secrets) to the file, or to stdout.`;

async function resolveDomainId(prisma: PrismaClient, domain: string): Promise<string> {
  const byId = /^[0-9a-f-]{36}$/i.test(domain) ? await prisma.domain.findUnique({ where: { id: domain }, select: { id: true } }) : null;
  if (byId) return byId.id;
  const name = normalizeDomain(domain);
  const byName = name ? await prisma.domain.findFirst({ where: { name }, select: { id: true } }) : null;
  if (!byName) throw new UsageError(`no domain ${domain}`);
  return byName.id;
}

function printIssues(io: CliIo, issues: MailboxImportIssue[], total: number): void {
  for (const i of issues) printError(io, `row ${i.row}${i.field ? ` ${i.field}` : ''}: ${i.code}: ${i.message}`);
  if (total > issues.length) printError(io, `… and ${total - issues.length} more`);
}

async function writeFileFrom(file: string, chunks: AsyncIterable<string> | string[], mode?: number): Promise<void> {
  const out = createWriteStream(file, mode ? { mode } : {});
  for await (const chunk of chunks) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function mailboxesImport(io: CliIo, args: string[]): Promise<number> {
  const options = { 'dry-run': { type: 'boolean' }, 'skip-invalid': { type: 'boolean' }, 'passwords-out': { type: 'string' } } as const;
  const parsed = parseCommandArgs(io, args, { options, usage: '<domain> <file.csv>', required: 2, help: MAILBOXES_HELP });
  if (!parsed) return 0;
  const { values } = parsed;
  const [domain, file] = parsed.positionals;
  return withDatabase(io, async (prisma, env) => {
    const onboarding = domainOnboardingConfig(env);
    const deps: ServiceDeps = {
      prisma,
      hasher: createPasswordHasher(argon2Params(env)),
      passwordPolicy: { minLength: env.PASSWORD_MIN_LENGTH },
      onboarding: { ...onboarding, dns: createDnsLookup(onboarding.dns) },
    };
    const domainId = await resolveDomainId(prisma, domain);
    const opts = { dryRun: Boolean(values['dry-run']), skipInvalid: Boolean(values['skip-invalid']), maxRows: CLI_IMPORT_MAX_ROWS };
    let report;
    try {
      report = await importMailboxes(deps, CLI_ACTOR, domainId, createReadStream(file), opts);
    } catch (err) {
      if (err instanceof AppError && err.code === 'IMPORT_INVALID') {
        const d = err.details as { errors: MailboxImportIssue[]; errorCount: number };
        printIssues(io, d.errors, d.errorCount);
      }
      throw err;
    }
    printIssues(io, report.errors, report.errorCount);
    const verb = report.dryRun ? 'would create' : 'created';
    printLine(
      io,
      `${report.rows} row(s): ${report.valid} valid, ${report.invalid} invalid; ${verb} ${report.dryRun ? report.valid : report.created} mailbox(es)` +
        (report.dryRun ? ` (${report.passwordsToGenerate} generated password(s))` : ''),
    );
    if (report.generatedPasswords.length) {
      const lines = [csvLine(['address', 'password']), ...report.generatedPasswords.map((g) => csvLine([g.address, g.password]))];
      if (values['passwords-out']) {
        await writeFileFrom(values['passwords-out'], lines, 0o600);
        printLine(io, `${report.generatedPasswords.length} generated password(s) written to ${values['passwords-out']} (shown only once)`);
      } else {
        printLine(io, 'Generated passwords (shown only once):');
        io.stdout.write(lines.join(''));
      }
    }
    return report.invalid > 0 && report.dryRun ? 1 : 0;
  });
}

async function mailboxesExport(io: CliIo, args: string[]): Promise<number> {
  const parsed = parseCommandArgs(io, args, { options: {}, usage: '<domain> [file.csv]', required: 1, help: MAILBOXES_HELP });
  if (!parsed) return 0;
  const [domain, file] = parsed.positionals;
  return withDatabase(io, async (prisma) => {
    const { lines } = await exportMailboxesCsv(prisma, CLI_ACTOR, await resolveDomainId(prisma, domain));
    if (file) await writeFileFrom(file, lines);
    else for await (const chunk of lines) if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
    return 0;
  });
}

export async function mailboxesCommand(io: CliIo, action: 'import' | 'export', args: string[]): Promise<number> {
  return action === 'import' ? mailboxesImport(io, args) : mailboxesExport(io, args);
}
