/**
 * What every CLI command shares: usage errors, argument parsing, the environment, and a database connection for one
 * command.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_PASSWORD_MIN_LENGTH, type Actor } from '@mailroom/core';
import { createPrismaClient, openDatabase, type PrismaClient } from '@mailroom/db';
import { baseEnvSchema, parseEnv } from '@mailroom/runtime';
import { z } from 'zod';

export const cliEnvSchema = baseEnvSchema.extend({
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(6).max(128).default(DEFAULT_PASSWORD_MIN_LENGTH),
});

/** Who the CLI's changes are audited as: the operator at the machine. */
export const CLI_ACTOR: Actor = { principal: { kind: 'system', label: 'cli' } };

/**
 * Where a command reads and writes, and the environment it reads: the process's own when run as the CLI, a test's
 * streams and database when a test runs a command in its own process.
 */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A line on standard output, as console.log would print it. */
export function printLine(io: CliIo, text: string): void {
  io.stdout.write(`${text}\n`);
}

/** A line on standard error. */
export function printError(io: CliIo, text: string): void {
  io.stderr.write(`${text}\n`);
}

/** A mistake in the command line: printed with exit code 2. */
export class UsageError extends Error {}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;
/** The values parseArgs gives for `options` and -h/--help. */
type CommandValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ options: O & typeof HELP_OPTION; strict: true }>>['values'];

/** parseArgs (strict) with -h/--help added to `options`: undefined after printing `help` for --help. */
function parseWithHelp(io: CliIo, args: string[], options: OptionsConfig, help: string, allowPositionals: boolean) {
  const parsed = parseArgs({ args, options: { ...options, ...HELP_OPTION }, allowPositionals, strict: true });
  if (!parsed.values.help) return parsed;
  printLine(io, help);
  return undefined;
}

/** The option values of a command that takes no positionals, or undefined after printing `help` for --help (exit 0). */
export function parseCommandOptions<const O extends OptionsConfig>(
  io: CliIo,
  args: string[],
  options: O,
  help: string,
): CommandValues<O> | undefined {
  return parseWithHelp(io, args, options, help, false)?.values as CommandValues<O> | undefined;
}

/**
 * The arguments of a command taking `options` (and -h/--help) and one or two positionals, the first `required` of them
 * required: its values and positionals, or undefined after printing `help` for --help (exit 0). A missing, empty or
 * third positional is a UsageError: `expected <usage>`, then the help.
 */
export function parseCommandArgs<const O extends OptionsConfig, R extends 1 | 2>(
  io: CliIo,
  args: string[],
  command: { options: O; usage: string; required: R; help: string },
): { values: CommandValues<O>; positionals: R extends 2 ? [string, string] : [string, string?] } | undefined {
  const parsed = parseWithHelp(io, args, command.options, command.help, true);
  if (!parsed) return undefined;
  const { values, positionals } = parsed;
  if (positionals.slice(0, command.required).filter(Boolean).length < command.required || positionals.length > 2)
    throw new UsageError(`expected ${command.usage}\n\n${command.help}`);
  return { values: values as CommandValues<O>, positionals: positionals as [string, string] };
}

export async function withDatabase<T>(io: CliIo, fn: (prisma: PrismaClient, env: z.infer<typeof cliEnvSchema>) => Promise<T>): Promise<T> {
  const env = parseEnv(cliEnvSchema, io.env);
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.MAILROOM_DATA_DIR, migrate: true });
  const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'mailroom-cli' });
  try {
    return await fn(prisma, env);
  } finally {
    await prisma.$disconnect();
    await db.close();
  }
}
