// Map: one Shopify customer (the Admin GraphQL shape) → the 22 custom data values (docs/shopify-fields.md).
// Two shapes: `ShopifyCustomer` is what Shopify sends (validated where it enters, by the zod schema beside the query that asks
// for it in shopify/queries.ts), `MappedCustomer` is what Kizuna stores. Everything about labels, rounding, prefectures and
// dates is here.
import type { ShopifyFieldKey } from '../shopify/fields.js';
import { numericId, type ShopifyCustomer } from '../shopify/queries.js';

/** Values by field key: text → string, number → decimal string, date → YYYY-MM-DD; null when Shopify has nothing. */
export type MappedCustomer = Record<ShopifyFieldKey, string | null>;

const STATE_LABELS: Record<string, string> = { DISABLED: '無効', INVITED: '招待済', DECLINED: '拒否', ENABLED: '有効' };
const CONSENT_LABELS: Record<string, string> = {
  SUBSCRIBED: '同意済み',
  NOT_SUBSCRIBED: '未同意',
  PENDING: '確認待ち',
  UNSUBSCRIBED: '配信停止',
  INVALID: '無効',
  REDACTED: '削除済み',
};

// ISO 3166-2:JP order: JP-01 北海道 … JP-47 沖縄県.
const PREFECTURES = [
  '北海道', '青森県', '岩手県', '宮城県', '秋田県', '山形県', '福島県', '茨城県', '栃木県', '群馬県', '埼玉県', '千葉県',
  '東京都', '神奈川県', '新潟県', '富山県', '石川県', '福井県', '山梨県', '長野県', '岐阜県', '静岡県', '愛知県', '三重県',
  '滋賀県', '京都府', '大阪府', '兵庫県', '奈良県', '和歌山県', '鳥取県', '島根県', '岡山県', '広島県', '山口県', '徳島県',
  '香川県', '愛媛県', '高知県', '福岡県', '佐賀県', '長崎県', '熊本県', '大分県', '宮崎県', '鹿児島県', '沖縄県',
];

export function prefectureName(provinceCode: string | null | undefined, province: string | null | undefined): string | null {
  const m = provinceCode ? /^JP-(\d{2})$/i.exec(provinceCode.trim()) : null;
  if (m) {
    const name = PREFECTURES[Number(m[1]) - 1];
    if (name) return name;
  }
  return blankToNull(province);
}

const tokyoDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar date in Asia/Tokyo of an ISO timestamp (2026-01-31T15:30:00Z is 2026-02-01 in Tokyo). */
export function tokyoCalendarDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${iso}`);
  return tokyoDate.format(d);
}

const minorUnitsCache = new Map<string, number>();
/** Decimal places of a currency (JPY 0, USD 2, KWD 3), from ICU's ISO 4217 data. */
export function minorUnits(currency: string): number {
  let n = minorUnitsCache.get(currency);
  if (n === undefined) {
    try {
      n = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      n = 2;
    }
    minorUnitsCache.set(currency, n);
  }
  return n;
}

/** A decimal string as an integer numerator and a power-of-ten denominator, exactly. */
function parseDecimal(s: string): { num: bigint; scale: number } {
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal amount: ${s}`);
  const frac = m[3] ?? '';
  const num = BigInt((m[2] ?? '0') + frac);
  return { num: m[1] ? -num : num, scale: frac.length };
}

function formatScaled(value: bigint, places: number): string {
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(places + 1, '0');
  const out = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return neg ? `-${out}` : out;
}

/** amount ÷ count rounded half-up (away from zero) to the currency's minor unit, computed exactly; null for 0 orders. */
export function averageOrderAmount(amount: string, orders: string | number, currency: string): string | null {
  const n = BigInt(orders);
  if (n <= 0n) return null;
  const { num, scale } = parseDecimal(amount);
  const places = minorUnits(currency);
  // avg × 10^places = num × 10^places / (10^scale × n); half-up on the magnitude.
  const numerator = (num < 0n ? -num : num) * 10n ** BigInt(places);
  const denominator = 10n ** BigInt(scale) * n;
  const rounded = (2n * numerator + denominator) / (2n * denominator);
  return formatScaled(num < 0n ? -rounded : rounded, places);
}

/** A decimal string without trailing zeros beyond the currency's minor unit ("12000.0" JPY → "12000"). */
export function normalizeAmount(amount: string, currency: string): string {
  let { num, scale } = parseDecimal(amount);
  const places = minorUnits(currency);
  while (scale > places && num % 10n === 0n) {
    num /= 10n;
    scale--;
  }
  if (scale <= places) return formatScaled(num * 10n ** BigInt(places - scale), places);
  // More significant digits than the currency has (rare): keep them, exactly.
  return formatScaled(num, scale);
}

function blankToNull(s: string | null | undefined): string | null {
  return s === undefined || s === null || s.trim() === '' ? null : s;
}

export function mapCustomer(c: ShopifyCustomer, lastOrderId: string | null = numericId(c.lastOrder?.legacyResourceId)): MappedCustomer {
  const addr = c.defaultAddress ?? null;
  const currency = c.amountSpent.currencyCode;
  return {
    customer_id: c.legacyResourceId,
    email: blankToNull(c.defaultEmailAddress?.emailAddress),
    first_name: blankToNull(c.firstName),
    last_name: blankToNull(c.lastName),
    state: STATE_LABELS[c.state] ?? c.state,
    orders_count: String(BigInt(c.numberOfOrders)),
    average_order_amount: averageOrderAmount(c.amountSpent.amount, c.numberOfOrders, currency),
    total_spent: normalizeAmount(c.amountSpent.amount, currency),
    last_order_id: lastOrderId,
    tags: c.tags.length ? c.tags.join(',') : null,
    phone: blankToNull(c.defaultPhoneNumber?.phoneNumber),
    company: blankToNull(addr?.company),
    zip: blankToNull(addr?.zip),
    province: addr ? prefectureName(addr.provinceCode, addr.province) : null,
    city: blankToNull(addr?.city),
    address1: blankToNull(addr?.address1),
    address2: blankToNull(addr?.address2),
    email_marketing_consent: consent(c.defaultEmailAddress?.marketingState),
    sms_marketing_consent: consent(c.defaultPhoneNumber?.marketingState),
    note: blankToNull(c.note),
    created_at: tokyoCalendarDate(c.createdAt),
    updated_at: tokyoCalendarDate(c.updatedAt),
  };
}

function consent(state: string | null | undefined): string | null {
  if (!state) return null;
  return CONSENT_LABELS[state] ?? state;
}

/** The email a customer is matched by: only a verified, non-empty email, trimmed and lower-cased. */
export function matchableEmail(c: Pick<ShopifyCustomer, 'verifiedEmail' | 'defaultEmailAddress'>): string | null {
  if (!c.verifiedEmail) return null;
  const e = c.defaultEmailAddress?.emailAddress?.trim().toLowerCase();
  return e ? e : null;
}
