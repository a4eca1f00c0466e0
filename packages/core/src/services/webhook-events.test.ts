import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordAudit } from './audit.ts';
import { AUDIT_WEBHOOK_EVENTS, signWebhook, webhookEventFromAudit } from './webhook-events.ts';
import { decryptWebhookSecret, encryptWebhookSecret, generateWebhookSecret } from './webhook-secrets.ts';
import { WEBHOOK_EVENT_TYPES } from '../schemas/webhooks.ts';

let prisma: PrismaClient;
beforeAll(() => {
  prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 2, applicationName: 'core-webhook-test' });
});
afterAll(async () => prisma?.$disconnect());

const actor = { principal: { kind: 'system' as const, label: 'test' } };

describe('webhook outbox through recordAudit', () => {
  test('a committed audited change writes its mapped event; one rolled back after the audit write leaves neither', async () => {
    const owner = await prisma.user.create({ data: { email: `${uniqueName('o')}@example.com`, passwordHash: 'x', role: 'OWNER' } });
    const entry = {
      action: 'mailbox.disable',
      targetType: 'mailbox',
      targetId: crypto.randomUUID(),
      ownerId: owner.id,
      details: { domainId: crypto.randomUUID(), password: 'hunter2' },
    };
    await expect(
      prisma.$transaction(async (tx) => {
        await recordAudit(tx, actor, entry);
        throw new Error('forced rollback after the audit write');
      }),
    ).rejects.toThrow('forced rollback');
    expect(await prisma.webhookEvent.count({ where: { ownerId: owner.id } })).toBe(0);
    expect(await prisma.auditEvent.count({ where: { ownerId: owner.id } })).toBe(0);

    await prisma.$transaction((tx) => recordAudit(tx, actor, entry));
    await recordAudit(prisma, actor, { ...entry, action: 'api-key.revoke', targetType: 'api-key' });
    await recordAudit(prisma, actor, { ...entry, action: 'alias.create' });
    const events = await prisma.webhookEvent.findMany({ where: { ownerId: owner.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['mailbox.disabled', 'api_key.revoked']);
    expect(events[0]!.domainId).toBe(entry.details.domainId);
    expect(events[0]!.data).toMatchObject({ mailboxId: entry.targetId, ownerId: owner.id });
    expect(JSON.stringify(events.map((e) => e.data))).not.toContain('hunter2');
  });

  test('every mapped event type is a public event type, and every listed change has an audit action', () => {
    for (const t of Object.values(AUDIT_WEBHOOK_EVENTS)) expect(WEBHOOK_EVENT_TYPES).toContain(t);
    const emitted = new Set(Object.values(AUDIT_WEBHOOK_EVENTS));
    // quota warnings come from the ingress through recordEvent, refused second steps from the sign-in log, not from an
    // audit action
    expect(WEBHOOK_EVENT_TYPES.filter((t) => !emitted.has(t))).toEqual([
      'mailbox.quota_warning',
      'mailbox.second_factor_refused',
      'user.second_factor_refused',
    ]);
    expect(webhookEventFromAudit({ action: 'auth.login', targetType: 'user', details: {} })).toBeNull();
  });
});

describe('webhook secrets and signatures', () => {
  test('secrets round-trip under the server secret and fail under another; signatures follow Standard Webhooks', () => {
    const s = generateWebhookSecret();
    const stored = encryptWebhookSecret(s, 'a'.repeat(32));
    expect(stored).not.toContain(s.slice(6));
    expect(decryptWebhookSecret(stored, 'a'.repeat(32))).toBe(s);
    expect(() => decryptWebhookSecret(stored, 'b'.repeat(32))).toThrow();
    // the example of the Standard Webhooks specification
    const sig = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
