import { createApiKey, createPasswordHasher, authenticateApiKey, listMailboxes } from '@mailroom/core';
import { mailboxPageSchema } from '@mailroom/core/schemas';
import { createPrismaClient, newId } from '@mailroom/db';
import { acquireTestServer, createTestDatabase } from '@mailroom/db/testing';
const server = await acquireTestServer();
const db = await createTestDatabase(server.adminUrl, 'apiprof');
const prisma = createPrismaClient(db.url, { maxConnections: 10 });
const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
const owner = await prisma.user.create({ data: { email: `p-${Date.now()}@example.com`, passwordHash: 'x', role: 'OWNER' } });
const domain = await prisma.domain.create({ data: { name: `p${Date.now()}.example`, ownerId: owner.id } });
await prisma.mailbox.createMany({ data: Array.from({ length: 2000 }, (_, i) => ({ id: newId(), domainId: domain.id, localPart: `u${String(i).padStart(5, '0')}`, passwordHash: 'x' })) });
const key = (await createApiKey(prisma, { principal: { kind: 'system', label: 'b' } }, { userId: owner.id, name: 'b', scopes: ['mailboxes:read'] })).key;
async function time(label: string, n: number, fn: () => Promise<unknown> | unknown) {
  for (let i = 0; i < 50; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn();
  console.log(label, ((performance.now() - t) / n).toFixed(3), 'ms');
}
const p = (await authenticateApiKey(prisma, key))!;
await time('authenticateApiKey', 500, () => authenticateApiKey(prisma, key));
await time('domain.findFirst', 500, () => prisma.domain.findFirst({ where: { AND: [{ id: domain.id }, { ownerId: owner.id }] }, select: { id: true, name: true } }));
await time('queryRaw select 1', 500, () => prisma.$queryRaw`SELECT 1`);
await time('listMailboxes', 500, () => listMailboxes(prisma, { principal: p }, domain.id, { limit: 50 }));
await time('raw key join', 500, () => prisma.$queryRaw`SELECT k.id, k.secret_hash, k.scopes, k.domain_ids::text[] AS domain_ids, k.expires_at, k.revoked_at, k.last_used_at, u.id AS user_id, u.email, u.role::text AS role, u.disabled FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ${key.slice(3, 15)}`);
await time('raw list lateral', 500, () => prisma.$queryRaw`SELECT d.name AS domain_name, m.* FROM domains d LEFT JOIN LATERAL (SELECT m.id, m.local_part, m.display_name, m.quota_bytes, m.used_bytes, m.message_count, m.enabled, m.last_login_at, m.last_login_ip, m.created_at, m.updated_at FROM mailboxes m WHERE m.domain_id = d.id ORDER BY m.local_part LIMIT 51) m ON true WHERE d.id = ${domain.id}::uuid AND d.owner_id = ${owner.id}::uuid`);
const page = await listMailboxes(prisma, { principal: p }, domain.id, { limit: 50 });
await time('zod encode page', 2000, () => JSON.stringify(mailboxPageSchema.encode(page)));
await time('JSON.stringify page', 2000, () => JSON.stringify(page));
await prisma.$disconnect(); await db.drop(); await server.stop();
