import { splitWholeMessages, type PrismaClient } from '@mailroom/db';

/**
 * Re-stores a mailbox's large messages that are still whole in `raw` as the ingress stores them (migration
 * 20261201180000_message_parts), with the operators' conversion (`splitWholeMessages`, `messages split-large`):
 * `raw` keeps the header section, `message_parts` the rest. Benchmark data (bench/run.ts, bench/retr-ab.ts).
 */
export async function moveToParts(prisma: PrismaClient, mailboxId: string): Promise<void> {
  await splitWholeMessages(prisma, { mailboxId });
}
