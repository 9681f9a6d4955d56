// The 22 fields of the category データ連携(shopify), exactly as docs/shopify-fields.md lists them (names, types, order;
// test/docs/shopify-fields.test.ts holds the page to this list).
// `key` is Kizuna's stable handle for a field: the name is what operators see, the key is what the sync writes by.
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
