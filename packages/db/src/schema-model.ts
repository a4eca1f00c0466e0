import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** prisma/schema.prisma at the repository root. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));

export interface ExpectedColumn {
  name: string;
  /** PostgreSQL type as information_schema reports it (udt_name; arrays as `_text` etc.). */
  udt: string;
  nullable: boolean;
}
export interface ExpectedIndex {
  columns: string[];
  unique: boolean;
  /** Index access method as pg_am names it (`btree` unless the schema gives `type:`). */
  method: string;
  /** Partial index predicate (`where: raw("…")`, Prisma's partialIndexes preview feature), normalized by normalizePredicate. */
  where?: string;
}
export interface ExpectedTable {
  name: string;
  columns: ExpectedColumn[];
  primaryKey: string[];
  /** Unique and non-unique indexes other than the primary key. */
  indexes: ExpectedIndex[];
}

const SCALAR_UDT: Record<string, string> = {
  String: 'text',
  Int: 'int4',
  BigInt: 'int8',
  Boolean: 'bool',
  DateTime: 'timestamp',
  Bytes: 'bytea',
  Json: 'jsonb',
  Float: 'float8',
  Decimal: 'numeric',
};
const NATIVE_UDT: Record<string, string> = {
  Uuid: 'uuid',
  Timestamptz: 'timestamptz',
  Timestamp: 'timestamp',
  Text: 'text',
  Citext: 'citext',
  Integer: 'int4',
  BigInt: 'int8',
};

/**
 * A partial index predicate in a comparable form: PostgreSQL prints `(verified_at IS NOT NULL)`, the schema may say
 * `verified_at IS NOT NULL` or quote identifiers; outer parentheses, double quotes, case and spacing are dropped.
 */
export function normalizePredicate(sql: string): string {
  let v = sql.replace(/"/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  while (v.startsWith('(') && v.endsWith(')')) v = v.slice(1, -1).trim();
  return v;
}

const mapName = (attrs: string) => /@map\("([^"]+)"\)/.exec(attrs)?.[1];
const fieldList = (s: string) =>
  s
    .split(',')
    .map((f) => f.trim().replace(/\(.*\)$/, ''))
    .filter(Boolean);

/**
 * Reads what schema.prisma declares about the database: tables, columns (type, nullability), primary keys, unique
 * constraints and indexes, with @map/@@map applied. Covers the schema features Mailroom uses.
 */
export async function readExpectedSchema(file = SCHEMA_PATH): Promise<{ tables: ExpectedTable[]; enums: Map<string, string> }> {
  const text = (await readFile(file, 'utf8')).replace(/\/\/.*$/gm, '');
  const enums = new Map<string, string>(); // prisma enum name -> db type name
  // Blocks end at a line holding only `}` (a `{}` default inside a block must not end it).
  for (const m of text.matchAll(/^enum\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    enums.set(m[1]!, /@@map\("([^"]+)"\)/.exec(m[2]!)?.[1] ?? m[1]!);
  }
  const models = [...text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const modelNames = new Set(models.map((m) => m[1]!));
  const tables: ExpectedTable[] = [];
  for (const [, modelName, body] of models) {
    const lines = body!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const fieldDb = new Map<string, string>();
    const columns: ExpectedColumn[] = [];
    let primaryKey: string[] = [];
    const indexes: ExpectedIndex[] = [];
    let tableName = modelName!;
    for (const line of lines) {
      if (line.startsWith('@@')) continue;
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, field, type, list, optional, attrs = ''] = m;
      if (modelNames.has(type!)) continue; // relation field: no column
      const column = mapName(attrs) ?? field!;
      fieldDb.set(field!, column);
      const native = /@db\.(\w+)/.exec(attrs)?.[1];
      let udt = enums.has(type!)
        ? enums.get(type!)!
        : native
          ? (NATIVE_UDT[native] ?? native.toLowerCase())
          : (SCALAR_UDT[type!] ?? type!.toLowerCase());
      if (list) udt = `_${udt}`;
      // Prisma lists are nullable columns in PostgreSQL unless @default is given.
      columns.push({ name: column, udt, nullable: Boolean(optional) || (Boolean(list) && !/@default/.test(attrs)) });
      if (/(^|\s)@id\b/.test(attrs)) primaryKey = [column];
      if (/(^|\s)@unique\b/.test(attrs)) indexes.push({ columns: [column], unique: true, method: 'btree' });
    }
    for (const line of lines) {
      const map = /^@@map\("([^"]+)"\)/.exec(line);
      if (map) tableName = map[1]!;
      const blk = /^@@(id|unique|index)\(\[([^\]]+)\](.*)$/.exec(line);
      if (!blk) continue;
      const cols = fieldList(blk[2]!).map((f) => fieldDb.get(f) ?? f);
      const method = (/\btype:\s*(\w+)/.exec(blk[3]!)?.[1] ?? 'btree').toLowerCase();
      const where = /\bwhere:\s*raw\("((?:[^"\\]|\\.)*)"\)/.exec(blk[3]!)?.[1];
      if (blk[1] === 'id') primaryKey = cols;
      else {
        const predicate = where ? { where: normalizePredicate(where.replace(/\\"/g, '"')) } : {};
        indexes.push({ columns: cols, unique: blk[1] === 'unique', method, ...predicate });
      }
    }
    tables.push({ name: tableName, columns, primaryKey, indexes });
  }
  return { tables, enums };
}
