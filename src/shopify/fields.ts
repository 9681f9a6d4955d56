// The 22 fields of the category データ連携(shopify), exactly as docs/shopify-fields.md lists them (names, types, order;
// test/docs/shopify-fields.test.ts holds the page to this list), and how the sync finds them in a tenant. `key` is Kizuna's
// stable handle for a field: the name is what operators see, the key is what the sync writes by.
import type { Queryable } from '../db/index.js';

export const SHOPIFY_CATEGORY_KEY = 'shopify';
export const SHOPIFY_CATEGORY_NAME = 'データ連携(shopify)';

export type FieldType = 'text' | 'number' | 'date';

export const SHOPIFY_FIELDS = [
  { key: 'customer_id', name: '顧客ID(shopify)', type: 'text' },
  { key: 'email', name: 'メールアドレス(shopify)', type: 'text' },
  { key: 'first_name', name: '名(shopify)', type: 'text' },
  { key: 'last_name', name: '姓(shopify)', type: 'text' },
  { key: 'state', name: '状態(shopify)', type: 'text' },
  { key: 'orders_count', name: '購入回数(shopify)', type: 'number' },
  { key: 'average_order_amount', name: '平均購入金額(shopify)', type: 'number' },
  { key: 'total_spent', name: '合計購入金額(shopify)', type: 'number' },
  { key: 'last_order_id', name: '最終注文ID(shopify)', type: 'text' },
  { key: 'tags', name: 'タグ(shopify)', type: 'text' },
  { key: 'phone', name: '電話番号(shopify)', type: 'text' },
  { key: 'company', name: '会社名(shopify)', type: 'text' },
  { key: 'zip', name: '郵便番号(shopify)', type: 'text' },
  { key: 'province', name: '都道府県(shopify)', type: 'text' },
  { key: 'city', name: '市区町村(shopify)', type: 'text' },
  { key: 'address1', name: '住所1(shopify)', type: 'text' },
  { key: 'address2', name: '住所2(shopify)', type: 'text' },
  { key: 'email_marketing_consent', name: 'メールマーケティングの同意(shopify)', type: 'text' },
  { key: 'sms_marketing_consent', name: 'SMSマーケティングの同意(shopify)', type: 'text' },
  { key: 'note', name: 'メモ(shopify)', type: 'text' },
  { key: 'created_at', name: '作成日(shopify)', type: 'date' },
  { key: 'updated_at', name: '更新日(shopify)', type: 'date' },
] as const satisfies readonly { key: string; name: string; type: FieldType }[];

export type ShopifyFieldKey = (typeof SHOPIFY_FIELDS)[number]['key'];

export function shopifyCategorySpec() {
  return {
    key: SHOPIFY_CATEGORY_KEY,
    name: SHOPIFY_CATEGORY_NAME,
    readOnly: true,
    fields: SHOPIFY_FIELDS.map((f) => ({ key: f.key, name: f.name, type: f.type })),
  };
}

/** The 22 field ids in SHOPIFY_FIELDS order (what the sync writes by). */
export async function shopifyFieldIds(db: Queryable, tenantId: string): Promise<number[]> {
  const { rows } = await db.query<{ key: string; id: number }>(
    `SELECT f.key, f.id FROM custom_fields f JOIN custom_categories c ON c.id = f.category_id
     WHERE c.tenant_id = $1 AND c.key = $2`,
    [tenantId, SHOPIFY_CATEGORY_KEY],
  );
  const byKey = new Map(rows.map((r) => [r.key, Number(r.id)]));
  return SHOPIFY_FIELDS.map((f) => {
    const id = byKey.get(f.key);
    if (id === undefined) throw new Error(`the Shopify field ${f.key} is missing; link again to recreate it`);
    return id;
  });
}
