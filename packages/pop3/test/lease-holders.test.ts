import { spawn } from 'node:child_process';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import { createHolderName, isDeadLocalHolder, localHolderScope, registerRunningHolder } from '../src/lease-holder.ts';
import { createMaildrop, loginOnce, useTestDatabase, withServer } from './helpers.ts';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

/** The pid of a process that has exited (and been reaped): certainly dead. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A lease as a crashed process left it: held for an hour more. */
async function strandLease(mailboxId: string, holder: string): Promise<void> {
  await prisma.maildropLease.create({ data: { mailboxId, holder, session: `s-${holder}`, expiresAt: new Date(Date.now() + 3_600_000) } });
}

describe('lease holder names', () => {
  const scope = { prefix: 'mx1:boot-a:4026531836:', checkable: true };
  it('judge dead only a gone process of this machine, boot and pid namespace', () => {
    const gone = () => false;
    const alive = () => true;
    expect(isDeadLocalHolder(createHolderName(scope, 4242), scope, gone, 1)).toBe(true);
    expect(isDeadLocalHolder(createHolderName(scope, 4242), scope, alive, 1)).toBe(false);
    // another host, another boot, another container (pid namespace): unknown, so alive until the lease lapses
    for (const other of ['mx2:boot-a:4026531836:', 'mx1:boot-b:4026531836:', 'mx1:boot-a:4026532000:']) {
      expect(isDeadLocalHolder(createHolderName({ prefix: other, checkable: true }, 4242), scope, gone, 1)).toBe(false);
    }
    // a restarted container's pid 1 under another nonce is its predecessor; this process's running servers are not
    expect(isDeadLocalHolder(createHolderName(scope, 1), scope, alive, 1)).toBe(true);
    const mine = createHolderName(scope, 1);
    const unregister = registerRunningHolder(mine);
    expect(isDeadLocalHolder(mine, scope, alive, 1)).toBe(false);
    unregister();
    // old-style and forged names, or no /proc: never dead
    expect(isDeadLocalHolder('mx1:4242:abcdef', scope, gone, 1)).toBe(false);
    expect(isDeadLocalHolder(`${scope.prefix}4242:abc;drop`, scope, gone, 1)).toBe(false);
    expect(isDeadLocalHolder(createHolderName(scope, 4242), { ...scope, checkable: false }, gone, 1)).toBe(false);
  });
});

describe('leases of crashed POP3 processes on this machine', () => {
  it("a login meeting a dead local holder's lease takes the maildrop at once; a live holder's lease still refuses", async () => {
    await withServer(prisma, {}, async (srv) => {
      const dead = await createMaildrop(prisma);
      const deadHolder = createHolderName(localHolderScope(), await deadPid());
      await strandLease(dead.mailboxId, deadHolder);
      const other = await createMaildrop(prisma);
      await strandLease(other.mailboxId, deadHolder);
      expect(await loginOnce(srv.port, dead.address, dead.password)).toBe('+OK Logged in.');
      // every lease of that dead holder went with it
      expect(await prisma.maildropLease.count({ where: { holder: deadHolder } })).toBe(0);

      const live = await createMaildrop(prisma);
      const sleeper = spawn('sleep', ['60']);
      try {
        await strandLease(live.mailboxId, createHolderName(localHolderScope(), sleeper.pid!));
        expect(await loginOnce(srv.port, live.address, live.password)).toMatch(/^-ERR \[IN-USE\]/);
      } finally {
        sleeper.kill('SIGKILL');
      }
      // a holder on another machine is never judged: its lease must lapse
      const remote = await createMaildrop(prisma);
      await strandLease(remote.mailboxId, createHolderName({ prefix: 'elsewhere:boot:1:', checkable: true }, 1));
      expect(await loginOnce(srv.port, remote.address, remote.password)).toMatch(/^-ERR \[IN-USE\]/);
    });
  });

  it('a (re)starting server releases every lease of dead local holders before it listens', async () => {
    const holder = createHolderName(localHolderScope(), await deadPid());
    const mds = [await createMaildrop(prisma), await createMaildrop(prisma)];
    for (const md of mds) await strandLease(md.mailboxId, holder);
    await withServer(prisma, {}, async () => {
      expect(await prisma.maildropLease.count({ where: { holder } })).toBe(0);
    });
  });
});
