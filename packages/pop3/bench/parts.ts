import { MESSAGE_PART_OCTETS, type PrismaClient } from '@mailroom/db';

/** Octets of a large message kept in messages.raw when stored in parts: about what the ingress's trace fields take. */
const PARTS_HEAD_OCTETS = 200;

/**
 * Re-stores a mailbox's messages that are still whole in `raw` as the ingress stores a large one (migration
 * 20261201180000_message_parts): `raw` keeps the first PARTS_HEAD_OCTETS, `message_parts` the rest, in rows of
 * MESSAGE_PART_OCTETS at their offsets. Benchmark data only (bench/run.ts, bench/retr-ab.ts).
 */
export async function moveToParts(prisma: PrismaClient, mailboxId: string): Promise<void> {
  await prisma.$transaction([
    prisma.$executeRaw`
      INSERT INTO message_parts (message_id, off, data)
      SELECT m.id, o, substring(m.raw from o + 1 for ${MESSAGE_PART_OCTETS}::int)
        FROM messages m, generate_series(${PARTS_HEAD_OCTETS}::int, octet_length(m.raw) - 1, ${MESSAGE_PART_OCTETS}::int) AS o
       WHERE m.mailbox_id = ${mailboxId}::uuid AND m.size_octets = octet_length(m.raw)`,
    prisma.$executeRaw`
      UPDATE messages SET raw = substring(raw for ${PARTS_HEAD_OCTETS}::int)
       WHERE mailbox_id = ${mailboxId}::uuid AND size_octets = octet_length(raw) AND size_octets > ${PARTS_HEAD_OCTETS}::int`,
  ]);
}
