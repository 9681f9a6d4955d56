// A deterministic Japanese store of any size. Customer i is a pure function of (seed, i): nothing is kept per customer, so
// a million-customer store costs no memory and any customer can be regenerated on demand. id, createdAt and updatedAt
// rise strictly with i (with seed-based jitter smaller than one step), which lets the store find a position in ID,
// CREATED_AT or UPDATED_AT order, or a date range, by binary search instead of sorting.

export type CustomerState = 'DISABLED' | 'INVITED' | 'DECLINED' | 'ENABLED';
export type EmailMarketingState = 'NOT_SUBSCRIBED' | 'PENDING' | 'SUBSCRIBED' | 'UNSUBSCRIBED' | 'INVALID';
export type SmsMarketingState = 'NOT_SUBSCRIBED' | 'PENDING' | 'SUBSCRIBED' | 'UNSUBSCRIBED' | 'REDACTED';
export type OptInLevel = 'SINGLE_OPT_IN' | 'CONFIRMED_OPT_IN' | 'UNKNOWN';

export interface Address {
  id: number;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  /** As Shopify gives it: the English name ("Tokyo", "Hokkaidō"), or null where the country has no provinces. */
  province: string | null;
  provinceCode: string | null;
  country: string;
  countryCodeV2: string;
  zip: string | null;
  phone: string | null;
}

export interface CustomerRecord {
  id: number;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  verifiedEmail: boolean;
  emailMarketing: { state: EmailMarketingState; optInLevel: OptInLevel | null; updatedAt: number | null } | null;
  phone: string | null;
  smsMarketing: { state: SmsMarketingState; optInLevel: OptInLevel | null; updatedAt: number | null; collectedFrom: string | null } | null;
  state: CustomerState;
  numberOfOrders: number;
  /** Decimal string in major units ("12800", "199.65"). */
  amountSpent: string;
  currencyCode: string;
  lastOrder: { id: number; name: string } | null;
  tags: string[];
  note: string | null;
  /** The first address is the default one. */
  addresses: Address[];
  locale: string;
  taxExempt: boolean;
  /** Epoch ms, whole seconds (Shopify's DateTime has second precision). */
  createdAt: number;
  updatedAt: number;
}

export const CUSTOMER_STATES: CustomerState[] = ['DISABLED', 'INVITED', 'DECLINED', 'ENABLED'];
export const EMAIL_MARKETING_STATES: EmailMarketingState[] = ['NOT_SUBSCRIBED', 'PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'INVALID'];
export const SMS_MARKETING_STATES: SmsMarketingState[] = ['NOT_SUBSCRIBED', 'PENDING', 'SUBSCRIBED', 'UNSUBSCRIBED', 'REDACTED'];

/** Japan's 47 prefectures: ISO code, the English name Shopify returns in `province`, the Japanese name, a city and a zip. */
export const JP_PREFECTURES: ReadonlyArray<{ code: string; province: string; ja: string; city: string; zip: string; weight: number }> = [
  { code: 'JP-01', province: 'Hokkaidō', ja: '北海道', city: '札幌市中央区', zip: '060-0001', weight: 4 },
  { code: 'JP-02', province: 'Aomori', ja: '青森県', city: '青森市', zip: '030-0801', weight: 1 },
  { code: 'JP-03', province: 'Iwate', ja: '岩手県', city: '盛岡市', zip: '020-0021', weight: 1 },
  { code: 'JP-04', province: 'Miyagi', ja: '宮城県', city: '仙台市青葉区', zip: '980-0021', weight: 2 },
  { code: 'JP-05', province: 'Akita', ja: '秋田県', city: '秋田市', zip: '010-0001', weight: 1 },
  { code: 'JP-06', province: 'Yamagata', ja: '山形県', city: '山形市', zip: '990-0031', weight: 1 },
  { code: 'JP-07', province: 'Fukushima', ja: '福島県', city: '福島市', zip: '960-8031', weight: 1 },
  { code: 'JP-08', province: 'Ibaraki', ja: '茨城県', city: '水戸市', zip: '310-0011', weight: 2 },
  { code: 'JP-09', province: 'Tochigi', ja: '栃木県', city: '宇都宮市', zip: '320-0801', weight: 1 },
  { code: 'JP-10', province: 'Gunma', ja: '群馬県', city: '前橋市', zip: '371-0023', weight: 1 },
  { code: 'JP-11', province: 'Saitama', ja: '埼玉県', city: 'さいたま市大宮区', zip: '330-0802', weight: 6 },
  { code: 'JP-12', province: 'Chiba', ja: '千葉県', city: '千葉市中央区', zip: '260-0013', weight: 5 },
  { code: 'JP-13', province: 'Tokyo', ja: '東京都', city: '渋谷区', zip: '150-0041', weight: 14 },
  { code: 'JP-14', province: 'Kanagawa', ja: '神奈川県', city: '横浜市西区', zip: '220-0011', weight: 8 },
  { code: 'JP-15', province: 'Niigata', ja: '新潟県', city: '新潟市中央区', zip: '951-8061', weight: 2 },
  { code: 'JP-16', province: 'Toyama', ja: '富山県', city: '富山市', zip: '930-0002', weight: 1 },
  { code: 'JP-17', province: 'Ishikawa', ja: '石川県', city: '金沢市', zip: '920-0853', weight: 1 },
  { code: 'JP-18', province: 'Fukui', ja: '福井県', city: '福井市', zip: '910-0006', weight: 1 },
  { code: 'JP-19', province: 'Yamanashi', ja: '山梨県', city: '甲府市', zip: '400-0031', weight: 1 },
  { code: 'JP-20', province: 'Nagano', ja: '長野県', city: '長野市', zip: '380-0823', weight: 2 },
  { code: 'JP-21', province: 'Gifu', ja: '岐阜県', city: '岐阜市', zip: '500-8833', weight: 2 },
  { code: 'JP-22', province: 'Shizuoka', ja: '静岡県', city: '静岡市葵区', zip: '420-0857', weight: 3 },
  { code: 'JP-23', province: 'Aichi', ja: '愛知県', city: '名古屋市中区', zip: '460-0008', weight: 6 },
  { code: 'JP-24', province: 'Mie', ja: '三重県', city: '津市', zip: '514-0009', weight: 1 },
  { code: 'JP-25', province: 'Shiga', ja: '滋賀県', city: '大津市', zip: '520-0044', weight: 1 },
  { code: 'JP-26', province: 'Kyōto', ja: '京都府', city: '京都市中京区', zip: '604-8005', weight: 2 },
  { code: 'JP-27', province: 'Ōsaka', ja: '大阪府', city: '大阪市北区', zip: '530-0001', weight: 7 },
  { code: 'JP-28', province: 'Hyōgo', ja: '兵庫県', city: '神戸市中央区', zip: '650-0021', weight: 4 },
  { code: 'JP-29', province: 'Nara', ja: '奈良県', city: '奈良市', zip: '630-8215', weight: 1 },
  { code: 'JP-30', province: 'Wakayama', ja: '和歌山県', city: '和歌山市', zip: '640-8033', weight: 1 },
  { code: 'JP-31', province: 'Tottori', ja: '鳥取県', city: '鳥取市', zip: '680-0031', weight: 1 },
  { code: 'JP-32', province: 'Shimane', ja: '島根県', city: '松江市', zip: '690-0003', weight: 1 },
  { code: 'JP-33', province: 'Okayama', ja: '岡山県', city: '岡山市北区', zip: '700-0024', weight: 2 },
  { code: 'JP-34', province: 'Hiroshima', ja: '広島県', city: '広島市中区', zip: '730-0011', weight: 2 },
  { code: 'JP-35', province: 'Yamaguchi', ja: '山口県', city: '山口市', zip: '753-0041', weight: 1 },
  { code: 'JP-36', province: 'Tokushima', ja: '徳島県', city: '徳島市', zip: '770-0834', weight: 1 },
  { code: 'JP-37', province: 'Kagawa', ja: '香川県', city: '高松市', zip: '760-0019', weight: 1 },
  { code: 'JP-38', province: 'Ehime', ja: '愛媛県', city: '松山市', zip: '790-0001', weight: 1 },
  { code: 'JP-39', province: 'Kōchi', ja: '高知県', city: '高知市', zip: '780-0870', weight: 1 },
  { code: 'JP-40', province: 'Fukuoka', ja: '福岡県', city: '福岡市中央区', zip: '810-0001', weight: 4 },
  { code: 'JP-41', province: 'Saga', ja: '佐賀県', city: '佐賀市', zip: '840-0801', weight: 1 },
  { code: 'JP-42', province: 'Nagasaki', ja: '長崎県', city: '長崎市', zip: '850-0862', weight: 1 },
  { code: 'JP-43', province: 'Kumamoto', ja: '熊本県', city: '熊本市中央区', zip: '860-0806', weight: 1 },
  { code: 'JP-44', province: 'Ōita', ja: '大分県', city: '大分市', zip: '870-0035', weight: 1 },
  { code: 'JP-45', province: 'Miyazaki', ja: '宮崎県', city: '宮崎市', zip: '880-0805', weight: 1 },
  { code: 'JP-46', province: 'Kagoshima', ja: '鹿児島県', city: '鹿児島市', zip: '892-0828', weight: 1 },
  { code: 'JP-47', province: 'Okinawa', ja: '沖縄県', city: '那覇市', zip: '900-0015', weight: 1 },
];

const FOREIGN: ReadonlyArray<Omit<Address, 'id' | 'firstName' | 'lastName' | 'company' | 'address2' | 'phone'>> = [
  { address1: '350 5th Ave', city: 'New York', province: 'New York', provinceCode: 'NY', country: 'United States', countryCodeV2: 'US', zip: '10118' },
  { address1: '1 Market St', city: 'San Francisco', province: 'California', provinceCode: 'CA', country: 'United States', countryCodeV2: 'US', zip: '94105' },
  { address1: '信義路五段7號', city: '台北市', province: null, provinceCode: null, country: 'Taiwan', countryCodeV2: 'TW', zip: '110' },
  { address1: '세종대로 110', city: 'Seoul', province: 'Seoul', provinceCode: 'KR-11', country: 'South Korea', countryCodeV2: 'KR', zip: '04524' },
  { address1: '221B Baker Street', city: 'London', province: null, provinceCode: null, country: 'United Kingdom', countryCodeV2: 'GB', zip: 'NW1 6XE' },
  { address1: '290 Bremner Blvd', city: 'Toronto', province: 'Ontario', provinceCode: 'ON', country: 'Canada', countryCodeV2: 'CA', zip: 'M5V 3L9' },
];

const FAMILY: ReadonlyArray<[string, string]> = [
  ['佐藤', 'sato'], ['鈴木', 'suzuki'], ['高橋', 'takahashi'], ['田中', 'tanaka'], ['伊藤', 'ito'], ['渡辺', 'watanabe'],
  ['山本', 'yamamoto'], ['中村', 'nakamura'], ['小林', 'kobayashi'], ['加藤', 'kato'], ['吉田', 'yoshida'], ['山田', 'yamada'],
  ['佐々木', 'sasaki'], ['山口', 'yamaguchi'], ['松本', 'matsumoto'], ['井上', 'inoue'], ['木村', 'kimura'], ['林', 'hayashi'],
  ['斎藤', 'saito'], ['清水', 'shimizu'], ['山崎', 'yamazaki'], ['森', 'mori'], ['池田', 'ikeda'], ['橋本', 'hashimoto'],
  ['阿部', 'abe'], ['石川', 'ishikawa'], ['山下', 'yamashita'], ['中島', 'nakajima'], ['石井', 'ishii'], ['小川', 'ogawa'],
  ['前田', 'maeda'], ['岡田', 'okada'], ['長谷川', 'hasegawa'], ['藤田', 'fujita'], ['後藤', 'goto'], ['近藤', 'kondo'],
  ['村上', 'murakami'], ['遠藤', 'endo'], ['青木', 'aoki'], ['坂本', 'sakamoto'], ['髙橋', 'takahashi'], ['齋藤', 'saito'],
  ['渡邊', 'watanabe'], ['𠮷田', 'yoshida'],
];
const GIVEN: ReadonlyArray<[string, string]> = [
  ['翔太', 'shota'], ['蓮', 'ren'], ['大翔', 'hiroto'], ['陽翔', 'haruto'], ['湊', 'minato'], ['健太', 'kenta'], ['拓也', 'takuya'],
  ['大輔', 'daisuke'], ['直樹', 'naoki'], ['誠', 'makoto'], ['太郎', 'taro'], ['一郎', 'ichiro'], ['翼', 'tsubasa'], ['健', 'ken'],
  ['花子', 'hanako'], ['陽菜', 'hina'], ['結衣', 'yui'], ['さくら', 'sakura'], ['美咲', 'misaki'], ['葵', 'aoi'], ['凛', 'rin'],
  ['芽依', 'mei'], ['愛', 'ai'], ['優子', 'yuko'], ['恵美', 'emi'], ['由美', 'yumi'], ['真由美', 'mayumi'], ['七海', 'nanami'],
  ['ひなた', 'hinata'], ['莉子', 'riko'], ['ユウキ', 'yuki'], ['あおい', 'aoi'],
];
const FOREIGN_NAMES: ReadonlyArray<[string, string]> = [
  ['John', 'Smith'], ['Emily', 'Johnson'], ['美玲', '陳'], ['Min-jun', 'Kim'], ['Olivia', 'Brown'], ['Liam', 'Tremblay'],
];
const TOWNS = ['神南', '道玄坂', '桜丘町', '本町', '栄', '中央', '大手町', '梅田', '天神', '元町', '錦', '港南', '緑町', '旭町'];
const BUILDINGS = ['グランドハイツ', 'サンシャインマンション', 'コーポ桜', 'パークサイド', 'メゾン・ド・ソレイユ', 'レジデンス青葉'];
const COMPANIES = ['株式会社サンプル商事', '合同会社みらい', '有限会社やまと', 'Kizuna Trading Co., Ltd.', '株式会社テスト製作所'];
const TAGS = ['VIP', 'リピーター', 'メルマガ会員', '新規', 'wholesale', 'B2B', 'LINE連携', '店舗', 'オンライン', 'セール好き', 'gift', '要フォロー', 'Newsletter', '定期便'];
const NOTES = [
  'ギフト包装を希望 🎁',
  '電話での問い合わせあり 📞\n次回はクーポンを送付',
  '<b>重要</b>: 配送は午前中指定',
  'Prefers <i>English</i> communication. 英語対応希望',
  '住所変更あり\r\n旧住所には送らないこと',
  'アレルギー: 小麦 🌾 / "えび" & かに',
  '😀😀😀 とても良いお客様 <script>alert(1)</script>',
];
const EMAIL_DOMAINS = ['example.com', 'example.jp', 'example.co.jp', 'example.ne.jp', 'mail.example.org', 'EXAMPLE.NET'];

export const ID_BASE = 7_000_000_000_000;
export const ID_STEP = 64;
const ORDER_ID_BASE = 5_500_000_000_000;
const ADDRESS_ID_BASE = 8_800_000_000_000;
const DAY = 86_400_000;
const YEAR = 365 * DAY;

/** 32-bit avalanche mix (murmur3 finaliser): a stateless hash from which every random choice derives. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hash(seed: number, i: number, salt: number): number {
  return mix(mix(mix(seed + 0x9e3779b9) ^ i) + Math.imul(salt, 0x27d4eb2f));
}

/** A small sequential PRNG (mulberry32) for the many independent choices within one customer. */
function prng(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratorOptions {
  seed: number;
  count: number;
  /** Shop currency: amountSpent comes in it, except for a few foreign customers paid in USD. */
  currencyCode?: string;
  /** The latest generated updatedAt is just before this instant (default 2026-03-01T00:00:00Z). */
  until?: number;
}

export class CustomerGenerator {
  readonly seed: number;
  readonly count: number;
  readonly currencyCode: string;
  private readonly start: number;
  private readonly step: number;
  private readonly updStart: number;
  private readonly updStep: number;

  constructor(opts: GeneratorOptions) {
    this.seed = opts.seed | 0;
    this.count = Math.max(0, Math.floor(opts.count));
    this.currencyCode = opts.currencyCode ?? 'JPY';
    const until = opts.until ?? Date.UTC(2026, 2, 1);
    // Six years of history, stretched for huge stores so that consecutive customers stay ≥ 4 s apart in both dates.
    const span = Math.max(6 * YEAR, this.count * 10_000);
    this.start = until - span;
    this.step = span / Math.max(1, this.count);
    // Updates happen in the last 40 % of the history, still in customer order.
    this.updStart = this.start + span * 0.6;
    this.updStep = (span * 0.4) / Math.max(1, this.count);
  }

  idOf(i: number): number {
    return ID_BASE + i * ID_STEP + (hash(this.seed, i, 1) % (ID_STEP / 2));
  }

  /** The index of a generated id, or -1. */
  indexOf(id: number): number {
    if (!Number.isSafeInteger(id) || id < ID_BASE) return -1;
    const i = Math.floor((id - ID_BASE) / ID_STEP);
    return i < this.count && this.idOf(i) === id ? i : -1;
  }

  createdAtOf(i: number): number {
    const jitter = (hash(this.seed, i, 2) / 4294967296) * (this.step / 2);
    return Math.floor((this.start + i * this.step + jitter) / 1000) * 1000;
  }

  updatedAtOf(i: number): number {
    const jitter = (hash(this.seed, i, 3) / 4294967296) * (this.updStep / 2);
    const u = Math.floor((this.updStart + i * this.updStep + jitter) / 1000) * 1000;
    return Math.max(this.createdAtOf(i), u);
  }

  /** The highest generated id, so that customers added later sort after every generated one. */
  maxId(): number {
    return this.count > 0 ? this.idOf(this.count - 1) : ID_BASE - ID_STEP;
  }

  customerAt(i: number): CustomerRecord {
    const r = prng(hash(this.seed, i, 4));
    const pick = <T>(list: ReadonlyArray<T>): T => list[Math.floor(r() * list.length)];
    const chance = (p: number) => r() < p;
    const id = this.idOf(i);
    const createdAt = this.createdAtOf(i);
    const updatedAt = this.updatedAtOf(i);
    // The first customers of every store cover the edge cases, so even a store of 20 has each of them.
    const showcase = i < SHOWCASE.length ? SHOWCASE[i] : undefined;

    const foreign = showcase?.foreign ?? chance(0.05);
    let firstName: string | null;
    let lastName: string | null;
    let romaji: [string, string];
    if (foreign) {
      const [f, l] = pick(FOREIGN_NAMES);
      firstName = f;
      lastName = l;
      romaji = [f.toLowerCase().replace(/[^a-z]/g, '') || 'mei', l.toLowerCase().replace(/[^a-z]/g, '') || 'chen'];
    } else {
      const fam = pick(FAMILY);
      const giv = pick(GIVEN);
      firstName = giv[0];
      lastName = fam[0];
      romaji = [giv[1], fam[1]];
      if (chance(0.03)) {
        // Some shoppers type their name in romaji.
        firstName = cap(giv[1]);
        lastName = cap(fam[1]);
      }
    }
    if (showcase?.noName || chance(0.02)) {
      firstName = null;
      if (showcase?.noName) lastName = null;
    }

    const hasEmail = showcase?.email ?? !chance(0.08);
    let email: string | null = null;
    if (hasEmail) {
      const local = `${romaji[0]}.${romaji[1]}${i}`;
      const domain = pick(EMAIL_DOMAINS);
      email = `${local}@${domain}`;
      // Shopify keeps the case a shopper typed; Kizuna must compare emails case-insensitively.
      if (showcase?.mixedCase || chance(0.12)) email = `${cap(romaji[0])}.${cap(romaji[1])}${i}@${domain.toUpperCase()}`;
    }
    const verifiedEmail = showcase?.verified ?? (hasEmail ? chance(0.85) : chance(0.3));

    const hasPhone = showcase?.phone ?? chance(0.6);
    const phone = hasPhone ? `+81${pick(['90', '80', '70'])}${String((i * 7919 + 12345678) % 100_000_000).padStart(8, '0')}` : null;

    const state = showcase?.state ?? weighted(r, [['DISABLED', 55], ['ENABLED', 30], ['INVITED', 10], ['DECLINED', 5]] as const);
    const emailState =
      showcase?.emailState ?? weighted(r, [['NOT_SUBSCRIBED', 40], ['SUBSCRIBED', 35], ['UNSUBSCRIBED', 12], ['PENDING', 8], ['INVALID', 5]] as const);
    const smsState =
      showcase?.smsState ?? weighted(r, [['NOT_SUBSCRIBED', 60], ['SUBSCRIBED', 20], ['UNSUBSCRIBED', 10], ['PENDING', 5], ['REDACTED', 5]] as const);
    const consentAt = (s: string) => (s === 'NOT_SUBSCRIBED' ? null : createdAt + Math.floor((r() * (updatedAt - createdAt)) / 1000) * 1000);
    const optIn = (s: string): OptInLevel | null => (s === 'NOT_SUBSCRIBED' ? (chance(0.5) ? 'SINGLE_OPT_IN' : null) : s === 'PENDING' ? 'CONFIRMED_OPT_IN' : pick(['SINGLE_OPT_IN', 'CONFIRMED_OPT_IN', 'UNKNOWN'] as const));

    const orders = showcase?.orders ?? (chance(0.3) ? 0 : 1 + Math.floor(-Math.log(1 - r()) * 3));
    const usd = foreign && this.currencyCode === 'JPY' ? chance(0.5) : false;
    const currencyCode = usd ? 'USD' : this.currencyCode;
    let amountSpent = '0';
    if (orders > 0) {
      if (currencyCode === 'JPY') amountSpent = String(orders * (1000 + Math.floor(r() * 290) * 100));
      else amountSpent = centsToDecimal(orders * (1500 + Math.floor(r() * 20000)));
    }
    const lastOrder = orders > 0 ? { id: ORDER_ID_BASE + i * 128 + orders, name: `#${1000 + ((i * 37 + orders) % 900000)}` } : null;

    const addresses: Address[] = [];
    const addressKind = showcase?.address ?? (foreign ? 'foreign' : chance(0.15) ? 'none' : 'jp');
    if (addressKind !== 'none') {
      const base = {
        id: ADDRESS_ID_BASE + i * 4,
        firstName,
        lastName,
        company: chance(0.1) ? pick(COMPANIES) : null,
        address2: null as string | null,
        phone: phone && chance(0.7) ? phone : null,
      };
      if (addressKind === 'jp') {
        // Half the prefectures are chosen in turn so that every one of the 47 appears even in small stores.
        const pref = chance(0.5) ? JP_PREFECTURES[i % 47] : weightedPref(r);
        addresses.push({
          ...base,
          address1: `${pick(TOWNS)}${1 + Math.floor(r() * 5)}-${1 + Math.floor(r() * 20)}-${1 + Math.floor(r() * 30)}`,
          address2: chance(0.4) ? `${pick(BUILDINGS)}${1 + Math.floor(r() * 12)}0${1 + Math.floor(r() * 9)}号室` : null,
          city: pref.city,
          province: pref.province,
          provinceCode: pref.code,
          country: 'Japan',
          countryCodeV2: 'JP',
          zip: pref.zip,
        });
      } else {
        addresses.push({ ...base, ...pick(FOREIGN) });
      }
      if (chance(0.1)) {
        const pref = weightedPref(r);
        addresses.push({ ...base, id: base.id + 1, company: null, address1: `${pick(TOWNS)}2-3-4`, address2: null, city: pref.city, province: pref.province, provinceCode: pref.code, country: 'Japan', countryCodeV2: 'JP', zip: pref.zip });
      }
    }

    const tags: string[] = [];
    const tagCount = showcase?.tags ?? (chance(0.55) ? 0 : 1 + Math.floor(r() * 3));
    for (let t = 0; t < tagCount; t++) {
      const tag = pick(TAGS);
      if (!tags.includes(tag)) tags.push(tag);
    }
    tags.sort();
    const note = showcase?.note ?? (chance(0.15) ? pick(NOTES) : null);

    return {
      id,
      firstName,
      lastName,
      email,
      verifiedEmail,
      emailMarketing: email ? { state: emailState, optInLevel: optIn(emailState), updatedAt: consentAt(emailState) } : null,
      phone,
      smsMarketing: phone ? { state: smsState, optInLevel: optIn(smsState), updatedAt: consentAt(smsState), collectedFrom: smsState === 'NOT_SUBSCRIBED' ? null : 'OTHER' } : null,
      state,
      numberOfOrders: orders,
      amountSpent,
      currencyCode,
      lastOrder,
      tags,
      note,
      addresses,
      locale: foreign ? 'en' : 'ja',
      taxExempt: chance(0.01),
      createdAt,
      updatedAt,
    };
  }

  *customers(from = 0, to = this.count): Generator<CustomerRecord> {
    for (let i = from; i < Math.min(to, this.count); i++) yield this.customerAt(i);
  }
}

interface Showcase {
  state?: CustomerState;
  emailState?: EmailMarketingState;
  smsState?: SmsMarketingState;
  email?: boolean;
  verified?: boolean;
  mixedCase?: boolean;
  phone?: boolean;
  orders?: number;
  address?: 'jp' | 'foreign' | 'none';
  foreign?: boolean;
  tags?: number;
  note?: string | null;
  noName?: boolean;
}

const SHOWCASE: Showcase[] = [
  { state: 'ENABLED', emailState: 'SUBSCRIBED', smsState: 'SUBSCRIBED', email: true, verified: true, phone: true, orders: 5, address: 'jp', foreign: false, tags: 2, note: null },
  { state: 'DISABLED', emailState: 'NOT_SUBSCRIBED', email: true, verified: false, phone: false, orders: 0, address: 'none', foreign: false, tags: 0 },
  { state: 'INVITED', emailState: 'PENDING', smsState: 'PENDING', email: false, verified: true, phone: true, orders: 1, address: 'jp', foreign: false, note: NOTES[1] },
  { state: 'DECLINED', emailState: 'UNSUBSCRIBED', smsState: 'UNSUBSCRIBED', email: true, verified: true, mixedCase: true, phone: true, orders: 12, address: 'jp', foreign: false, note: NOTES[2] },
  { state: 'ENABLED', emailState: 'INVALID', smsState: 'REDACTED', email: true, verified: true, phone: true, orders: 2, address: 'foreign', foreign: true, tags: 3 },
  { state: 'DISABLED', emailState: 'SUBSCRIBED', smsState: 'NOT_SUBSCRIBED', email: true, verified: true, phone: true, orders: 0, address: 'jp', foreign: false, note: NOTES[6] },
  { state: 'DISABLED', email: false, verified: false, phone: false, orders: 0, address: 'none', foreign: false, noName: true },
];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function weighted<T extends string>(r: () => number, options: ReadonlyArray<readonly [T, number]>): T {
  const total = options.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of options) {
    x -= w;
    if (x < 0) return v;
  }
  return options[options.length - 1][0];
}

const PREF_WEIGHT_TOTAL = JP_PREFECTURES.reduce((s, p) => s + p.weight, 0);
function weightedPref(r: () => number) {
  let x = r() * PREF_WEIGHT_TOTAL;
  for (const p of JP_PREFECTURES) {
    x -= p.weight;
    if (x < 0) return p;
  }
  return JP_PREFECTURES[12];
}

function centsToDecimal(cents: number): string {
  const whole = Math.floor(cents / 100);
  const frac = cents % 100;
  return frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}`;
}
