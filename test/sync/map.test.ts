import { describe, expect, it } from 'vitest';
import { SHOPIFY_FIELDS } from '../../src/shopify/fields.js';
import {
  averageOrderAmount,
  mapCustomer,
  matchableEmail,
  minorUnits,
  prefectureName,
  tokyoCalendarDate,
} from '../../src/sync/map.js';
import { ShopifyCustomerSchema } from '../../src/shopify/queries.js';

const base = {
  id: 'gid://shopify/Customer/7001',
  legacyResourceId: '7001',
  firstName: '花子',
  lastName: '山田',
  state: 'ENABLED',
  verifiedEmail: true,
  note: null,
  tags: [],
  numberOfOrders: '3',
  amountSpent: { amount: '10000.0', currencyCode: 'JPY' },
  defaultEmailAddress: { emailAddress: 'Hanako.Yamada@Example.JP ', marketingState: 'SUBSCRIBED' },
  defaultPhoneNumber: { phoneNumber: '+819012345678', marketingState: 'NOT_SUBSCRIBED' },
  defaultAddress: {
    company: '株式会社サンプル',
    zip: '150-0001',
    province: 'Tokyo',
    provinceCode: 'JP-13',
    city: '渋谷区',
    address1: '神宮前1-2-3',
    address2: 'サンプルビル4F',
    countryCodeV2: 'JP',
  },
  createdAt: '2026-01-31T15:00:00Z',
  updatedAt: '2026-11-27T14:59:59Z',
  lastOrder: { legacyResourceId: '450789469' },
};

const parse = (over: Record<string, unknown> = {}) => ShopifyCustomerSchema.parse({ ...base, ...over });

describe('mapping a Shopify customer to the 22 fields', () => {
  it('has one value for each of the 22 fields of docs/shopify-fields.md, in order', () => {
    const m = mapCustomer(parse());
    expect(Object.keys(m)).toEqual(SHOPIFY_FIELDS.map((f) => f.key));
    expect(SHOPIFY_FIELDS).toHaveLength(22);
  });

  it('maps every field of a full Japanese customer exactly', () => {
    expect(mapCustomer(parse())).toEqual({
      customer_id: '7001',
      email: 'Hanako.Yamada@Example.JP ',
      first_name: '花子',
      last_name: '山田',
      state: '有効',
      orders_count: '3',
      average_order_amount: '3333',
      total_spent: '10000',
      last_order_id: '450789469',
      tags: null,
      phone: '+819012345678',
      company: '株式会社サンプル',
      zip: '150-0001',
      province: '東京都',
      city: '渋谷区',
      address1: '神宮前1-2-3',
      address2: 'サンプルビル4F',
      email_marketing_consent: '同意済み',
      sms_marketing_consent: '未同意',
      note: null,
      created_at: '2026-02-01', // 15:00Z is midnight in Tokyo
      updated_at: '2026-11-27', // 14:59:59Z is 23:59:59 in Tokyo
    });
  });

  it('labels every state and consent value', () => {
    expect(['DISABLED', 'INVITED', 'DECLINED', 'ENABLED'].map((state) => mapCustomer(parse({ state })).state)).toEqual([
      '無効',
      '招待済',
      '拒否',
      '有効',
    ]);
    const consents = ['SUBSCRIBED', 'NOT_SUBSCRIBED', 'PENDING', 'UNSUBSCRIBED', 'INVALID', 'REDACTED'].map(
      (marketingState) => mapCustomer(parse({ defaultEmailAddress: { emailAddress: 'a@b.jp', marketingState } })).email_marketing_consent,
    );
    expect(consents).toEqual(['同意済み', '未同意', '確認待ち', '配信停止', '無効', '削除済み']);
  });

  it('rounds the average half-up to the currency minor unit, and is null with 0 orders', () => {
    expect(averageOrderAmount('10000', '4', 'JPY')).toBe('2500');
    expect(averageOrderAmount('5', '2', 'JPY')).toBe('3'); // 2.5 → 3
    expect(averageOrderAmount('7', '2', 'JPY')).toBe('4'); // 3.5 → 4
    expect(averageOrderAmount('10.00', '3', 'USD')).toBe('3.33');
    expect(averageOrderAmount('0.05', '2', 'USD')).toBe('0.03'); // 0.025 → 0.03, exact, no float error
    expect(averageOrderAmount('1.005', '1', 'USD')).toBe('1.01');
    expect(averageOrderAmount('0.0', '0', 'JPY')).toBeNull();
    expect(averageOrderAmount('123456789012345678.9', '1', 'JPY')).toBe('123456789012345679');
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('USD')).toBe(2);
    expect(minorUnits('KWD')).toBe(3);
    const usd = mapCustomer(parse({ amountSpent: { amount: '100.5', currencyCode: 'USD' }, numberOfOrders: '4' }));
    expect(usd).toMatchObject({ total_spent: '100.50', average_order_amount: '25.13' });
    const none = mapCustomer(parse({ amountSpent: { amount: '0.0', currencyCode: 'JPY' }, numberOfOrders: '0', lastOrder: null }));
    expect(none).toMatchObject({ orders_count: '0', average_order_amount: null, total_spent: '0', last_order_id: null });
  });

  it('gives Japanese prefecture names for all 47 JP codes and keeps foreign provinces', () => {
    const names = Array.from({ length: 47 }, (_, i) => prefectureName(`JP-${String(i + 1).padStart(2, '0')}`, 'x'));
    expect(names[0]).toBe('北海道');
    expect(names[12]).toBe('東京都');
    expect(names[25]).toBe('京都府');
    expect(names[26]).toBe('大阪府');
    expect(names[46]).toBe('沖縄県');
    expect(new Set(names).size).toBe(47);
    expect(names.every((n) => /[都道府県]$/.test(n!))).toBe(true);
    expect(prefectureName('CA', 'California')).toBe('California');
    expect(prefectureName('JP-48', 'Nowhere')).toBe('Nowhere');
    expect(prefectureName(null, '')).toBeNull();
  });

  it('joins tags with "," and keeps notes with HTML, emoji and newlines as they are', () => {
    const note = '<b>VIP</b> 🎁\n2行目 & "引用"';
    const m = mapCustomer(parse({ tags: ['VIP', 'リピーター', 'newsletter'], note }));
    expect(m.tags).toBe('VIP,リピーター,newsletter');
    expect(m.note).toBe(note);
  });

  it('leaves everything address- and phone-related null for a customer without them', () => {
    const m = mapCustomer(parse({ defaultAddress: null, defaultPhoneNumber: null, defaultEmailAddress: null, firstName: '', lastName: null }));
    for (const k of ['company', 'zip', 'province', 'city', 'address1', 'address2', 'phone', 'sms_marketing_consent', 'email', 'email_marketing_consent', 'first_name', 'last_name'] as const) {
      expect(m[k]).toBeNull();
    }
  });

  it('uses the last order id given from another source when GraphQL could not provide it', () => {
    expect(mapCustomer(parse({ lastOrder: undefined }), '999').last_order_id).toBe('999');
  });

  it('takes dates as the Asia/Tokyo calendar date, whatever the offset Shopify used', () => {
    expect(tokyoCalendarDate('2026-12-31T14:59:59Z')).toBe('2026-12-31');
    expect(tokyoCalendarDate('2026-12-31T15:00:00Z')).toBe('2027-01-01');
    expect(tokyoCalendarDate('2021-12-31T19:00:00-05:00')).toBe('2022-01-01');
  });
});

describe('the email a customer is matched by', () => {
  it('is the verified email, trimmed and lower-cased', () => {
    expect(matchableEmail(parse())).toBe('hanako.yamada@example.jp');
  });
  it('is null when unverified or absent', () => {
    expect(matchableEmail(parse({ verifiedEmail: false }))).toBeNull();
    expect(matchableEmail(parse({ defaultEmailAddress: null }))).toBeNull();
    expect(matchableEmail(parse({ defaultEmailAddress: { emailAddress: '  ', marketingState: 'NOT_SUBSCRIBED' } }))).toBeNull();
  });
});
