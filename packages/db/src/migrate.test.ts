import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR, readMigrations } from './migrate.ts';
import { findSchemaDrift } from './drift.ts';
import { createTestDatabase } from './testing/index.ts';

const adminUrl = () => process.env.MAILROOM_TEST_PG_URL!;

describe('migrations', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase(adminUrl(), 'migrate');
  });
  afterAll(async () => db?.drop());

  it('records every migration in _prisma_migrations the way Prisma does (SHA-256 checksum, finished)', async () => {
    const files = await readMigrations();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query(
      'SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM _prisma_migrations ORDER BY migration_name',
    );
    await c.end();
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, r] of rows.entries()) {
      expect(r.checksum).toBe(files[i]!.checksum);
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
      expect(r.rolled_back_at).toBeNull();
    }
  });

  it('is idempotent and safe to run concurrently (advisory lock)', async () => {
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    for (const r of results) expect(r.applied).toEqual([]);
  });

  it('refuses a migration edited after it was applied', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-mig-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const first = (await readMigrations(dir))[0]!;
      const file = path.join(dir, first.name, 'migration.sql');
      await writeFile(file, `${await readFile(file, 'utf8')}\n-- edited\n`);
      await expect(applyMigrations(db.url, dir)).rejects.toThrow(/checksum mismatch/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration and leaves no finished row for it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-mig-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const bad = path.join(dir, '29991231000000_broken');
      await (await import('node:fs/promises')).mkdir(bad);
      await writeFile(path.join(bad, 'migration.sql'), 'CREATE TABLE drift_probe (id int);\nSELECT * FROM no_such_table;\n');
      await expect(applyMigrations(db.url, dir)).rejects.toThrow(/29991231000000_broken failed/);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const probe = await c.query("SELECT to_regclass('public.drift_probe') AS t");
      const row = await c.query("SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = '29991231000000_broken'");
      await c.end();
      expect(probe.rows[0].t).toBeNull();
      expect(row.rows[0].n).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('schema drift', () => {
  it('finds no difference between the migrated database and schema.prisma', async () => {
    const db = await createTestDatabase(adminUrl(), 'drift');
    try {
      expect(await findSchemaDrift(db.url)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('reports a column, an index and a nullability change that the migrations lack', async () => {
    const db = await createTestDatabase(adminUrl(), 'drift2');
    try {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('ALTER TABLE mailboxes DROP COLUMN display_name');
      await c.query('DROP INDEX messages_mailbox_id_uidl_key');
      await c.query('ALTER TABLE domains ALTER COLUMN description SET NOT NULL');
      await c.query('ALTER TABLE users ADD COLUMN rogue int');
      // A partial unique index replaced by a plain one is drift too (one verified domain per name, pending claims free).
      await c.query('DROP INDEX domains_name_verified_key');
      await c.query('CREATE UNIQUE INDEX domains_name_everything_key ON domains (name)');
      await c.end();
      const drift = await findSchemaDrift(db.url);
      expect(drift).toContain('mailboxes.display_name: column missing in database');
      expect(drift).toContain('messages: unique(mailbox_id,uidl) missing in database');
      expect(drift).toContain('domains.description: nullable=false in database, true in schema');
      expect(drift).toContain('users.rogue: column not in schema.prisma');
      expect(drift).toContain('domains: unique(name) where verified_at is not null missing in database');
      expect(drift).toContain('domains: unique(name) not in schema.prisma');
    } finally {
      await db.drop();
    }
  });
});

/**
 * A database migrated up to (not including) `migration`, and a client on it; everything made here goes when the test
 * ends (last registered, first undone: client, database, directory).
 */
async function databaseBefore(migration: string, name: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-mig-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  for (const m of await readMigrations(dir)) if (m.name >= migration) await rm(path.join(dir, m.name), { recursive: true });
  const before = await createTestDatabase(adminUrl(), name, { migrationsDir: dir });
  onTestFinished(() => before.drop());
  const c = new pg.Client({ connectionString: before.url });
  await c.connect();
  onTestFinished(() => c.end());
  return { before, c };
}

describe('data migrations', () => {
  it("20261207000000: a mailbox user's earlier policy writes move to their own opt-in; the owner's setting comes back", async () => {
    const MIGRATION = '20261207000000_app_passwords_user_opt_in';
    // the database as it was before the migration, holding what each kind of history left in the owner's column
    const { before, c } = await databaseBefore(MIGRATION, 'optin');
    const owner = randomUUID();
    const domain = randomUUID();
    await c.query(`INSERT INTO users (id, email, password_hash, role, updated_at) VALUES ($1, 'o@example.org', 'x', 'OWNER', now())`, [
      owner,
    ]);
    await c.query(`INSERT INTO domains (id, name, owner_id, verified_at, updated_at) VALUES ($1, 'optin.example', $2, now(), now())`, [
      domain,
      owner,
    ]);
    // [local part, value in the owner's column now, the policy changes in order: who and what]
    const histories: [string, boolean | null, [string, boolean | null][]][] = [
      ['owner-only', true, [['user', true]]],
      [
        'user-lifted-owner',
        false,
        [
          ['apiKey', true],
          ['mailbox', false],
        ],
      ],
      ['user-opted-in', true, [['mailbox', true]]],
      ['user-lifted-operator', false, [['mailbox', false]]],
      [
        'owner-after-user',
        false,
        [
          ['mailbox', true],
          ['user', false],
        ],
      ],
      [
        'user-to-null',
        null,
        [
          ['user', true],
          ['mailbox', null],
        ],
      ],
      ['no-history', false, []],
    ];
    for (const [localPart, value, changes] of histories) {
      const id = randomUUID();
      await c.query(
        `INSERT INTO mailboxes (id, domain_id, local_part, password_hash, updated_at, pop3_app_passwords_required) VALUES ($1, $2, $3, 'x', now(), $4)`,
        [id, domain, localPart, value],
      );
      for (const [i, [actorType, requiredForPop3]] of changes.entries()) {
        await c.query(
          `INSERT INTO audit_events (id, actor_type, actor_label, owner_id, action, target_type, target_id, details, created_at)
           VALUES ($1, $2, 'test', $3, 'mailbox.app-password.policy', 'mailbox', $4, $5, now() - make_interval(mins => $6))`,
          [randomUUID(), actorType, owner, id, JSON.stringify({ requiredForPop3 }), changes.length - i],
        );
      }
    }
    expect((await applyMigrations(before.url)).applied).toContain(MIGRATION);
    const { rows } = await c.query(
      'SELECT local_part, pop3_app_passwords_required AS owners, pop3_app_passwords_user_required AS users FROM mailboxes ORDER BY local_part',
    );
    expect(Object.fromEntries(rows.map((r) => [r.local_part, [r.owners, r.users]]))).toEqual({
      'owner-only': [true, false],
      'user-lifted-owner': [true, false], // the key's true is back; the user's false lifts nothing
      'user-opted-in': [null, true],
      'user-lifted-operator': [null, false],
      'owner-after-user': [false, false], // the owner decided last
      'user-to-null': [true, false],
      'no-history': [false, false],
    });
  });

  it('20261214000000: block rules counted per list, backfilled, and kept by inserts, updates, deletes and cascades', async () => {
    const MIGRATION = '20261214000000_sender_rule_block_counts';
    const { before, c } = await databaseBefore(MIGRATION, 'blocks');
    const owner = randomUUID();
    const [d1, d2, m1, m2, m3] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await c.query(`INSERT INTO users (id, email, password_hash, role, updated_at) VALUES ($1, 'b@example.org', 'x', 'OWNER', now())`, [
      owner,
    ]);
    for (const [id, name] of [
      [d1, 'one.example'],
      [d2, 'two.example'],
    ])
      await c.query(`INSERT INTO domains (id, name, owner_id, verified_at, updated_at) VALUES ($1, $2, $3, now(), now())`, [
        id,
        name,
        owner,
      ]);
    for (const [id, domain, lp] of [
      [m1, d1, 'a'],
      [m2, d1, 'b'],
      [m3, d2, 'c'],
    ])
      await c.query(`INSERT INTO mailboxes (id, domain_id, local_part, password_hash, updated_at) VALUES ($1, $2, $3, 'x', now())`, [
        id,
        domain,
        lp,
      ]);
    /** Adds rules in one statement: [domain, mailbox or null, pattern, action]. */
    const add = (rules: [string, string | null, string, string][]) =>
      c.query(
        `INSERT INTO sender_rules (id, domain_id, mailbox_id, pattern, action, updated_at)
         SELECT gen_random_uuid(), d, m, p, a, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS t(d, m, p, a)`,
        [rules.map((r) => r[0]), rules.map((r) => r[1]), rules.map((r) => r[2]), rules.map((r) => r[3])],
      );
    await add([
      [d1, null, 'spam.example', 'block'],
      [d1, null, 'ok.example', 'allow'],
      [d1, m1, 'x.example', 'block'],
      [d1, m1, 'y.example', 'block'],
      [d2, m3, 'z.example', 'allow'],
    ]);
    expect((await applyMigrations(before.url)).applied).toContain(MIGRATION);
    /** Each list's stored count against a recount of its rules. */
    const counts = async () => {
      const { rows } = await c.query(
        `SELECT id::text, sender_blocks AS stored,
                (SELECT count(*)::int FROM sender_rules r WHERE r.domain_id = d.id AND r.mailbox_id IS NULL AND r.action = 'block') AS real
           FROM domains d
         UNION ALL
         SELECT id::text, sender_blocks, (SELECT count(*)::int FROM sender_rules r WHERE r.mailbox_id = m.id AND r.action = 'block')
           FROM mailboxes m`,
      );
      for (const r of rows) expect(r.stored, r.id).toBe(r.real);
      return Object.fromEntries(rows.map((r) => [r.id, r.stored]));
    };
    expect(await counts()).toEqual({ [d1]: 1, [d2]: 0, [m1]: 2, [m2]: 0, [m3]: 0 });
    // one statement over several lists, blocks and allows
    await add([
      [d1, null, 'more.example', 'block'],
      [d2, null, 'b.example', 'block'],
      [d1, m2, 'w.example', 'block'],
      [d1, m2, 'v.example', 'allow'],
    ]);
    expect(await counts()).toEqual({ [d1]: 2, [d2]: 1, [m1]: 2, [m2]: 1, [m3]: 0 });
    // updates both ways in one statement, and one that changes nothing
    await c.query(
      `UPDATE sender_rules SET action = CASE action WHEN 'block' THEN 'allow' ELSE 'block' END WHERE pattern IN ('x.example', 'v.example', 'z.example', 'ok.example')`,
    );
    await c.query(`UPDATE sender_rules SET updated_at = now()`);
    expect(await counts()).toEqual({ [d1]: 3, [d2]: 1, [m1]: 1, [m2]: 2, [m3]: 1 });
    await c.query(`DELETE FROM sender_rules WHERE pattern IN ('spam.example', 'w.example', 'v.example')`);
    expect(await counts()).toEqual({ [d1]: 2, [d2]: 1, [m1]: 1, [m2]: 0, [m3]: 1 });
    // a mailbox deleted with its rules, then a domain with everything in it
    await c.query('DELETE FROM mailboxes WHERE id = $1', [m1]);
    expect(await counts()).toEqual({ [d1]: 2, [d2]: 1, [m2]: 0, [m3]: 1 });
    await c.query('DELETE FROM domains WHERE id = $1', [d2]);
    expect(await counts()).toEqual({ [d1]: 2, [m2]: 0 });
  });
});
