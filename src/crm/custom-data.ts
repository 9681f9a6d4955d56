// Custom data: categories of typed fields (text | number | date) and one value per (field, friend), stored in the typed column
// of custom_values so segments compare numbers and dates through an index. Why this shape: ARCHITECTURE.md "Custom data
// storage". Every write of values ends in writeValuesFrom, one set-based statement: integrations (Shopify) own read-only
// categories and write through it directly (the sync derives its values from its mirror inside PostgreSQL); operators and the
// API go through setCustomValue, which refuses read-only fields with 403 READ_ONLY_FIELD, and writeCustomValues.
import type pg from 'pg';
import type { Queryable } from '../db/index.js';
import { AppError, Codes } from '../errors.js';
import { CrmCodes } from './codes.js';
import { parseId } from './friends.js';

export type FieldType = 'text' | 'number' | 'date';
export const FIELD_TYPES: readonly FieldType[] = ['text', 'number', 'date'];

export interface CustomField {
  id: number;
  categoryId: number;
  key: string | null;
  name: string;
  type: FieldType;
  /** The field or its category is read-only. */
  readOnly: boolean;
  sortOrder: number;
}

export interface CustomCategory {
  id: number;
  key: string | null;
  name: string;
  readOnly: boolean;
  sortOrder: number;
  fields: CustomField[];
}

/** A value as the API shows it: string, number, 'YYYY-MM-DD', or null. */
export type CustomValue = string | number | null;

export function categoryJson(c: CustomCategory) {
  return {
    id: String(c.id),
    key: c.key,
    name: c.name,
    readOnly: c.readOnly,
    fields: c.fields.map(fieldJson),
  };
}

export function fieldJson(f: CustomField) {
  return { id: String(f.id), key: f.key, name: f.name, type: f.type, readOnly: f.readOnly };
}

const FIELD_COLUMNS = `f.id, f.category_id, f.key, f.name, f.type, (f.read_only OR c.read_only) AS read_only, f.sort_order`;

/** What FIELD_COLUMNS select (bigint ids arrive as numbers: src/db/index.ts). */
interface FieldRow {
  id: number;
  category_id: number;
  key: string | null;
  name: string;
  /** custom_fields.type is CHECKed to these three. */
  type: FieldType;
  read_only: boolean;
  sort_order: number;
}

interface CategoryRow {
  id: number;
  key: string | null;
  name: string;
  read_only: boolean;
  sort_order: number;
}

function toField(r: FieldRow): CustomField {
  return { id: r.id, categoryId: r.category_id, key: r.key, name: r.name, type: r.type, readOnly: r.read_only, sortOrder: r.sort_order };
}

function toCategory(r: CategoryRow): CustomCategory {
  return { id: r.id, key: r.key, name: r.name, readOnly: r.read_only, sortOrder: r.sort_order, fields: [] };
}

/** Every category with its fields, in display order. */
export async function listCustomData(db: Queryable, tenantId: string): Promise<CustomCategory[]> {
  const [cats, fields] = await Promise.all([
    db.query<CategoryRow>(`SELECT id, key, name, read_only, sort_order FROM custom_categories WHERE tenant_id = $1 ORDER BY sort_order, id`, [tenantId]),
    db.query<FieldRow>(
      `SELECT ${FIELD_COLUMNS} FROM custom_fields f JOIN custom_categories c ON c.id = f.category_id
       WHERE f.tenant_id = $1 ORDER BY f.sort_order, f.id`,
      [tenantId],
    ),
  ]);
  const byId = new Map<number, CustomCategory>();
  for (const r of cats.rows) byId.set(r.id, toCategory(r));
  for (const r of fields.rows) byId.get(r.category_id)?.fields.push(toField(r));
  return [...byId.values()];
}

export async function getField(db: Queryable, tenantId: string, fieldId: number | string): Promise<CustomField | null> {
  const id = parseId(fieldId);
  if (id === null) return null;
  const { rows } = await db.query<FieldRow>(
    `SELECT ${FIELD_COLUMNS} FROM custom_fields f JOIN custom_categories c ON c.id = f.category_id WHERE f.tenant_id = $1 AND f.id = $2`,
    [tenantId, id],
  );
  return rows[0] ? toField(rows[0]) : null;
}

/** A field by its (current) name, optionally within one category (by category name). First in display order. */
export async function fieldByName(db: Queryable, tenantId: string, name: string, categoryName?: string): Promise<CustomField | null> {
  const { rows } = await db.query<FieldRow>(
    `SELECT ${FIELD_COLUMNS} FROM custom_fields f JOIN custom_categories c ON c.id = f.category_id
     WHERE f.tenant_id = $1 AND f.name = $2 AND ($3::text IS NULL OR c.name = $3) ORDER BY c.sort_order, c.id, f.sort_order LIMIT 1`,
    [tenantId, name, categoryName ?? null],
  );
  return rows[0] ? toField(rows[0]) : null;
}

/** A field by the stable keys an integration gave it (unchanged by renames). */
export async function fieldByKey(db: Queryable, tenantId: string, categoryKey: string, fieldKey: string): Promise<CustomField | null> {
  const { rows } = await db.query<FieldRow>(
    `SELECT ${FIELD_COLUMNS} FROM custom_fields f JOIN custom_categories c ON c.id = f.category_id
     WHERE f.tenant_id = $1 AND c.key = $2 AND f.key = $3`,
    [tenantId, categoryKey, fieldKey],
  );
  return rows[0] ? toField(rows[0]) : null;
}

function checkName(name: string): string {
  const n = (name ?? '').trim();
  if (!n || n.length > 100) throw new AppError(Codes.VALIDATION_FAILED, 'A name must have 1 to 100 characters.');
  return n;
}

function uniqueViolation(e: unknown, what: string): never {
  if ((e as { code?: string }).code === '23505') throw new AppError(Codes.CONFLICT, `${what} already exists.`);
  throw e;
}

/** A category the brand creates (editable). */
export async function createCategory(db: Queryable, tenantId: string, input: { name: string }): Promise<CustomCategory> {
  const name = checkName(input.name);
  try {
    const { rows } = await db.query<CategoryRow>(
      `INSERT INTO custom_categories (tenant_id, name, sort_order)
       VALUES ($1, $2, (SELECT coalesce(max(sort_order), 0) + 1 FROM custom_categories WHERE tenant_id = $1))
       RETURNING id, key, name, read_only, sort_order`,
      [tenantId, name],
    );
    return toCategory(rows[0]);
  } catch (e) {
    uniqueViolation(e, `A category named ${name}`);
  }
}

async function editableCategory(db: Queryable, tenantId: string, categoryId: number | string): Promise<{ id: number; readOnly: boolean }> {
  const id = parseId(categoryId);
  const { rows } =
    id === null
      ? { rows: [] }
      : await db.query<Pick<CategoryRow, 'id' | 'read_only'>>(`SELECT id, read_only FROM custom_categories WHERE tenant_id = $1 AND id = $2`, [
          tenantId,
          id,
        ]);
  if (!rows[0]) throw new AppError(Codes.NOT_FOUND, `No category ${categoryId}.`);
  if (rows[0].read_only) throw new AppError(CrmCodes.READ_ONLY_FIELD, 'This category is managed by an integration and cannot be edited.');
  return { id: rows[0].id, readOnly: false };
}

export async function renameCategory(db: Queryable, tenantId: string, categoryId: number | string, name: string): Promise<void> {
  const c = await editableCategory(db, tenantId, categoryId);
  const n = checkName(name);
  try {
    await db.query(`UPDATE custom_categories SET name = $3 WHERE tenant_id = $1 AND id = $2`, [tenantId, c.id, n]);
  } catch (e) {
    uniqueViolation(e, `A category named ${n}`);
  }
}

/** A field the brand adds to one of its own (editable) categories. */
export async function createField(
  db: Queryable,
  tenantId: string,
  categoryId: number | string,
  input: { name: string; type: string },
): Promise<CustomField> {
  const c = await editableCategory(db, tenantId, categoryId);
  const name = checkName(input.name);
  if (!FIELD_TYPES.includes(input.type as FieldType)) {
    throw new AppError(Codes.VALIDATION_FAILED, `type must be one of ${FIELD_TYPES.join(', ')}.`);
  }
  try {
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO custom_fields (tenant_id, category_id, name, type, sort_order)
       VALUES ($1, $2, $3, $4, (SELECT coalesce(max(sort_order), 0) + 1 FROM custom_fields WHERE category_id = $2))
       RETURNING id`,
      [tenantId, c.id, name, input.type],
    );
    return (await getField(db, tenantId, rows[0].id))!;
  } catch (e) {
    uniqueViolation(e, `A field named ${name} in this category`);
  }
}

export async function renameField(db: Queryable, tenantId: string, fieldId: number | string, name: string): Promise<void> {
  const f = await getField(db, tenantId, fieldId);
  if (!f) throw new AppError(Codes.NOT_FOUND, `No field ${fieldId}.`);
  if (f.readOnly) throw new AppError(CrmCodes.READ_ONLY_FIELD, 'This field is managed by an integration and cannot be edited.');
  const n = checkName(name);
  try {
    await db.query(`UPDATE custom_fields SET name = $3 WHERE tenant_id = $1 AND id = $2`, [tenantId, f.id, n]);
  } catch (e) {
    uniqueViolation(e, `A field named ${n} in this category`);
  }
}

export interface FieldSpec {
  /** Stable identifier within the category; how later calls find the field even if it was renamed. */
  key: string;
  name: string;
  type: FieldType;
}

/**
 * Makes sure a category with these fields exists, in this order — idempotent: calling it again with the same spec changes
 * nothing; fields missing from an existing category are added; existing fields (found by key) keep their current name.
 * For integrations (`データ連携(shopify)` with its 22 read-only fields). A field whose key exists with another type is an error.
 * Safe to run concurrently: every insert is ON CONFLICT DO NOTHING on the stable keys, so two calls at once create one set.
 */
export async function ensureCategory(
  db: Queryable,
  tenantId: string,
  spec: { key: string; name: string; readOnly?: boolean; fields: FieldSpec[] },
): Promise<CustomCategory> {
  const readOnly = spec.readOnly ?? false;
  await db.query(
    `INSERT INTO custom_categories (tenant_id, key, name, read_only, sort_order)
     VALUES ($1, $2, $3, $4, (SELECT coalesce(max(sort_order), 0) + 1 FROM custom_categories WHERE tenant_id = $1))
     ON CONFLICT (tenant_id, key) DO NOTHING`,
    [tenantId, spec.key, spec.name, readOnly],
  );
  const { rows: cats } = await db.query<Pick<CategoryRow, 'id' | 'read_only'>>(
    `SELECT id, read_only FROM custom_categories WHERE tenant_id = $1 AND key = $2`,
    [tenantId, spec.key],
  );
  const categoryId = cats[0].id;
  if (cats[0].read_only !== readOnly) await db.query(`UPDATE custom_categories SET read_only = $2 WHERE id = $1`, [categoryId, readOnly]);
  const { rows: existing } = await db.query<{ key: string; type: FieldType }>(`SELECT key, type FROM custom_fields WHERE category_id = $1 AND key = ANY($2)`, [
    categoryId,
    spec.fields.map((f) => f.key),
  ]);
  for (const r of existing) {
    const want = spec.fields.find((f) => f.key === r.key)!;
    if (want.type !== r.type) {
      throw new AppError(Codes.CONFLICT, `Field ${want.key} exists with type ${r.type}, not ${want.type}; a field's type cannot change.`);
    }
  }
  await db.query(
    `INSERT INTO custom_fields (tenant_id, category_id, key, name, type, read_only, sort_order)
     SELECT $1, $2, k, n, t, $6, o FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS s(k, n, t, o)
     ON CONFLICT (category_id, key) DO NOTHING`,
    [tenantId, categoryId, spec.fields.map((f) => f.key), spec.fields.map((f) => f.name), spec.fields.map((f) => f.type), readOnly],
  );
  await db.query(
    `UPDATE custom_fields f SET sort_order = s.o, read_only = $3
     FROM unnest($2::text[]) WITH ORDINALITY AS s(k, o)
     WHERE f.category_id = $1 AND f.key = s.k AND (f.sort_order <> s.o OR f.read_only <> $3)`,
    [categoryId, spec.fields.map((f) => f.key), readOnly],
  );
  const all = await listCustomData(db, tenantId);
  return all.find((c) => c.id === categoryId)!;
}

// ---------------------------------------------------------------------------------------------------------------- values

const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;
const numberRe = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Whether s is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(s: string): boolean {
  const m = dateRe.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/**
 * Checks and normalises a value for a field type: text → string, number → finite number (or a numeric string, as forms send),
 * date → 'YYYY-MM-DD'. null (and '' from a form) clears the value. Anything else: 400 INVALID_VALUE.
 */
export function coerceValue(type: FieldType, raw: unknown, fieldName = 'the field'): CustomValue {
  if (raw === null || raw === undefined) return null;
  const bad = (expected: string): never => {
    throw new AppError(CrmCodes.INVALID_VALUE, `${fieldName} is a ${type} field: the value must be ${expected} or null.`, { type });
  };
  switch (type) {
    case 'text':
      if (typeof raw !== 'string') return bad('a string');
      if (raw.length > 10_000) return bad('a string of at most 10000 characters');
      return raw === '' ? null : raw;
    case 'number':
      if (typeof raw === 'number') return Number.isFinite(raw) ? raw : bad('a finite number');
      if (typeof raw === 'string') {
        const s = raw.trim();
        if (s === '') return null;
        if (numberRe.test(s) && Number.isFinite(Number(s))) return Number(s);
      }
      return bad('a number');
    case 'date':
      if (typeof raw !== 'string') return bad('a date written YYYY-MM-DD');
      if (raw.trim() === '') return null;
      return isIsoDate(raw.trim()) ? raw.trim() : bad('a date written YYYY-MM-DD');
  }
}

export interface ValueWrite {
  friendId: number;
  fieldId: number;
  /** Already of the field's type (see coerceValue); null removes the value. */
  value: CustomValue;
}

/**
 * Writes values set-based, for bulk writers and single edits alike: the values are sent as arrays and written by
 * writeValuesFrom. Only changed values are touched: an equal value is not rewritten (no new row version, no index churn).
 * Returns how many values changed (inserted, updated or removed). Fields and friends must belong to `tenantId` (enforced by
 * foreign keys). Later duplicates of one (field, friend) in `rows` win. Run it in the caller's transaction to make a batch atomic.
 */
export async function writeCustomValues(db: Queryable, tenantId: string, rows: ValueWrite[], opts: { now?: Date } = {}): Promise<number> {
  if (!rows.length) return 0;
  const now = opts.now ?? new Date();
  const last = new Map<string, ValueWrite>();
  for (const r of rows) last.set(`${r.fieldId}:${r.friendId}`, r);
  const fieldIds = [...new Set([...last.values()].map((r) => r.fieldId))];
  const { rows: fields } = await db.query<Pick<FieldRow, 'id' | 'type'>>(
    `SELECT id, type FROM custom_fields WHERE tenant_id = $1 AND id = ANY($2::bigint[])`,
    [tenantId, fieldIds],
  );
  const types = new Map<number, FieldType>(fields.map((f) => [f.id, f.type]));
  const v = { field: [] as number[], friend: [] as number[], text: [] as (string | null)[], num: [] as (string | null)[], date: [] as (string | null)[] };
  for (const r of last.values()) {
    const type = types.get(r.fieldId);
    if (!type) throw new AppError(Codes.NOT_FOUND, `No field ${r.fieldId}.`);
    // null (or a value that coerces to none, like '') removes the value: a row with no typed column set.
    const value = r.value === null ? null : coerceValue(type, r.value);
    v.field.push(r.fieldId);
    v.friend.push(r.friendId);
    v.text.push(value !== null && type === 'text' ? String(value) : null);
    v.num.push(value !== null && type === 'number' ? String(value) : null);
    v.date.push(value !== null && type === 'date' ? String(value) : null);
  }
  const { values } = await writeValuesFrom(db, tenantId, now, {
    sql: `SELECT u.field_id, u.friend_id, f.type AS field_type, u.t AS vt, u.n AS vn, u.d AS vd
          FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::numeric[], $7::date[]) AS u(field_id, friend_id, t, n, d)
          JOIN custom_fields f ON f.id = u.field_id AND f.tenant_id = $1`,
    params: [v.field, v.friend, v.text, v.num, v.date],
  });
  return values;
}

/**
 * The one statement that writes custom_values. `source` is a query yielding rows (field_id, friend_id, field_type, vt, vn, vd):
 * a row with a typed value upserts it, a row with none removes the value; only values that differ are touched, and all of it
 * happens inside PostgreSQL — the Shopify sync derives its values from the mirror this way without them travelling through
 * Node. The source may use $1 (the tenant) and $2 (now), and its own parameters from $3 on. Returns how many values changed
 * and how many friends had at least one value changed.
 */
export async function writeValuesFrom(
  db: Queryable,
  tenantId: string,
  now: Date,
  source: { sql: string; params: unknown[] },
): Promise<{ values: number; friends: number }> {
  const { rows } = await db.query<{ n_values: number; n_friends: number }>(
    `WITH vals AS (${source.sql}
     ), upserted AS (
       INSERT INTO custom_values AS cv (tenant_id, field_id, friend_id, field_type, value_text, value_number, value_date, updated_at)
       SELECT $1, field_id, friend_id, field_type, vt, vn, vd, $2 FROM vals
       WHERE vt IS NOT NULL OR vn IS NOT NULL OR vd IS NOT NULL
       ON CONFLICT (field_id, friend_id) DO UPDATE
         SET value_text = EXCLUDED.value_text, value_number = EXCLUDED.value_number, value_date = EXCLUDED.value_date,
             updated_at = EXCLUDED.updated_at
         WHERE (cv.value_text, cv.value_number, cv.value_date) IS DISTINCT FROM (EXCLUDED.value_text, EXCLUDED.value_number, EXCLUDED.value_date)
       RETURNING friend_id
     ), removed AS (
       DELETE FROM custom_values cv USING vals
       WHERE vals.vt IS NULL AND vals.vn IS NULL AND vals.vd IS NULL
         AND cv.tenant_id = $1 AND cv.field_id = vals.field_id AND cv.friend_id = vals.friend_id
       RETURNING cv.friend_id
     )
     SELECT count(*)::int AS n_values, count(DISTINCT friend_id)::int AS n_friends
     FROM (SELECT friend_id FROM upserted UNION ALL SELECT friend_id FROM removed) x`,
    [tenantId, now, ...source.params],
  );
  return { values: rows[0]!.n_values, friends: rows[0]!.n_friends };
}

/** custom_values' typed columns, value_number read as text (numeric arrives as a string anyway). */
interface ValueColumns {
  field_type: string | null;
  value_text: string | null;
  value_number: string | null;
  value_date: string | null;
}

function valueOf(r: ValueColumns): CustomValue {
  if (r.field_type === 'number') return r.value_number === null ? null : Number(r.value_number);
  if (r.field_type === 'date') return r.value_date;
  return r.value_text;
}

export interface FriendCustomDatum {
  fieldId: number;
  categoryId: number;
  category: string;
  name: string;
  type: FieldType;
  value: CustomValue;
  readOnly: boolean;
  updatedAt: string | null;
}

/** Every field of the tenant with this friend's value (null when none), in display order. */
export async function friendCustomData(db: Queryable, tenantId: string, friendId: number): Promise<FriendCustomDatum[]> {
  const { rows } = await db.query<
    Pick<FieldRow, 'id' | 'name' | 'type' | 'read_only' | 'category_id'> & ValueColumns & { category: string; updated_at: Date | null }
  >(
    `SELECT f.id, f.name, f.type, (f.read_only OR c.read_only) AS read_only, c.id AS category_id, c.name AS category,
            v.field_type, v.value_text, v.value_number::text AS value_number, v.value_date, v.updated_at
     FROM custom_fields f
     JOIN custom_categories c ON c.id = f.category_id
     LEFT JOIN custom_values v ON v.field_id = f.id AND v.friend_id = $2 AND v.tenant_id = $1
     WHERE f.tenant_id = $1
     ORDER BY c.sort_order, c.id, f.sort_order, f.id`,
    [tenantId, friendId],
  );
  return rows.map((r) => ({
    fieldId: r.id,
    categoryId: r.category_id,
    category: r.category,
    name: r.name,
    type: r.type,
    value: r.field_type ? valueOf(r) : null,
    readOnly: r.read_only,
    updatedAt: r.updated_at ? r.updated_at.toISOString() : null,
  }));
}

/**
 * An operator's or API client's edit of one value: 404 for a friend or field of another tenant, 403 READ_ONLY_FIELD for a field
 * an integration owns, 400 INVALID_VALUE for a value of the wrong type. Returns the stored value.
 */
export async function setCustomValue(
  db: pg.Pool,
  tenantId: string,
  friendId: number | string,
  fieldId: number | string,
  raw: unknown,
  now: Date,
): Promise<CustomValue> {
  const fid = parseId(friendId);
  const friend = fid === null ? null : (await db.query<{ id: number }>(`SELECT id FROM friends WHERE tenant_id = $1 AND id = $2`, [tenantId, fid])).rows[0];
  if (!friend) throw new AppError(Codes.NOT_FOUND, `No friend ${friendId}.`);
  const field = await getField(db, tenantId, fieldId);
  if (!field) throw new AppError(Codes.NOT_FOUND, `No field ${fieldId}.`);
  if (field.readOnly) {
    throw new AppError(CrmCodes.READ_ONLY_FIELD, `${field.name} is managed by an integration and cannot be edited in Kizuna.`);
  }
  const value = coerceValue(field.type, raw, field.name);
  await writeCustomValues(db, tenantId, [{ friendId: friend.id, fieldId: field.id, value }], { now });
  return value;
}
