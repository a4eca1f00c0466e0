import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readExpectedSchema } from './schema-model.ts';

describe('readExpectedSchema', () => {
  it('reads columns, keys and indexes with their access method and @map names', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'schema-model-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'schema.prisma');
    writeFileSync(
      file,
      `model Box {
  id        String  @id @db.Uuid
  localPart String  @map("local_part")
  name      String? @unique
  tags      String[]
  owner     Owner   @relation(fields: [ownerId], references: [id])
  ownerId   String  @map("owner_id") @db.Uuid

  @@unique([ownerId, localPart])
  @@index([localPart(ops: raw("gin_trgm_ops")), name(ops: raw("gin_trgm_ops"))], type: Gin)
  @@index([ownerId], type: Hash)
  @@unique([name], map: "boxes_name_live_key", where: raw("(\\"local_part\\" IS NOT NULL)"))
  @@map("boxes")
}

model Owner {
  id    String @id
  boxes Box[]
}
`,
    );
    const { tables } = await readExpectedSchema(file);
    const boxes = tables.find((t) => t.name === 'boxes')!;
    expect(boxes.columns).toEqual([
      { name: 'id', udt: 'uuid', nullable: false },
      { name: 'local_part', udt: 'text', nullable: false },
      { name: 'name', udt: 'text', nullable: true },
      { name: 'tags', udt: '_text', nullable: true },
      { name: 'owner_id', udt: 'uuid', nullable: false },
    ]);
    expect(boxes.primaryKey).toEqual(['id']);
    expect(boxes.indexes).toEqual([
      { columns: ['name'], unique: true, method: 'btree' },
      { columns: ['owner_id', 'local_part'], unique: true, method: 'btree' },
      { columns: ['local_part', 'name'], unique: false, method: 'gin' },
      { columns: ['owner_id'], unique: false, method: 'hash' },
      { columns: ['name'], unique: true, method: 'btree', where: 'local_part is not null' },
    ]);
  });
});
