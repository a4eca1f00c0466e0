import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';

/** Test data made with Prisma directly, uniquely named so test files can share one database. */
export interface Fixture {
  prisma: PrismaClient;
  ownerId: string;
  domainId: string;
  domain: string;
  mailbox(
    localPart: string,
    opts?: { quotaBytes?: bigint | number | null; enabled?: boolean; domainId?: string },
  ): Promise<{ id: string; address: string }>;
  alias(localPart: string | null, mailboxIds: string[], opts?: { enabled?: boolean; domainId?: string }): Promise<string>;
  /** Another domain of the owner; `aliasOf` makes it an alias domain of that one. */
  domainRow(opts?: DomainOpts): Promise<{ id: string; name: string }>;
}

interface DomainOpts {
  active?: boolean;
  maxStorageBytes?: bigint | number | null;
  aliasOf?: string;
  /** The domain's greylisting setting (null: the operator default). */
  greylisting?: boolean | null;
}

export function testPrisma(maxConnections = 10): PrismaClient {
  return createPrismaClient(testDatabaseUrl(), { maxConnections, applicationName: 'ingress-test' });
}

export async function createFixture(prisma: PrismaClient, opts: { maxStorageBytes?: bigint | number | null } = {}): Promise<Fixture> {
  const owner = await prisma.user.create({
    data: { email: `${uniqueName('owner')}@example.com`, passwordHash: 'x', role: 'OWNER' },
  });
  const makeDomain = async (o: DomainOpts = {}) => {
    const d = await prisma.domain.create({
      data: {
        name: `${uniqueName('d')}.example.com`,
        ownerId: owner.id,
        active: o.active ?? true,
        maxStorageBytes: o.maxStorageBytes == null ? null : BigInt(o.maxStorageBytes),
        verifiedAt: new Date(),
        aliasOfId: o.aliasOf ?? null,
        greylisting: o.greylisting ?? null,
      },
    });
    return { id: d.id, name: d.name };
  };
  const main = await makeDomain({ maxStorageBytes: opts.maxStorageBytes ?? null });
  const names = new Map<string, string>([[main.id, main.name]]);
  return {
    prisma,
    ownerId: owner.id,
    domainId: main.id,
    domain: main.name,
    async domainRow(o) {
      const d = await makeDomain(o);
      names.set(d.id, d.name);
      return d;
    },
    async mailbox(localPart, o = {}) {
      const domainId = o.domainId ?? main.id;
      const m = await prisma.mailbox.create({
        data: {
          domainId,
          localPart: localPart.toLowerCase(),
          passwordHash: 'x',
          quotaBytes: o.quotaBytes == null ? null : BigInt(o.quotaBytes),
          enabled: o.enabled ?? true,
        },
      });
      return { id: m.id, address: `${m.localPart}@${names.get(domainId)}` };
    },
    async alias(localPart, mailboxIds, o = {}) {
      const a = await prisma.alias.create({
        data: {
          domainId: o.domainId ?? main.id,
          localPart: localPart === null ? null : localPart.toLowerCase(),
          enabled: o.enabled ?? true,
          destinations: { create: mailboxIds.map((mailboxId) => ({ mailboxId })) },
        },
      });
      return a.id;
    },
  };
}

export async function mailboxState(prisma: PrismaClient, mailboxId: string) {
  const m = await prisma.mailbox.findUniqueOrThrow({ where: { id: mailboxId } });
  const rows = await prisma.message.findMany({ where: { mailboxId }, orderBy: { uid: 'asc' } });
  // `raw` as the whole message (a large one continues in message_parts); `head` as stored in messages.raw
  const whole = await prisma.$queryRaw<{ id: string; octets: Uint8Array; parts: bigint }[]>`
    SELECT id::text, message_octets(id) AS octets, (SELECT count(*) FROM message_parts p WHERE p.message_id = m.id) AS parts
      FROM messages m WHERE mailbox_id = ${mailboxId}::uuid`;
  const byId = new Map(whole.map((w) => [w.id, w]));
  const messages = rows.map((r) => ({ ...r, head: r.raw, raw: byId.get(r.id)!.octets, parts: Number(byId.get(r.id)!.parts) }));
  return { usedBytes: m.usedBytes, messageCount: m.messageCount, nextUid: m.nextUid, messages };
}

export async function domainUsedBytes(prisma: PrismaClient, domainId: string): Promise<bigint> {
  return (await prisma.domain.findUniqueOrThrow({ where: { id: domainId } })).usedBytes;
}
