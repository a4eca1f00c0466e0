// Quota warnings (stored by the ingress with counts_toward_quota = false) through a real POP3 session: STAT and LIST
// count them with their exact size, and deleting one gives back no usage it never took.
import { newId, type PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import { createMaildrop, deliver, makeMessage, Pop3TestClient, useTestDatabase, withServer } from './helpers.ts';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

/** A quota warning as the ingress stores it: a UID and a message, no usage. */
async function storeWarning(mailboxId: string, raw: Buffer): Promise<void> {
  const id = newId();
  await prisma.$executeRaw`
    WITH mb AS (UPDATE mailboxes SET next_uid = next_uid + 1, message_count = message_count + 1 WHERE id = ${mailboxId}::uuid RETURNING next_uid - 1 AS uid)
    INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, counts_toward_quota)
    SELECT ${id}::uuid, ${mailboxId}::uuid, mb.uid, mb.uid::text || 'w', ${raw.length}, ${raw}, false FROM mb`;
}

describe('quota warnings in the maildrop', () => {
  it('STAT/LIST are exact with a warning present; DELE of the warning leaves usage alone, DELE of mail gives its size back', async () => {
    const md = await createMaildrop(prisma);
    const mail = await deliver(prisma, md.mailboxId, makeMessage({ body: 'x'.repeat(3000) }));
    const warning = Buffer.from(
      'From: postmaster@x.example\r\nAuto-Submitted: auto-generated\r\nSubject: Your mailbox is 80% full\r\n\r\nwarning\r\n',
    );
    await storeWarning(md.mailboxId, warning);
    const usage = async () => {
      const m = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
      const d = await prisma.domain.findUniqueOrThrow({ where: { id: md.domainId } });
      return { mailbox: Number(m.usedBytes), domain: Number(d.usedBytes), count: m.messageCount };
    };
    expect(await usage()).toEqual({ mailbox: mail.raw.length, domain: mail.raw.length, count: 2 });

    await withServer(prisma, {}, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, md.password)).toMatch(/^\+OK/);
      expect(await c.cmd('STAT')).toBe(`+OK 2 ${mail.raw.length + warning.length}`);
      expect((await c.multi('LIST')).body.toString('latin1')).toBe(`1 ${mail.raw.length}\r\n2 ${warning.length}\r\n`);
      expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    });
    expect(await usage()).toEqual({ mailbox: mail.raw.length, domain: mail.raw.length, count: 1 });

    await withServer(prisma, {}, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, md.password)).toMatch(/^\+OK/);
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    });
    expect(await usage()).toEqual({ mailbox: 0, domain: 0, count: 0 });
  });
});
