import pg from 'pg';
import { normalizePredicate, readExpectedSchema, type ExpectedIndex } from './schema-model.ts';

const key = (i: ExpectedIndex) =>
  `${i.unique ? 'unique' : 'index'}${i.method === 'btree' ? '' : ` ${i.method}`}(${i.columns.join(',')})${i.where ? ` where ${i.where}` : ''}`;

/**
 * Differences between what schema.prisma declares and what the migrated database holds: tables, columns, types,
 * nullability, primary keys, unique constraints and indexes (with their access method and partial-index predicate),
 * enums. An empty list means no drift.
 */
export async function findSchemaDrift(connectionString: string): Promise<string[]> {
  const expected = await readExpectedSchema();
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const problems: string[] = [];
    const { rows: tableRows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'",
    );
    const actualTables = new Set(tableRows.map((r) => r.table_name));
    for (const t of expected.tables) if (!actualTables.has(t.name)) problems.push(`table ${t.name}: missing in database`);
    for (const name of actualTables)
      if (!expected.tables.some((t) => t.name === name)) problems.push(`table ${name}: not in schema.prisma`);

    const { rows: colRows } = await client.query<{ table_name: string; column_name: string; udt_name: string; is_nullable: string }>(
      "SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'",
    );
    type IndexRow = {
      table_name: string;
      is_unique: boolean;
      is_primary: boolean;
      method: string;
      columns: string[];
      predicate: string | null;
    };
    const { rows: idxRows } = await client.query<IndexRow>(`
      SELECT t.relname AS table_name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary, am.amname AS method,
             array_agg(a.attname ORDER BY k.ord)::text[] AS columns, pg_get_expr(ix.indpred, ix.indrelid) AS predicate
      FROM pg_index ix
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_class ic ON ic.oid = ix.indexrelid
      JOIN pg_am am ON am.oid = ic.relam
      JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
      CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      GROUP BY t.relname, ix.indexrelid, ix.indisunique, ix.indisprimary, am.amname, ix.indpred, ix.indrelid`);

    for (const t of expected.tables) {
      if (!actualTables.has(t.name)) continue;
      const cols = new Map(colRows.filter((c) => c.table_name === t.name).map((c) => [c.column_name, c]));
      for (const c of t.columns) {
        const a = cols.get(c.name);
        if (!a) {
          problems.push(`${t.name}.${c.name}: column missing in database`);
          continue;
        }
        if (a.udt_name !== c.udt) problems.push(`${t.name}.${c.name}: type ${a.udt_name} in database, ${c.udt} in schema`);
        if ((a.is_nullable === 'YES') !== c.nullable)
          problems.push(`${t.name}.${c.name}: nullable=${a.is_nullable === 'YES'} in database, ${c.nullable} in schema`);
        cols.delete(c.name);
      }
      for (const extra of cols.keys()) problems.push(`${t.name}.${extra}: column not in schema.prisma`);

      const idx = idxRows.filter((i) => i.table_name === t.name);
      const pk = idx.find((i) => i.is_primary);
      if ((pk?.columns ?? []).join(',') !== t.primaryKey.join(',')) {
        problems.push(`${t.name}: primary key (${pk?.columns.join(',') ?? ''}) in database, (${t.primaryKey.join(',')}) in schema`);
      }
      const actual = new Set(
        idx
          .filter((i) => !i.is_primary)
          .map((i) =>
            key({
              columns: i.columns,
              unique: i.is_unique,
              method: i.method,
              ...(i.predicate ? { where: normalizePredicate(i.predicate) } : {}),
            }),
          ),
      );
      const wanted = new Set(t.indexes.map(key));
      for (const w of wanted) if (!actual.has(w)) problems.push(`${t.name}: ${w} missing in database`);
      for (const a of actual) if (!wanted.has(a)) problems.push(`${t.name}: ${a} not in schema.prisma`);
    }

    const { rows: enumRows } = await client.query<{ typname: string; labels: string[] }>(
      // public only: other schemas (pg-boss's job queue in "pgboss") hold their own types
      'SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid ' +
        "JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public' GROUP BY t.typname",
    );
    const actualEnums = new Set(enumRows.map((e) => e.typname));
    for (const dbName of expected.enums.values()) if (!actualEnums.has(dbName)) problems.push(`enum ${dbName}: missing in database`);
    return problems;
  } finally {
    await client.end();
  }
}
